"""Tiled inference for images too large to stylize in one pass.

The image is cut into a grid of overlapping tiles. Each tile is handed to the
network with `context` extra pixels of the real image around it (where the
image has them), so the network sees the surroundings and its border effects
fall outside the part that is kept. Neighbouring tiles overlap by `overlap`
pixels and are cross-faded there with raised-cosine ramps that sum to one, so
no seam is visible. Tiles are processed one at a time: peak memory is the
output image plus one tile's activations.

Tile corners lie on multiples of `align` (4 for TransformNet, which has two
stride-2 convolutions), so every tile sees the same sampling grid as the whole
image, and with `context` at least the network's receptive radius
(`TransformNet.receptive_radius`: 57 pixels for the paper's network, so 60;
`stylizers.tile_context`) a network with local operations gives the untiled
result to float precision. Less context changes pixels near tile borders.

Instance normalisation is not local: it uses the whole image's per-channel
mean and variance. `instance_norm_statistics` estimates them for a large
image (on a downscaled copy, then refined exactly, tile by tile) so that every
tile can be normalised like the one-pass image (`TransformNet(...,
statistics=...)`). Exported models (SavedModel, TFLite) take no statistics:
their tiles are normalised on their own and differ from a one-pass run.

Example:
```python
out = tiled_apply(image, lambda tile: net(tile[None])[0].numpy(),
                  tile_size=512, overlap=64, context=60)
```
"""

import collections

import numpy as np

_ROWS_PER_BAND = 256


def _align_down(value, align):
    return value - value % align


def tile_spans(length, tile_size, overlap, align=1):
    """Start and end of the kept part ("core") of each tile along one axis.

    Cores cover [0, length); consecutive cores overlap by at least `overlap`
    pixels (a little more for the last one, which is aligned too and runs to
    the end). Starts are multiples of `align`.

    Returns:
        list of (start, end) pairs.
    """
    if tile_size < 1 or overlap < 0:
        raise ValueError(f"Need tile_size >= 1 and overlap >= 0; got {tile_size}, {overlap}.")
    if length <= tile_size:
        return [(0, length)]
    stride = _align_down(tile_size - overlap, align)
    if stride < 1:
        raise ValueError(
            f"tile_size ({tile_size}) must exceed overlap ({overlap}) by at "
            f"least align ({align})."
        )
    last = _align_down(length - tile_size, align)
    starts = list(range(0, last, stride)) + [last]
    ends = [min(start + tile_size, length) for start in starts[:-1]] + [length]
    return list(zip(starts, ends))


def _ramp(length):
    """Raised-cosine ramp rising from ~0 to ~1 over `length` pixels.

    `_ramp(n) + _ramp(n)[::-1] == 1`, so two tiles cross-fade to exactly one.
    """
    positions = (np.arange(length) + 0.5) / length
    return 0.5 - 0.5 * np.cos(np.pi * positions)


def blend_weights(spans, length):
    """Per-tile 1-D blending windows for `spans`, and their sum over tiles."""
    windows = []
    for index, (start, end) in enumerate(spans):
        window = np.ones(end - start, np.float64)
        if index > 0:
            fade_in = spans[index - 1][1] - start
            window[:fade_in] *= _ramp(fade_in)
        if index + 1 < len(spans):
            fade_out = end - spans[index + 1][0]
            window[end - start - fade_out :] *= _ramp(fade_out)[::-1]
        windows.append(window)
    total = np.zeros(length, np.float64)
    for (start, end), window in zip(spans, windows):
        total[start:end] += window
    return windows, total


Tile = collections.namedtuple("Tile", ["core", "window", "own"])
Tile.__doc__ = """One tile: (top, bottom, left, right) boxes in image pixels.

`core` is the part kept (blended with neighbours), `window` the core with its
context (what the network sees), `own` the tile's share of a partition of the
image (cores minus what the next tile takes over), for exact statistics.
"""


