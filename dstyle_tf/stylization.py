"""Stylising photos with a loaded model: the library behind `python -m dstyle_tf.stylize`.

`stylize_image` stylizes one image of any size (tiled when large),
`stylize_files` a list of (input, output) paths (video files frame by frame,
through `dstyle_tf.video`), and `stylize_paths` does the
whole command from a `StylizeConfig`: list the inputs, plan the outputs, load
the model, stylize every file. Loading models is `stylizers.load_stylizer`.

Example:
```python
from dstyle_tf.stylization import StylizeConfig, stylize_paths
result = stylize_paths(StylizeConfig(model="runs/wave", input="photos/", output="out/"))
print(result.failures)
```
"""

import dataclasses
import functools
import glob
import os
import sys

import numpy as np
from absl import logging

from dstyle_tf import color
from dstyle_tf import image_io
from dstyle_tf import tiling
from dstyle_tf import video
from dstyle_tf.errors import UserError
from dstyle_tf.stylizers import ALIGN
from dstyle_tf.stylizers import choose_style_weights
from dstyle_tf.stylizers import tile_context as tile_context_for
from dstyle_tf.stylizers import load_stylizer

# Tile side for measuring instance-norm statistics: any tiling gives the same
# statistics, and small windows keep the peak memory of these passes low
# (4096x4096, 1024 tiles: 4.7 GB with 1024 statistics tiles, see git log).
_STATISTICS_TILE = 512
_GLOB_CHARS = "*?["


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

    from dstyle_tf.evaluation.sheets import BACKGROUND
    from dstyle_tf.evaluation.sheets import TEXT
    from dstyle_tf.evaluation.sheets import fit_cell
    from dstyle_tf.evaluation.sheets import font

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


def list_inputs(pattern):
    """Files named by `pattern`: a file, a directory (its visible files) or a glob."""
    pattern = os.fspath(pattern)
    if os.path.isdir(pattern):
        paths = [
            os.path.join(pattern, name)
            for name in sorted(os.listdir(pattern))
            if not name.startswith(".") and os.path.isfile(os.path.join(pattern, name))
        ]
    elif os.path.isfile(pattern):
        paths = [pattern]
    elif any(char in pattern for char in _GLOB_CHARS):
        paths = sorted(p for p in glob.glob(pattern) if os.path.isfile(p))
    else:
        raise ValueError(f"--input {pattern}: no such file or directory.")
    if not paths:
        raise ValueError(f"--input {pattern}: matches no files.")
    return paths


def plan_outputs(inputs, output, overwrite=False):
    """Pairs each input with its output path.

    A single input with an output path ending in .png/.jpg/.jpeg (a video
    extension for a video input) writes that file; otherwise `output` is a
    directory and each output is named after its input (`.png` unless the
    input is PNG or JPEG; videos keep their extension).

    Raises:
        ValueError: if an output would replace an input (without
            `overwrite`), two inputs map to one output, or the extension of an
            output file is not writable.
    """
    output = os.fspath(output)
    extension = os.path.splitext(output)[1].lower()
    if len(inputs) == 1 and extension and not os.path.isdir(output):
        formats = video.VIDEO_EXTENSIONS if video.is_video(inputs[0]) else sorted(image_io.SAVE_FORMATS)
        if extension not in formats:
            raise ValueError(
                f"--output {output}: cannot write '{extension}'; use one of "
                f"{', '.join(formats)}, or a directory."
            )
        pairs = [(inputs[0], output)]
    else:
        pairs = []
        for path in inputs:
            stem, ext = os.path.splitext(os.path.basename(path))
            ext = ext if ext.lower() in image_io.SAVE_FORMATS or video.is_video(path) else ".png"
            pairs.append((path, os.path.join(output, stem + ext)))
    resolved_inputs = {os.path.realpath(path) for path in inputs}
    seen = {}
    for source, target in pairs:
        real_target = os.path.realpath(target)
        if real_target in resolved_inputs and not overwrite:
            raise ValueError(
                f"Output {target} would replace an input image; choose another "
                "--output or pass --overwrite."
            )
        if real_target in seen:
            raise ValueError(
                f"{seen[real_target]} and {source} would both be written to {target}."
            )
        seen[real_target] = source
    return pairs


def _progress_bar(total):
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="image", file=sys.stderr, dynamic_ncols=True)


