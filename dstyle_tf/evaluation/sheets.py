"""Pictures of an evaluation: comparison sheets (PIL) and a trade-off plot (matplotlib).

A sheet has one row per image and labelled columns in three groups:

    photo | each method's result | depth of each | edges of each

All cells have the same size and every image keeps its aspect ratio
(letterboxed), so the columns line up. Depth maps are colour-mapped after
aligning each stylized image's depth to the photo's (least-squares scale and
shift, as the SSI-RMSE metric does) and sharing the photo's colour range,
so a colour means the same depth across a row. Edge maps show Canny edges:
black where a stylized edge lies on a photo edge, red where it is spurious,
light blue where a photo edge was lost.

The trade-off plot puts each method at (style distance, depth error) with
error bars of one standard deviation over the images — the structure
against style strength trade-off of Liu et al. 2017, §4.6. It is drawn by
matplotlib's Agg renderer (the `eval` extra), without pyplot's global state.
"""

import dataclasses
import math

import numpy as np
from PIL import Image
from PIL import ImageDraw
from PIL import ImageFilter

from dstyle_tf.drawing import BACKGROUND  # noqa: F401  (public API)
from dstyle_tf.drawing import TEXT
from dstyle_tf.drawing import WHITE
from dstyle_tf.drawing import fit_cell
from dstyle_tf.drawing import font
from dstyle_tf.drawing import text_size
from dstyle_tf.metrics import align_scale_shift
from dstyle_tf.metrics import canny
from dstyle_tf.metrics.edges import dilate
from dstyle_tf.metrics.optional import require

EDGE_KEPT, EDGE_SPURIOUS, EDGE_LOST = (0, 0, 0), (220, 30, 30), (150, 190, 235)
GROUPS = ("stylized", "depth", "edges")
EDGE_LEGEND = "edges: black = kept, red = spurious, blue = photo edge lost"
DEPTH_LEGEND = "depth: aligned to the photo's (scale, shift), one colour range per row"


def colormap(values):
    """Maps values in [0, 1] (any shape) to uint8 viridis RGB (..., 3).

    Viridis is perceptually uniform and colour-blind safe (matplotlib's).
    """
    viridis = require("matplotlib").colormaps["viridis"]
    values = np.clip(np.nan_to_num(np.asarray(values, np.float64)), 0.0, 1.0)
    return np.round(viridis(values)[..., :3] * 255).astype(np.uint8)


def colorize_depths(reference, others=()):
    """Colour images of a photo's depth map and of maps to compare with it.

    Each of `others` is first aligned to `reference` by least-squares scale
    and shift; all are then mapped through the reference's 1st–99th
    percentile range, so equal colours mean equal (aligned) depth.

    Returns:
        list of uint8 (h, w, 3): the reference's first, then `others`'.
    """
    reference = np.asarray(reference, np.float64).squeeze()
    low, high = np.percentile(reference, (1, 99))
    span = high - low if high > low else 1.0
    maps = [reference]
    for depth in others:
        depth = np.asarray(depth, np.float64).squeeze()
        if np.ptp(reference) > 0:  # A flat reference has nothing to align to.
            scale, shift = align_scale_shift(reference, depth)
            depth = scale * depth + shift
        maps.append(depth)
    return [colormap((depth - low) / span) for depth in maps]


def edge_image(photo_edges, edges=None, tolerance=2):
    """White image with edges drawn: the photo's alone, or a stylized image's
    against the photo's (kept black, spurious red, lost photo edges blue)."""
    photo_edges = np.asarray(photo_edges, bool)
    out = np.full((*photo_edges.shape, 3), WHITE, np.uint8)
    if edges is None:
        out[photo_edges] = EDGE_KEPT
        return out
    edges = np.asarray(edges, bool)
    lost = photo_edges & ~dilate(edges, tolerance)
    near_photo = dilate(photo_edges, tolerance)
    out[lost] = EDGE_LOST
    out[edges & near_photo] = EDGE_KEPT
    out[edges & ~near_photo] = EDGE_SPURIOUS
    return out