def tile_sides(tile_size):
    """(rows, columns) of a `tile_size` given as one side or a (rows, columns) pair."""
    if np.ndim(tile_size) == 0:
        return int(tile_size), int(tile_size)
    rows, columns = tile_size
    return int(rows), int(columns)


def tile_grid(height, width, tile_size, overlap, context, align=1):
    """The tiles of an image, row by row (see `tiled_apply` for the arguments)."""
    tile_rows, tile_columns = tile_sides(tile_size)
    row_spans = tile_spans(height, tile_rows, overlap, align)
    col_spans = tile_spans(width, tile_columns, overlap, align)

    def owns(spans, length):
        starts = [start for start, _ in spans]
        return list(zip(starts, starts[1:] + [length]))

    tiles = []
    for (top, bottom), (own_top, own_bottom) in zip(row_spans, owns(row_spans, height)):
        for (left, right), (own_left, own_right) in zip(col_spans, owns(col_spans, width)):
            window = (
                max(0, top - context), min(height, bottom + context),
                max(0, left - context), min(width, right + context),
            )
            tiles.append(Tile(
                (top, bottom, left, right), window, (own_top, own_bottom, own_left, own_right)
            ))
    return tiles


def _downscale(image, max_side):
    """Area-averaged copy with the longer side at most `max_side`."""
    import tensorflow as tf

    height, width = image.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    size = (max(8, round(height * scale)), max(8, round(width * scale)))
    if size == (height, width):
        return np.asarray(image, np.float32)
    return tf.image.resize(image, size, method="area").numpy()


