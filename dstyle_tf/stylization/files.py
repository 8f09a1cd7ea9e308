"""Stylising files with a loaded model: the library behind `python -m dstyle_tf.stylize`.

`stylize_files` stylizes a list of (input, output) paths (video files frame by frame,
through `dstyle_tf.video`), and `stylize_paths` does the
whole command from a `StylizeConfig`: list the inputs, plan the outputs, load
the model, stylize every file. Loading models is `stylizers.load_stylizer`, one image
`image.stylize_image`.

Example:
```python
from dstyle_tf.stylization import StylizeConfig, stylize_paths
result = stylize_paths(StylizeConfig(model="runs/wave", input="photos/", output="out/"))
print(result.failures)
```
"""

import dataclasses
import glob
import os
import sys

from absl import logging

from dstyle_tf import image_io
from dstyle_tf import video
from dstyle_tf.errors import UserError
from dstyle_tf.stylization.image import check_strength
from dstyle_tf.stylization.image import contact_sheet
from dstyle_tf.stylization.image import stylize_image
from dstyle_tf.stylization.stylizers import choose_style_weights
from dstyle_tf.stylization.stylizers import load_stylizer

_GLOB_CHARS = "*?["


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

    model: str | None  # None: `stylize_paths` is given the stylizer
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


def stylize_paths(config, progress=None, stylizer=None):
    """Stylises the files named by `config.input` into `config.output`.

    Args:
        config: a `StylizeConfig`.
        progress: show a progress bar; default: when there are several files
            or a video.
        stylizer: the model, already loaded (`config.model` is then not read;
            the command passes the shipped networks when `--model` is not given).

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
        if stylizer is None:
            if not config.model:
                raise ValueError("--model: no model given.")
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