def thicken(edges, cell_size):
    """Widens drawn edges so that they stay visible after shrinking to a cell."""
    factor = max(edges.shape[1] / cell_size[0], edges.shape[0] / cell_size[1])
    radius = int(factor // 2)
    if radius < 1:
        return edges
    widened = Image.fromarray(edges).filter(ImageFilter.MinFilter(2 * radius + 1))
    return np.asarray(widened)


@dataclasses.dataclass
class SheetRow:
    """One image of a sheet: its name and its cells, in column order.

    `cells` are PIL images of the sheet's cell size, `captions` a short text
    under each cell (or "").
    """

    name: str
    cells: list
    captions: list


def build_row(name, photo, stylized, depths, cell_size, captions=None, tolerance=2):
    """The cells of one sheet row.

    Args:
        name: the image's name (row label).
        photo: RGB (H, W, 3) in [0, 255].
        stylized: dict label → RGB (H, W, 3), in column order.
        depths: dict with the photo's depth map under "photo" and each
            label's; maps (h, w) at the depth network's output size.
        cell_size: (width, height) of a cell in pixels.
        captions: optional dict column label → text under the cell, where
            column labels are as in `column_labels`.
        tolerance: edge matching radius (pixels), as in the edge metrics.

    Returns:
        a `SheetRow` with 3·(1 + len(stylized)) cells.
    """
    labels = list(stylized)
    depth_colours = colorize_depths(depths["photo"], [depths[label] for label in labels])
    photo_edges = canny(photo)
    edge_cells = [edge_image(photo_edges)] + [
        edge_image(photo_edges, canny(stylized[label]), tolerance) for label in labels
    ]
    pictures = [photo, *(stylized[label] for label in labels)]
    cells = [fit_cell(image, cell_size) for image in pictures]
    cells += [
        fit_cell(colour, cell_size, Image.BILINEAR, shape=np.shape(photo)[:2])
        for colour in depth_colours
    ]
    cells += [fit_cell(thicken(image, cell_size), cell_size, Image.BOX) for image in edge_cells]
    captions = captions or {}
    texts = [captions.get(column, "") for column in column_labels(labels)]
    return SheetRow(name=name, cells=cells, captions=texts)


def column_labels(labels):
    """Column keys of a sheet: "photo", labels, "depth:…", "edges:…"."""
    names = ["photo", *labels]
    return names + [f"depth:{name}" for name in names] + [f"edges:{name}" for name in names]


@dataclasses.dataclass(frozen=True)
class SheetLayout:
    """Pixel geometry of a sheet (all sizes in pixels)."""

    num_rows: int
    num_labels: int
    cell_size: tuple
    margin: int = 8
    gap: int = 4
    group_gap: int = 16
    name_width: int = 120
    header_height: int = 44
    caption_height: int = 18
    footer_height: int = 22

    @property
    def columns_per_group(self):
        return 1 + self.num_labels

    @property
    def row_height(self):
        return self.cell_size[1] + self.caption_height + self.gap

    def column_x(self, column):
        group, index = divmod(column, self.columns_per_group)
        return (
            self.margin + self.name_width + group * self.group_gap
            + (group * self.columns_per_group + index) * (self.cell_size[0] + self.gap)
        )

    def row_y(self, row):
        return self.margin + self.header_height + row * self.row_height

    @property
    def size(self):
        columns = len(GROUPS) * self.columns_per_group
        width = self.column_x(columns - 1) + self.cell_size[0] + self.margin
        height = self.row_y(self.num_rows) + self.footer_height + self.margin
        return width, height


def render_sheet(rows, labels, cell_size=(200, 150), title=""):
    """Composes `SheetRow`s into one labelled sheet.

    Args:
        rows: `SheetRow`s from `build_row`, each with the same labels.
        labels: the method labels, in column order.
        cell_size: (width, height), the cell size the rows were built with.
        title: optional text in the top-left corner.

    Returns:
        PIL RGB image of size `SheetLayout(len(rows), len(labels), cell_size).size`.
    """
    layout = SheetLayout(len(rows), len(labels), tuple(cell_size))
    sheet = Image.new("RGB", layout.size, WHITE)
    draw = ImageDraw.Draw(sheet)
    small, large = font(12), font(15)
    names = ["photo", *labels]
    top = layout.margin
    if title:
        draw.text((layout.margin, top), title, fill=TEXT, font=large)
    for group, group_name in enumerate(GROUPS):
        first = layout.column_x(group * layout.columns_per_group)
        draw.text((first, top), group_name, fill=TEXT, font=large)
        for index, name in enumerate(names):
            x = layout.column_x(group * layout.columns_per_group + index)
            text = _truncate(draw, name, small, cell_size[0])
            draw.text((x, top + 22), text, fill=TEXT, font=small)
    for row_index, row in enumerate(rows):
        y = layout.row_y(row_index)
        name = _truncate(draw, row.name, small, layout.name_width - 6)
        draw.text((layout.margin, y + cell_size[1] // 2 - 7), name, fill=TEXT, font=small)
        for column, (cell, caption) in enumerate(zip(row.cells, row.captions)):
            x = layout.column_x(column)
            sheet.paste(cell, (x, y))
            if caption:
                text = _truncate(draw, caption, small, cell_size[0])
                draw.text((x, y + cell_size[1] + 2), text, fill=TEXT, font=small)
    footer = f"{DEPTH_LEGEND}.   {EDGE_LEGEND}."
    draw.text((layout.margin, layout.size[1] - layout.margin - 16), footer, fill=TEXT, font=small)
    return sheet


def _truncate(draw, text, text_font, width):
    """`text`, shortened with an ellipsis to fit `width` pixels."""
    if text_size(draw, text, text_font)[0] <= width:
        return text
    while text and text_size(draw, text + "…", text_font)[0] > width:
        text = text[:-1]
    return text + "…"


# Trade-off plot.


@dataclasses.dataclass
class PlotPoint:
    """One method on the trade-off plot: means and standard deviations."""

    label: str
    x: float
    y: float
    x_std: float = 0.0
    y_std: float = 0.0


def tradeoff_plot(points, x_label, y_label, title="", size=(720, 520)):
    """Scatter plot of methods with error bars, labelled points and axes.

    Args:
        points: `PlotPoint`s; non-finite ones are left out (and not returned).
        x_label, y_label: axis titles.
        title: text above the plot.
        size: (width, height) in pixels.

    Returns:
        (PIL RGB image, list of (label, (px, py), colour) for each drawn
        marker, px/py its centre in image pixels, colour an RGB tuple).
    """
    figure_lib = require("matplotlib.figure")
    backend = require("matplotlib.backends.backend_agg")
    colours = require("matplotlib").colormaps["tab10"].colors  # Tableau 10
    points = [p for p in points if math.isfinite(p.x) and math.isfinite(p.y)]
    width, height = size
    figure = figure_lib.Figure(figsize=(width / 100, height / 100), dpi=100)
    canvas = backend.FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for index, point in enumerate(points):
        colour = colours[index % len(colours)]
        axes.errorbar(
            point.x, point.y, xerr=_finite(point.x_std), yerr=_finite(point.y_std),
            fmt="o", markersize=12, color=colour, markeredgecolor="black", capsize=4,
        )
        axes.annotate(
            point.label, (point.x, point.y), xytext=(9, 7), textcoords="offset points",
            color=colour, fontsize=12,
        )
    axes.margins(0.12)
    axes.grid(True, color="0.9")
    axes.set_axisbelow(True)
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.set_title(title)
    figure.tight_layout()
    canvas.draw()
    image = Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy())
    drawn = []
    for index, point in enumerate(points):
        x, y = axes.transData.transform((point.x, point.y))
        colour = tuple(round(255 * c) for c in colours[index % len(colours)])
        drawn.append((point.label, (int(x), int(height - y)), colour))
    return image, drawn


def _finite(value):
    return value if math.isfinite(value) else 0.0