def stylize_files(
    pairs, stylizer, max_size=None, jpeg_quality=95, progress=False, sheet=False, smooth=0.0,
    **options,
):
    """Stylises each (input, output) pair; a bad file does not stop the rest.

    Args:
        pairs: from `plan_outputs`. Video files (`video.is_video`) are
            stylised frame by frame into videos (`video.stylize_video`).
        stylizer: from `load_stylizer`.
        max_size: optional longest side to downscale inputs to.
        jpeg_quality: for .jpg outputs.
        progress: show a progress bar (tqdm, if installed): files, or the
            frames of a video.
        sheet: write a `contact_sheet` of every style instead.
        smooth: temporal blending α of consecutive outputs
            (`video.TemporalSmoother`; 0: off): within each video, and
            across the images in order (a folder of frames).
        **options: passed to `stylize_image` (tiling, preserve_color,
            style_weights, strength).

    Returns:
        list of (input path, error message) for the files that failed.
    """
    failures = []
    if sheet:
        options.pop("style_weights", None)  # the sheet shows every style
    render = contact_sheet if sheet else stylize_image
    smoother = video.TemporalSmoother(0.0 if sheet else smooth)
    videos = [source for source, _ in pairs if video.is_video(source)]
    bar = _progress_bar(len(pairs)) if progress and len(videos) < len(pairs) else None
    for source, target in pairs:
        try:
            if video.is_video(source):
                _stylize_video(source, target, stylizer, max_size, progress, smooth, options)
                continue
            image = image_io.load_image(source, max_size=max_size)
            stylized = smoother(render(image, stylizer, **options))
            os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
            image_io.save_image(target, stylized, jpeg_quality=jpeg_quality)
            logging.info("%s -> %s (%dx%d)", source, target, image.shape[1], image.shape[0])
        except Exception as e:  # Report any failure for this file and go on.
            readable = isinstance(e, (image_io.ImageReadError, UserError))
            message = str(e) if readable else f"{source}: {type(e).__name__}: {e}"
            failures.append((source, message))
            logging.error("%s", message)
        finally:
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    return failures


def _stylize_video(source, target, stylizer, max_size, progress, smooth, options):
    """`video.stylize_video` with `stylize_image` (tiling) on every frame."""
    stylizer = getattr(stylizer, "for_video", lambda: stylizer)()
    try:
        video.stylize_video(
            source, target, lambda frame: stylize_image(frame, stylizer, **options),
            smooth=smooth, progress=progress, max_size=max_size,
        )
    except (ValueError, OSError) as e:  # A model or output that fails on this clip.
        raise UserError(f"{source}: {e}") from None


@dataclasses.dataclass
class StylizeConfig:
    """What `python -m dstyle_tf.stylize` does; each field is the flag of the
    same name (see `--helpfull` for the meanings)."""

    model: str
    input: str
    output: str
    max_size: int = 0
    tile_size: int = 1024
    tile_overlap: int = 128
    tile_context: int | None = None  # None: the network's receptive field
    tile_statistics: str = "exact"
    preserve_color: bool = False
    overwrite: bool = False
    jpeg_quality: int = 95
    num_threads: int = 0
    style: str | None = None  # name or index of a multi-style model's style
    style_weights: str | None = None  # "name:weight,..." blend
    strength: float = 1.0
    sheet: bool = False
    smooth: float = 0.0


@dataclasses.dataclass
class StylizeResult:
    pairs: list  # (input path, output path)
    failures: list  # (input path, error message)


def stylize_paths(config, progress=None):
    """Stylises the files named by `config.input` into `config.output`.

    Args:
        config: a `StylizeConfig`.
        progress: show a progress bar; default: when there are several files
            or a video.

    Returns:
        a `StylizeResult`; a file that cannot be read or written is listed in
        `failures` and does not stop the others.

    Raises:
        UserError: for inputs, outputs or a model that cannot be used at all,
            and for a single video input that cannot be read.
    """
    try:
        check_strength(config.strength)
        if config.sheet and (config.style or config.style_weights):
            raise ValueError("--sheet shows every style; drop --style and --style_weights.")
        pairs = plan_outputs(list_inputs(config.input), config.output, config.overwrite)
        stylizer = load_stylizer(config.model, num_threads=config.num_threads or None)
        style_weights = None
        if not config.sheet:
            style_weights = choose_style_weights(
                stylizer.style_names, config.style, config.style_weights
            )
    except ValueError as e:  # Including stylizers.ModelLoadError and StyleError.
        raise UserError(str(e)) from None
    options = dict(
        tile_size=config.tile_size,
        tile_overlap=config.tile_overlap,
        tile_context=config.tile_context,
        tile_statistics=config.tile_statistics,
        preserve_color=config.preserve_color,
        strength=config.strength,
        style_weights=style_weights,
    )
    if config.sheet and any(video.is_video(source) for source, _ in pairs):
        raise UserError("--sheet makes contact sheets of photos, not of videos.")
    if len(pairs) == 1 and video.is_video(pairs[0][0]):
        # One video: its errors are the command's (one line, exit 2).
        _stylize_video(
            *pairs[0], stylizer, config.max_size or None, progress is not False, config.smooth,
            options,
        )
        return StylizeResult(pairs, [])
    failures = stylize_files(
        pairs,
        stylizer,
        max_size=config.max_size or None,
        jpeg_quality=config.jpeg_quality,
        progress=len(pairs) > 1 if progress is None else progress,
        sheet=config.sheet,
        smooth=config.smooth,
        **options,
    )
    return StylizeResult(pairs, failures)
