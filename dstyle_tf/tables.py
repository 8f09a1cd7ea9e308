"""Plain-text tables for terminal summaries (export, benchmark)."""


def format_table(headers, rows):
    """A plain-text table: left-aligned columns two spaces apart, a rule
    under the header, and `-` for missing (None) cells.

    Args:
        headers: column titles.
        rows: sequences of cells, one per column; any value `str` accepts.

    Returns:
        str, one line per row, without trailing spaces.
    """
    cells = [[str(h) for h in headers]] + [["-" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_records(columns, records):
    """`format_table` of dicts, one column per `(header, cell)` pair.

    Args:
        columns: `(header, cell)` pairs; `cell` is a field name (`"backend"`),
            a format string over the record's fields (`"{median_ms:.1f}"`) or a
            function of the record.
        records: dicts (or any mapping).

    Returns:
        str, as `format_table`; a cell whose value is None shows `-`.
    """
    def cell(spec, record):
        if callable(spec):
            return spec(record)
        if "{" not in spec:
            return record.get(spec)
        try:
            return spec.format_map(record)
        except TypeError:  # None under a numeric format
            return None

    return format_table([header for header, _ in columns],
                        [[cell(spec, record) for _, spec in columns] for record in records])
