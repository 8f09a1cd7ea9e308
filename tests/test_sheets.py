"""Comparison sheets (PIL) and the trade-off plot (matplotlib)."""

import math

import numpy as np
from PIL import Image

from dstyle_tf.evaluation import sheets


def test_colormap_spans_viridis_and_keeps_shape():
    colours = sheets.colormap(np.array([[0.0, 1.0], [-3.0, 7.0]]))

    assert colours.shape == (2, 2, 3) and colours.dtype == np.uint8
    np.testing.assert_array_equal(colours[0, 0], (68, 1, 84))
    np.testing.assert_array_equal(colours[0, 1], (253, 231, 37))
    np.testing.assert_array_equal(colours[1, 0], colours[0, 0])  # clipped
    np.testing.assert_array_equal(colours[1, 1], colours[0, 1])


def test_depths_are_aligned_to_the_photo_before_colouring(rng):
    photo_depth = rng.normal(size=(20, 20))

    photo, same, flat = sheets.colorize_depths(photo_depth, [3.0 * photo_depth + 7.0, np.zeros((20, 20))])

    np.testing.assert_array_equal(same, photo)  # scale and shift do not show
    assert len(np.unique(flat.reshape(-1, 3), axis=0)) == 1  # no structure, one colour


def test_edge_image_marks_kept_spurious_and_lost_edges():
    photo_edges = np.zeros((20, 20), bool)
    photo_edges[5, 2:18] = True  # a horizontal line
    photo_edges[15, 2:8] = True  # lost in the stylized image
    edges = np.zeros((20, 20), bool)
    edges[6, 2:18] = True  # one pixel off: kept (tolerance 2)
    edges[12, 12:18] = True  # far from any photo edge: spurious

    out = sheets.edge_image(photo_edges, edges, tolerance=2)

    assert tuple(out[6, 10]) == sheets.EDGE_KEPT
    assert tuple(out[12, 15]) == sheets.EDGE_SPURIOUS
    assert tuple(out[15, 4]) == sheets.EDGE_LOST
    assert tuple(out[0, 0]) == sheets.WHITE
    assert tuple(sheets.edge_image(photo_edges)[5, 10]) == sheets.EDGE_KEPT


def test_fit_cell_letterboxes_and_keeps_aspect():
    image = np.full((50, 200, 3), 255.0)

    cell = np.asarray(sheets.fit_cell(image, (100, 80)))

    assert cell.shape == (80, 100, 3)
    assert (cell[40, :] == 255).all()  # the 100×25 picture sits in the middle
    assert tuple(cell[0, 50]) == sheets.BACKGROUND and tuple(cell[79, 50]) == sheets.BACKGROUND
    square = np.asarray(sheets.fit_cell(np.full((14, 14, 3), 255.0), (100, 80), shape=(50, 200)))
    np.testing.assert_array_equal(square, cell)  # shown at the given aspect


def _row(name, colours, cell_size):
    """A sheet row whose cells are plain colours, to find them on the sheet."""
    cells = [Image.new("RGB", cell_size, colour) for colour in colours]
    return sheets.SheetRow(name=name, cells=cells, captions=["cap"] * len(cells))


def test_sheet_has_one_aligned_row_per_image_and_labelled_columns():
    labels = ["paper", "johnson"]
    cell = (60, 45)
    columns = len(sheets.column_labels(labels))
    rows = [
        _row(f"image{r}.jpg", [(10 * r, 7 * c, 200) for c in range(columns)], cell) for r in range(3)
    ]

    sheet = sheets.render_sheet(rows, labels, cell)

    layout = sheets.SheetLayout(3, 2, cell)
    assert columns == 9 and sheet.size == layout.size
    pixels = np.asarray(sheet)
    for r in range(3):
        for c in range(columns):
            x, y = layout.column_x(c), layout.row_y(r)
            block = pixels[y : y + cell[1], x : x + cell[0]]
            assert (block == (10 * r, 7 * c, 200)).all(), (r, c)
    header = pixels[layout.margin : layout.row_y(0) - 2]
    for c in range(columns):  # some text above every column
        x = layout.column_x(c)
        assert (header[:, x : x + cell[0]] < 100).any(), c


def test_row_from_images_has_three_groups_of_cells(rng):
    photo = rng.uniform(0, 255, (40, 64, 3))
    stylized = {"a": photo[::-1].copy(), "b": photo}
    depths = {"photo": rng.normal(size=(14, 14)), "a": rng.normal(size=(14, 14)), "b": np.ones((14, 14))}

    row = sheets.build_row("x.png", photo, stylized, depths, (48, 36), captions={"a": "Gram 1"})

    assert len(row.cells) == 9 and all(cell.size == (48, 36) for cell in row.cells)
    assert row.captions[1] == "Gram 1" and row.captions[0] == ""


def test_tradeoff_plot_draws_one_labelled_marker_per_finite_point():
    points = [
        sheets.PlotPoint("paper", 0.2, 0.3, 0.05, 0.02),
        sheets.PlotPoint("johnson", 0.18, 0.5, 0.04, 0.03),
        sheets.PlotPoint("gatys", 0.1, 0.7),
        sheets.PlotPoint("broken", math.nan, 0.1),
    ]

    image, drawn = sheets.tradeoff_plot(points, "style distance", "depth error", title="t")

    assert image.size == (720, 520)
    assert [label for label, _, _ in drawn] == ["paper", "johnson", "gatys"]
    pixels = np.asarray(image)
    for _, (x, y), colour in drawn:
        assert tuple(pixels[y, x]) == colour
    assert len({colour for _, _, colour in drawn}) == 3
    (_, (x, y), colour), (_, (gx, gy), gatys_colour) = drawn[0], drawn[2]
    assert tuple(pixels[y, x + 30]) == colour  # error bar of ± 0.05
    assert tuple(pixels[gy, gx + 30]) != gatys_colour  # no spread, no bar
    # Larger depth error is drawn higher up (smaller pixel row); larger style
    # distance further right.
    (_, paper, _), (_, johnson, _), (_, gatys, _) = drawn
    assert paper[1] > johnson[1] > gatys[1]
    assert paper[0] > johnson[0] > gatys[0]
