"""Stylising one image of any size with a loaded model (tiled when large),
its strength, and a contact sheet of every style of a multi-style model."""

import functools

import numpy as np

from dstyle_tf import color
from dstyle_tf import tiling
from dstyle_tf.stylization.stylizers import ALIGN
from dstyle_tf.stylization.stylizers import tile_context as tile_context_for

# Tile side for measuring instance-norm statistics: any tiling gives the same
# statistics, and small windows keep the peak memory of these passes low
# (4096x4096, 1024 tiles: 4.7 GB with 1024 statistics tiles, see git log).
_STATISTICS_TILE = 512


def stylize_image(
    image,
    stylizer,
    tile_size=1024,
    tile_overlap=128,
    tile_context=None,
    preserve_color=False,
    on_tile=None,
    tile_statistics="exact",
    style_weights=None,
    strength=1.0,
):
    """Stylises one image of any size.

    Args:
        image: float32 (H, W, 3) RGB in [0, 255].
        stylizer: a `Stylizer` (see `load_stylizer`) or any callable with the
            same contract.
        tile_size: images with a side larger than this are processed in tiles
            of this size; 0 disables tiling. Ignored for fixed-size models,
            whose tiles are their input size (`fixed_size_tiles`).
        tile_overlap: pixels by which tiles overlap and are cross-faded.
        tile_context: extra pixels of surrounding image fed with each tile;
            None: the network's receptive field (`stylizer.context`), which
            makes tiling exact.
        preserve_color: keep the photo's colours (luminance-only transfer).
        on_tile: optional progress callback (tiles_done, tiles_total).
        tile_statistics: how tiles of a `.keras` instance-norm network are
            normalised: `"exact"` (the whole image's statistics, measured tile
            by tile first: the one-pass result, ~7x the time), `"preview"`
            (statistics of a copy downscaled to 1024: cheap, approximate) or
            `"tile"` (each tile its own: fastest, visible bands possible).
            Exported models always use `"tile"`.
        style_weights: (N,) weights of a multi-style model's styles (see
            `stylizers.choose_style_weights`); None for a single-style model.
        strength: in [0, 1]; see `apply_strength`. 0 returns the photo
            without running the network.

    Returns:
        float32 (H, W, 3) in [0, 255].
    """
    image = np.asarray(image, np.float32)
    check_strength(strength)
    if strength == 0:
        return image.copy()
    if tile_context is None:
        tile_context = getattr(stylizer, "context", None) or tile_context_for()
    fixed_size = getattr(stylizer, "fixed_size", None)
    if fixed_size:
        tile_size, tile_context, tile_overlap = fixed_size_tiles(
            image.shape[:2], fixed_size, tile_context, tile_overlap
        )
    elif tile_size <= 0:
        tile_size = max(image.shape[:2])
    fn = stylizer
    if style_weights is not None:
        fn = functools.partial(stylizer, style_weights=style_weights)
    tile_rows, tile_columns = tiling.tile_sides(tile_size)
    if image.shape[0] <= tile_rows and image.shape[1] <= tile_columns:
        # One pass (video frames, most photos): no tile copies or blending.
        stylized = np.array(fn(image), np.float32)
        if on_tile is not None:
            on_tile(1, 1)
    else:
        for_tiles = getattr(stylizer, "for_tiles", None)
        if for_tiles:
            statistics_tiles = tiling.tile_grid(
                *image.shape[:2], min(min(tile_rows, tile_columns), _STATISTICS_TILE), 0,
                tile_context, ALIGN,
            )
            fn = for_tiles(image, statistics_tiles, tile_statistics, style_weights=style_weights)
        stylized = tiling.tiled_apply(
            image,
            fn,
            tile_size=tile_size,
            overlap=tile_overlap,
            context=tile_context,
            align=ALIGN,
            on_tile=on_tile,
        )
    stylized = np.clip(stylized, 0.0, 255.0, out=stylized)  # in place: large images
    if preserve_color:
        stylized = color.preserve_color(image, stylized)
    return apply_strength(image, stylized, strength)


def fixed_size_tiles(shape, fixed_size, context, overlap):
    """Tiling for a model that takes only `fixed_size` inputs (a fixed-size TFLite export).

    A side of the image that fits in the model's input is not cut (one pass
    pads it up to the input size); a longer side is cut into tiles whose
    window, core plus `context` on both sides, is the input's side, with the
    context capped to an eighth of that side. An image that fits is thus one
    call, and a longer one is cut only along the sides that need it.

    Args:
        shape: (height, width) of the image.
        fixed_size: (height, width) of the model's input.
        context, overlap: the tiling's wishes (`stylize_image`).

    Returns:
        (tile_size (rows, columns), context, overlap) for `tiling.tiled_apply`.
    """
    cut = [side for length, side in zip(shape, fixed_size) if length > side]
    if not cut:
        return tuple(fixed_size), context, overlap
    context = min(context, min(cut) // 8 // ALIGN * ALIGN)
    sides = tuple(
        side if length <= side else side - 2 * context for length, side in zip(shape, fixed_size)
    )
    overlap = min(overlap, (min(cut) - 2 * context) // 4)
    return sides, context, overlap


def check_strength(strength):
    """ValueError unless 0 <= strength <= 1."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"--strength must be between 0 and 1; got {strength}.")


def apply_strength(photo, stylized, strength):
    """`(1 - strength)·photo + strength·stylized`, per pixel.

    The same for every model (single- or multi-style, Keras or exported):
    0 gives the photo, 1 the full stylisation (both exactly), values between
    a linear fade in pixel space.
    """
    check_strength(strength)
    if strength == 1:
        return stylized
    return (1.0 - strength) * photo + strength * stylized


def contact_sheet(image, stylizer, cell_side=384, columns=4, **options):
    """The photo and its stylisation in every style of the model, on one sheet.

    Args:
        image: float32 (H, W, 3) RGB in [0, 255].
        stylizer: a `Stylizer`; every style in `stylizer.style_names` is shown.
        cell_side: longest side of each picture on the sheet.
        columns: pictures per row.
        **options: passed to `stylize_image` (tiling, strength, ...).

    Returns:
        uint8 (H', W', 3) RGB: labelled pictures, the photo first.
    """
    from PIL import Image
    from PIL import ImageDraw

    from dstyle_tf.drawing import BACKGROUND
    from dstyle_tf.drawing import TEXT
    from dstyle_tf.drawing import fit_cell
    from dstyle_tf.drawing import font

    names = list(getattr(stylizer, "style_names", ["style"]))
    pictures = [("photo", image)]
    for index, name in enumerate(names):
        weights = None
        if len(names) > 1:
            weights = np.eye(len(names), dtype=np.float32)[index]
        pictures.append((name, stylize_image(image, stylizer, style_weights=weights, **options)))
    scale = cell_side / max(image.shape[:2])
    cell = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    label_height, gap = 22, 6
    columns = min(columns, len(pictures))
    rows = -(-len(pictures) // columns)
    sheet = Image.new(
        "RGB",
        (columns * (cell[0] + gap) + gap, rows * (cell[1] + label_height + gap) + gap),
        BACKGROUND,
    )
    draw = ImageDraw.Draw(sheet)
    for position, (name, picture) in enumerate(pictures):
        row, column = divmod(position, columns)
        x, y = gap + column * (cell[0] + gap), gap + row * (cell[1] + label_height + gap)
        sheet.paste(fit_cell(picture, cell), (x, y))
        draw.text((x + 2, y + cell[1] + 3), name, fill=TEXT, font=font(14))
    return np.asarray(sheet)
