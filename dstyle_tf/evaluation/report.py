"""The evaluation report: JSON with every number, a Markdown table, the pictures.

`build_report` turns metric rows into a dict (written as report.json):

    {"methods": [{"label", "kind", "source", "style"}], "images": [...],
     "metrics": [...], "directions": {metric: "higher" | "lower"},
     "per_image": [rows], "summary": {label: {metric: {"mean", "std", ...}}},
     "best": {metric: [labels]}, "settings": {...}, "seconds": total}

`markdown_table` shows one row per metric and one column per method, as
mean ± std over the images, with the best mean in bold (by
`METRIC_DIRECTIONS`).
"""

import math
import os

from dstyle_tf.atomic import write_json
from dstyle_tf.atomic import write_text
from dstyle_tf.metrics import METRIC_DIRECTIONS
from dstyle_tf.metrics import aggregate
from dstyle_tf.metrics.summary import HIGHER

# Display names, in table order; "seconds" has no better direction.
METRIC_NAMES = {
    "depth_ssi_rmse": "depth SSI-RMSE",
    "depth_spearman": "depth Spearman ρ",
    "depth_whdr": "depth WHDR",
    "edge_precision": "edge precision",
    "edge_recall": "edge recall",
    "edge_f1": "edge F1",
    "edge_spurious": "edge spurious share",
    "hed_precision": "HED edge precision",
    "hed_recall": "HED edge recall",
    "hed_f1": "HED edge F1",
    "hed_spurious": "HED edge spurious share",
    "saliency_cc": "saliency CC",
    "saliency_sim": "saliency SIM",
    "saliency_kl": "saliency KL",
    "ssim": "SSIM (luminance)",
    "gram_distance": "style: Gram distance",
    "content_distance": "content distance (relu2_2)",
    "flicker_warp_error": "flicker: warping error",
    "flicker_ratio": "flicker: ratio to input",
    "seconds": "seconds per image",
}
# The axes of the trade-off plot (Liu et al. 2017, §4.6).
PLOT_X, PLOT_Y = "gram_distance", "depth_ssi_rmse"


def best_methods(summary, metric):
    """Labels whose mean is best for `metric` (ties all count); [] if undirected."""
    direction = METRIC_DIRECTIONS.get(metric)
    means = {
        label: stats[metric]["mean"]
        for label, stats in summary.items()
        if metric in stats and math.isfinite(stats[metric]["mean"])
    }
    if direction is None or not means:
        return []
    best = max(means.values()) if direction == HIGHER else min(means.values())
    tolerance = 1e-12 * max(1.0, abs(best))
    return [label for label, mean in means.items() if abs(mean - best) <= tolerance]


def build_report(rows, methods, settings=None, seconds=None):
    """The report dict of metric rows (from `evaluate_folder`).

    Args:
        rows: dicts with "image", "model" and metric values.
        methods: the `Method`s (for labels, order and provenance).
        settings: optional dict of the run's settings (JSON-able).
        seconds: optional total wall time.
    """
    labels = [method.label for method in methods]
    summary = {label: aggregate(row for row in rows if row["model"] == label) for label in labels}
    present = {name for stats in summary.values() for name in stats}
    metrics = [name for name in METRIC_NAMES if name in present]
    metrics += sorted(present - set(metrics))
    images = list(dict.fromkeys(row["image"] for row in rows))
    return {
        "methods": [
            {"label": m.label, "kind": m.kind, "source": m.source, "style": m.style}
            for m in methods
        ],
        "images": images,
        "metrics": metrics,
        "directions": {name: METRIC_DIRECTIONS[name] for name in metrics if name in METRIC_DIRECTIONS},
        "per_image": rows,
        "summary": summary,
        "best": {name: best_methods(summary, name) for name in metrics},
        "settings": settings or {},
        "seconds": seconds,
    }


def _format(value):
    return f"{value:.3g}" if math.isfinite(value) else "–"