def _own_region(tile, height, width, align):
    """`tile.own` as fractions of its window as the network pads it (to
    `align`); the image's last tiles own that padding, as a one-pass run does.
    """
    in_top, in_bottom, in_left, in_right = tile.window
    own_top, own_bottom, own_left, own_right = tile.own
    padded_height = -(-(in_bottom - in_top) // align) * align
    padded_width = -(-(in_right - in_left) // align) * align
    return (
        (own_top - in_top) / padded_height,
        1.0 if own_bottom == height else (own_bottom - in_top) / padded_height,
        (own_left - in_left) / padded_width,
        1.0 if own_right == width else (own_right - in_left) / padded_width,
    )


def instance_norm_statistics(
    model, image, tiles, method="exact", preview_size=1024, align=4, on_tile=None
):
    """Per-layer instance-norm statistics of `image` for tiled inference.

    - `"exact"`: one pass over the tiles per normalisation layer, each
      stopping at that layer, with the layers before it normalised by their
      already exact statistics; each tile adds the sums of the layer's input
      over its own part of the image (the `own` boxes partition it). Equals
      the one-pass statistics (up to float rounding) when the tiles' context
      covers the receptive field (`stylizers.tile_context`). Costs about
      6.4 network passes for the paper's network (the deeper the layer, the
      longer its pass).
    - `"preview"`: one pass over a copy downscaled to `preview_size`
      (exact if the image is not larger). Cheap, but a network responds
      differently to a smaller picture: on a 2x chicago (1424x948, random
      32-filter net, 512 tiles) the tiled output is 27 dB from the one-pass
      one at 1024, 19.5 dB at 512 (exact: 89 dB, per-tile statistics: 13.5).

    Args:
        model: a `TransformNet` (any model whose call takes `statistics=`).
        image: float32 (H, W, 3) in [0, 255].
        tiles: from `tile_grid` (with `align` matching the model's).
        method: `"exact"` or `"preview"`.
        preview_size: longer side of the downscaled copy (`"preview"`).
        on_tile: optional progress callback (tiles_done, tiles_total).

    Returns:
        {layer path: (mean, variance)} for `InstanceNormStatistics(fixed=...)`.
    """
    from dstyle_tf.models.instance_norm import InstanceNormStatistics
    from dstyle_tf.models.instance_norm import StopForward

    if method not in ("exact", "preview"):
        raise ValueError(f"method must be 'exact' or 'preview'; got {method!r}.")
    recorder = InstanceNormStatistics()
    preview = _downscale(image, preview_size if method == "preview" else 64)
    model(preview[None], training=False, statistics=recorder)
    if method == "preview":
        return recorder.moments()
    statistics = {}
    layers = list(recorder.moments())  # in call order
    done, total = 0, len(layers) * len(tiles)
    for path in layers:
        recorder = InstanceNormStatistics(fixed=statistics, stop_after=path)
        for tile in tiles:
            in_top, in_bottom, in_left, in_right = tile.window
            recorder.region = _own_region(tile, *image.shape[:2], align)
            window = np.asarray(image[in_top:in_bottom, in_left:in_right], np.float32)
            try:
                model(window[None], training=False, statistics=recorder)
            except StopForward:
                pass
            done += 1
            if on_tile is not None:
                on_tile(done, total)
        statistics[path] = recorder.moments()[path]
    return statistics


def tiled_apply(
    image, fn, tile_size=1024, overlap=64, context=32, align=4, on_tile=None
):
    """Applies an image-to-image function tile by tile and blends the tiles.

    Args:
        image: float array (H, W, C).
        fn: callable taking a float32 array (h, w, C) — a tile with its
            context — and returning an array (h, w, C_out) of the same h, w.
        tile_size: int, or (rows, columns). Side of the kept part of each
            tile (cores are at most this, except the last row/column, up to
            `align` - 1 more).
        overlap: int. Pixels by which neighbouring cores overlap and blend.
        context: int. Pixels of surrounding image given to `fn` on each side
            of a core (fewer at the image border); cropped away afterwards.
            Use a multiple of `align`; at least the network's receptive
            radius for a result equal to one pass.
        align: int. Tile corners are put on multiples of this.
        on_tile: optional callable called after each tile with
            (tiles_done, tiles_total), e.g. to update a progress bar.

    Returns:
        float32 array (H, W, C_out).
    """
    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f"Expected an (H, W, C) image; got shape {image.shape}.")
    height, width = image.shape[:2]
    tile_rows, tile_columns = tile_sides(tile_size)
    row_spans = tile_spans(height, tile_rows, overlap, align)
    col_spans = tile_spans(width, tile_columns, overlap, align)
    row_windows, row_total = blend_weights(row_spans, height)
    col_windows, col_total = blend_weights(col_spans, width)
    row_window_of = dict(zip(row_spans, row_windows))
    col_window_of = dict(zip(col_spans, col_windows))

    output = None
    tiles = tile_grid(height, width, tile_size, overlap, context, align)
    for done, (core, window, _) in enumerate(tiles, start=1):
        top, bottom, left, right = core
        in_top, in_bottom, in_left, in_right = window
        tile = np.asarray(image[in_top:in_bottom, in_left:in_right], dtype=np.float32)
        result = np.asarray(fn(tile))
        if result.shape[:2] != tile.shape[:2]:
            raise ValueError(
                f"fn changed the tile size from {tile.shape[:2]} to "
                f"{result.shape[:2]}."
            )
        if output is None:
            output = np.zeros((height, width, result.shape[-1]), np.float32)
        kept = result[top - in_top : bottom - in_top, left - in_left : right - in_left]
        weight = np.outer(
            row_window_of[(top, bottom)], col_window_of[(left, right)]
        ).astype(np.float32)
        output[top:bottom, left:right] += kept * weight[..., None]
        if on_tile is not None:
            on_tile(done, len(tiles))
    # The weights are separable and the tiles form a grid, so their sum is the
    # outer product of the per-axis sums; normalise one band of rows at a time.
    col_total = col_total.astype(np.float32)
    for top in range(0, height, _ROWS_PER_BAND):
        rows = slice(top, top + _ROWS_PER_BAND)
        scale = row_total[rows, None].astype(np.float32) * col_total
        output[rows] /= scale[..., None]
    return output
