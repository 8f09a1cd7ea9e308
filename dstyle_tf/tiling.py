"""Tiled inference for images too large to stylise in one pass.

The image is cut into a grid of overlapping tiles. Each tile is handed to the
network with `context` extra pixels of the real image around it (where the
image has them), so the network sees the surroundings and its border effects
fall outside the part that is kept. Neighbouring tiles overlap by `overlap`
pixels and are cross-faded there with raised-cosine ramps that sum to one, so
no seam is visible. Tiles are processed one at a time: peak memory is the
output image plus one tile's activations.

Tile corners lie on multiples of `align` (4 for TransformNet, which has two
stride-2 convolutions), so every tile sees the same sampling grid as the whole
image and a network with local operations gives the untiled result.

Example:
```python
out = tiled_apply(image, lambda tile: net(tile[None])[0].numpy(),
                  tile_size=512, overlap=64, context=32)
```
"""

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


def tiled_apply(
    image, fn, tile_size=1024, overlap=64, context=32, align=4, on_tile=None
):
    """Applies an image-to-image function tile by tile and blends the tiles.

    Args:
        image: float array (H, W, C).
        fn: callable taking a float32 array (h, w, C) — a tile with its
            context — and returning an array (h, w, C_out) of the same h, w.
        tile_size: int. Side of the kept part of each tile (cores are at
            most this, except the last row/column, up to `align` - 1 more).
        overlap: int. Pixels by which neighbouring cores overlap and blend.
        context: int. Pixels of surrounding image given to `fn` on each side
            of a core (fewer at the image border); cropped away afterwards.
            Use a multiple of `align`.
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
    row_spans = tile_spans(height, tile_size, overlap, align)
    col_spans = tile_spans(width, tile_size, overlap, align)
    row_windows, row_total = blend_weights(row_spans, height)
    col_windows, col_total = blend_weights(col_spans, width)

    output = None
    total_tiles = len(row_spans) * len(col_spans)
    done = 0
    for (top, bottom), row_window in zip(row_spans, row_windows):
        in_top, in_bottom = max(0, top - context), min(height, bottom + context)
        for (left, right), col_window in zip(col_spans, col_windows):
            in_left, in_right = max(0, left - context), min(width, right + context)
            tile = np.asarray(
                image[in_top:in_bottom, in_left:in_right], dtype=np.float32
            )
            result = np.asarray(fn(tile))
            if result.shape[:2] != tile.shape[:2]:
                raise ValueError(
                    f"fn changed the tile size from {tile.shape[:2]} to "
                    f"{result.shape[:2]}."
                )
            if output is None:
                output = np.zeros((height, width, result.shape[-1]), np.float32)
            core = result[
                top - in_top : bottom - in_top, left - in_left : right - in_left
            ]
            weight = np.outer(row_window, col_window).astype(np.float32)
            output[top:bottom, left:right] += core * weight[..., None]
            done += 1
            if on_tile is not None:
                on_tile(done, total_tiles)
    # The weights are separable and the tiles form a grid, so their sum is the
    # outer product of the per-axis sums; normalise one band of rows at a time.
    col_total = col_total.astype(np.float32)
    for top in range(0, height, _ROWS_PER_BAND):
        rows = slice(top, top + _ROWS_PER_BAND)
        scale = row_total[rows, None].astype(np.float32) * col_total
        output[rows] /= scale[..., None]
    return output