def markdown_table(report):
    """The report's summary as a Markdown table (metrics × methods)."""
    labels = [method["label"] for method in report["methods"]]
    arrows = {"higher": "↑", "lower": "↓"}
    lines = [
        "| metric | better | " + " | ".join(labels) + " |",
        "| --- | :---: | " + " | ".join("---:" for _ in labels) + " |",
    ]
    for metric in report["metrics"]:
        cells = []
        for label in labels:
            stats = report["summary"][label].get(metric)
            if stats is None or not stats["count"]:
                cells.append("–")
                continue
            text = f"{_format(stats['mean'])} ± {_format(stats['std'])}"
            cells.append(f"**{text}**" if label in report["best"][metric] else text)
        name = METRIC_NAMES.get(metric, metric)
        arrow = arrows.get(report["directions"].get(metric), "")
        lines.append(f"| {name} | {arrow} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# The per-style table's metrics: style strength and edge structure.
STYLE_TABLE_METRICS = ("gram_distance", "edge_f1", "hed_f1")


def style_table(report):
    """Markdown: per style, every method judged against it (Gram distance and
    edge F1 means, the Gram distance over the lowest of that style); "" when
    the report holds fewer than two styles. Means of different styles are
    not comparable: the main table's bold ignores styles, this one does not."""
    styles = list(dict.fromkeys(m.get("style", "") for m in report["methods"]))
    if len(styles) < 2:
        return ""
    metrics = [m for m in STYLE_TABLE_METRICS if m in report["metrics"]]
    header = ["style", "method", *(METRIC_NAMES[m] for m in metrics), "Gram ÷ style's lowest"]
    lines = ["| " + " | ".join(header) + " |", "| --- | --- |" + " ---: |" * (len(header) - 2)]
    for style in styles:
        labels = [m["label"] for m in report["methods"] if m.get("style", "") == style]
        grams = {label: report["summary"][label].get("gram_distance", {}).get("mean", math.nan)
                 for label in labels}
        finite = [g for g in grams.values() if math.isfinite(g)]
        lowest = min(finite) if finite else math.nan
        for label in labels:
            cells = []
            for metric in metrics:
                stats = report["summary"][label].get(metric)
                cells.append(f"{_format(stats['mean'])} ± {_format(stats['std'])}"
                             if stats and stats["count"] else "–")
            ratio = grams[label] / lowest if lowest > 0 else math.nan
            lines.append(f"| {style or '–'} | {label} | " + " | ".join(cells)
                         + f" | {_format(ratio)} |")
    return "\n".join(lines) + "\n"


def markdown_report(report):
    """report.md: what was run, the table, and how to read it."""
    images = report["images"]
    sources = "\n".join(
        f"- **{m['label']}** ({m['kind']}): `{m['source']}`" for m in report["methods"]
    )
    settings = report["settings"]
    context = ", ".join(
        f"{key}={settings[key]}" for key in ("style", "vgg_weights", "depth_preset", "max_size")
        if key in settings
    )
    return (
        "# Structure preservation against style strength\n\n"
        f"{len(images)} image(s), mean ± std (population) over the images; "
        "the best mean per metric is in bold (↑ higher is better, ↓ lower is better; "
        "for the Gram distance lower means a stronger style).\n\n"
        + (f"Settings: {context}.\n\n" if context else "")
        + f"{sources}\n\n"
        + markdown_table(report)
        + (f"\n## Per style\n\n{style_table(report)}" if style_table(report) else "")
        + "\nPer-image values are in report.json; the sheets show each image, "
        "and tradeoff.png puts each method at (Gram distance, depth SSI-RMSE).\n"
    )


def cell_captions(rows):
    """Sheet captions for one image's rows: key numbers under each cell."""
    captions = {}
    for row in rows:
        label = row["model"]
        # The built-in font has no Greek letters: captions stay ASCII.
        captions[label] = f"Gram {row['gram_distance']:.3g}  {row['seconds']:.1f}s"
        captions[f"depth:{label}"] = (
            f"SSI-RMSE {row['depth_ssi_rmse']:.2f}  Spearman {row['depth_spearman']:.2f}"
            if math.isfinite(row["depth_ssi_rmse"]) else "no depth in the photo"
        )
        captions[f"edges:{label}"] = f"F1 {row['edge_f1']:.2f}  spur. {row['edge_spurious']:.2f}"
    return captions


def plot_points(report, x_metric=PLOT_X, y_metric=PLOT_Y):
    """One `PlotPoint` per method from the report summary."""
    from dstyle_tf.evaluation.sheets import PlotPoint

    points = []
    for method in report["methods"]:
        stats = report["summary"][method["label"]]
        if x_metric in stats and y_metric in stats:
            points.append(PlotPoint(
                method["label"],
                stats[x_metric]["mean"], stats[y_metric]["mean"],
                stats[x_metric]["std"], stats[y_metric]["std"],
            ))
    return points


def write_outputs(output, report, sheet_rows, labels, cell_size, rows_per_sheet=8):
    """Writes report.json, report.md, sheet_<n>.png and tradeoff.png into `output`.

    Returns:
        list of the written paths.
    """
    from dstyle_tf.evaluation import sheets

    os.makedirs(output, exist_ok=True)
    paths = [os.path.join(output, "report.json"), os.path.join(output, "report.md")]
    write_json(paths[0], finite_or_none(report))
    write_text(paths[1], markdown_report(report))
    pages = [sheet_rows[i : i + rows_per_sheet] for i in range(0, len(sheet_rows), rows_per_sheet)]
    for number, page in enumerate(pages, start=1):
        title = f"sheet {number} of {len(pages)}" if len(pages) > 1 else ""
        path = os.path.join(output, f"sheet_{number}.png")
        sheets.render_sheet(page, labels, cell_size, title=title).save(path)
        paths.append(path)
    x_name, y_name = METRIC_NAMES[PLOT_X], METRIC_NAMES[PLOT_Y]
    plot, _ = sheets.tradeoff_plot(
        plot_points(report),
        x_label=f"{x_name} (lower = stronger style)",
        y_label=f"{y_name} (lower = depth kept)",
        title="Depth preservation against style strength (mean ± std over images)",
    )
    paths.append(os.path.join(output, "tradeoff.png"))
    plot.save(paths[-1])
    return paths


def finite_or_none(value):
    """A copy of a JSON-able structure with NaN and infinities as null (strict JSON)."""
    if isinstance(value, dict):
        return {key: finite_or_none(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value

