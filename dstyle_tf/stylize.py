r"""Stylise photos with a trained or exported transformation network.

    python -m dstyle_tf.stylize --model=saved_models/wave/1 \
        --input='photos/*.jpg' --output=stylized/ [--max_size=1024] [--preserve_color]

`--model` is a `.keras` file, a training workdir (with `transform_net.keras`),
a SavedModel directory (or a TF Serving model directory: the highest version is
used) or a `.tflite` file. Outputs keep the input's (upright) size unless
`--max_size` downscales; large images are processed in overlapping tiles.
Everything here is usable from Python: `load_stylizer`, `stylize_image`,
`stylize_files`.
"""

import glob
import os
import sys

import numpy as np
from absl import app
from absl import flags
from absl import logging

from dstyle_tf import color
from dstyle_tf import image_io
from dstyle_tf import tiling

# TransformNet downsamples twice by 2: tile corners on multiples of 4.
_ALIGN = 4
# Smallest side given to a network; smaller images are mirror-padded.
_MIN_SIDE = 16
# Tile side for measuring instance-norm statistics: any tiling gives the same
# statistics, and small windows keep the peak memory of these passes low
# (4096x4096, 1024 tiles: 4.7 GB with 1024 statistics tiles, see git log).
_STATISTICS_TILE = 512
_GLOB_CHARS = "*?["


class ModelLoadError(ValueError):
    """The --model path is not a model this tool can load."""


class Stylizer:
    """A loaded model: `stylizer(image)` maps (H, W, 3) float32 -> same.

    Subclasses implement `run` for one image of an acceptable size; calling
    the stylizer mirror-pads small images (and, for fixed-size models, pads
    to the model's size) and crops the result back.
    """

    # (height, width) that `run` requires, or None for any size.
    fixed_size = None

    def run(self, image):
        raise NotImplementedError

    def for_tiles(self, image, tiles, statistics=None, on_tile=None):
        """The function to run on `image`'s tiles (see `stylize_image`).

        `tiles` is a `tiling.tile_grid` of the image for measuring statistics.

        Models that normalise with image statistics override this to share
        the whole image's statistics between tiles.
        """
        return self

    def __call__(self, image):
        height, width = image.shape[:2]
        target = self.fixed_size or (max(height, _MIN_SIDE), max(width, _MIN_SIDE))
        if height > target[0] or width > target[1]:
            raise ValueError(
                f"Image {height}x{width} is larger than the model's fixed input "
                f"{target[0]}x{target[1]}; use tiling (stylize_image)."
            )
        if (height, width) != tuple(target):
            padding = ((0, target[0] - height), (0, target[1] - width), (0, 0))
            image = np.pad(image, padding, mode="symmetric")
        return np.asarray(self.run(np.asarray(image, np.float32)))[:height, :width]


class KerasStylizer(Stylizer):
    """A `.keras` TransformNet."""

    def __init__(self, path):
        import keras

        import dstyle_tf.models  # noqa: F401  (registers TransformNet)

        self.model = keras.saving.load_model(path, compile=False)

    def run(self, image):
        return np.asarray(self.model(image[None], training=False))[0]

    def for_tiles(self, image, tiles, statistics=None, on_tile=None):
        """With instance norm: every tile normalised by the image's statistics."""
        from dstyle_tf.models.layers import InstanceNormalization
        from dstyle_tf.models.layers import InstanceNormStatistics

        uses_instance_norm = any(
            isinstance(layer, InstanceNormalization) for layer in self.model._flatten_layers()
        )
        if statistics in (None, "tile") or not uses_instance_norm:
            return self
        fixed = InstanceNormStatistics(
            fixed=tiling.instance_norm_statistics(
                self.model, image, tiles, method=statistics, align=_ALIGN, on_tile=on_tile
            ),
            record=False,
        )
        return lambda tile: np.asarray(
            self.model(tile[None], training=False, statistics=fixed)
        )[0]


class SavedModelStylizer(Stylizer):
    """A SavedModel written by `python -m export` (signature serving_default)."""

    def __init__(self, path):
        import tensorflow as tf

        self._tf = tf
        self.model = tf.saved_model.load(path)
        if "serving_default" not in self.model.signatures:
            raise ModelLoadError(f"{path}: SavedModel has no serving_default signature.")
        self._serve = self.model.signatures["serving_default"]

    def run(self, image):
        outputs = self._serve(images=self._tf.constant(image[None]))
        return next(iter(outputs.values())).numpy()[0]


class TFLiteStylizer(Stylizer):
    """A `.tflite` model from `python -m export`, run by ai-edge-litert.

    Float32 or (u)int8 input/output tensors are handled; a fixed input size
    is exposed as `fixed_size`.
    """

    def __init__(self, path, num_threads=None):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=os.fspath(path), num_threads=num_threads)
        signatures = self.interpreter.get_signature_list()
        if not signatures:
            raise ModelLoadError(f"{path}: the .tflite model has no signature.")
        key = "stylize" if "stylize" in signatures else next(iter(signatures))
        self.runner = self.interpreter.get_signature_runner(key)
        (self._input_name, self._input), = self.runner.get_input_details().items()
        (self._output_name, self._output), = self.runner.get_output_details().items()
        shape = list(self._input["shape_signature"])
        if len(shape) != 4 or shape[-1] != 3:
            raise ModelLoadError(f"{path}: expected an image input (1, H, W, 3); got {shape}.")
        if shape[1] > 0 and shape[2] > 0:
            self.fixed_size = (int(shape[1]), int(shape[2]))

    def run(self, image):
        data = image[None].astype(np.float32)
        dtype = self._input["dtype"]
        if dtype != np.float32:
            scale, zero_point = self._input["quantization"]
            info = np.iinfo(dtype)
            data = np.clip(np.round(data / scale + zero_point), info.min, info.max)
            data = data.astype(dtype)
        output = self.runner(**{self._input_name: data})[self._output_name]
        if self._output["dtype"] != np.float32:
            scale, zero_point = self._output["quantization"]
            output = (output.astype(np.float32) - zero_point) * scale
        return output[0].astype(np.float32)


def load_stylizer(path, num_threads=None):
    """Loads a model for inference, dispatching on what `path` is.

    Args:
        path: `.keras` file; workdir containing `transform_net.keras`;
            SavedModel directory; TF Serving model directory (numbered
            versions: the highest is used); or `.tflite` file.
        num_threads: threads for the TFLite interpreter (None: default).

    Raises:
        ModelLoadError: with a readable message if it cannot be loaded.
    """
    path = os.fspath(path)
    try:
        if os.path.isdir(path):
            if os.path.isfile(os.path.join(path, "transform_net.keras")):
                return KerasStylizer(os.path.join(path, "transform_net.keras"))
            if os.path.isfile(os.path.join(path, "saved_model.pb")):
                return SavedModelStylizer(path)
            versions = [
                name for name in os.listdir(path)
                if name.isdigit()
                and os.path.isfile(os.path.join(path, name, "saved_model.pb"))
            ]
            if versions:
                return SavedModelStylizer(os.path.join(path, max(versions, key=int)))
            raise ModelLoadError(
                f"{path}: directory holds no transform_net.keras, saved_model.pb "
                "or numbered SavedModel versions."
            )
        if not os.path.exists(path):
            raise ModelLoadError(f"{path}: no such file or directory.")
        extension = os.path.splitext(path)[1].lower()
        if extension == ".keras":
            return KerasStylizer(path)
        if extension == ".tflite":
            return TFLiteStylizer(path, num_threads=num_threads)
        raise ModelLoadError(
            f"{path}: expected a .keras or .tflite file, or a directory."
        )
    except ModelLoadError:
        raise
    except Exception as e:  # Loaders raise many types; report them uniformly.
        raise ModelLoadError(f"{path}: cannot load model ({type(e).__name__}: {e})") from e


def stylize_image(
    image,
    stylizer,
    tile_size=1024,
    tile_overlap=128,
    tile_context=32,
    preserve_color=False,
    on_tile=None,
    tile_statistics="exact",
):
    """Stylises one image of any size.

    Args:
        image: float32 (H, W, 3) RGB in [0, 255].
        stylizer: a `Stylizer` (see `load_stylizer`) or any callable with the
            same contract.
        tile_size: images with a side larger than this are processed in tiles
            of this size; 0 disables tiling. Ignored for fixed-size models,
            whose tiles are their input size.
        tile_overlap: pixels by which tiles overlap and are cross-faded.
        tile_context: extra pixels of surrounding image fed with each tile.
        preserve_color: keep the photo's colours (luminance-only transfer).
        on_tile: optional progress callback (tiles_done, tiles_total).
        tile_statistics: how tiles of a `.keras` instance-norm network are
            normalised: `"exact"` (the whole image's statistics, measured tile
            by tile first: the one-pass result, ~7x the time), `"preview"`
            (statistics of a copy downscaled to 1024: cheap, approximate) or
            `"tile"` (each tile its own: fastest, visible bands possible).
            Exported models always use `"tile"`.

    Returns:
        float32 (H, W, 3) in [0, 255].
    """
    image = np.asarray(image, np.float32)
    fixed_size = getattr(stylizer, "fixed_size", None)
    if fixed_size:
        side = min(fixed_size)
        tile_context = min(tile_context, side // 8 // _ALIGN * _ALIGN)
        tile_size = side - 2 * tile_context
        tile_overlap = min(tile_overlap, tile_size // 4)
    elif tile_size <= 0:
        tile_size = max(image.shape[:2])
    fn = stylizer
    for_tiles = getattr(stylizer, "for_tiles", None)
    if for_tiles and max(image.shape[:2]) > tile_size:
        statistics_tiles = tiling.tile_grid(
            *image.shape[:2], min(tile_size, _STATISTICS_TILE), 0, tile_context, _ALIGN
        )
        fn = for_tiles(image, statistics_tiles, tile_statistics)
    stylized = tiling.tiled_apply(
        image,
        fn,
        tile_size=tile_size,
        overlap=tile_overlap,
        context=tile_context,
        align=_ALIGN,
        on_tile=on_tile,
    )
    stylized = np.clip(stylized, 0.0, 255.0, out=stylized)  # in place: large images
    if preserve_color:
        stylized = color.preserve_color(image, stylized)
    return stylized


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

    A single input with an output path ending in .png/.jpg/.jpeg writes that
    file; otherwise `output` is a directory and each output is named after
    its input (`.png` unless the input is PNG or JPEG).

    Raises:
        ValueError: if an output would replace an input (without
            `overwrite`), two inputs map to one output, or the extension of an
            output file is not writable.
    """
    output = os.fspath(output)
    extension = os.path.splitext(output)[1].lower()
    if len(inputs) == 1 and extension and not os.path.isdir(output):
        if extension not in image_io.SAVE_FORMATS:
            raise ValueError(
                f"--output {output}: cannot write '{extension}'; use one of "
                f"{', '.join(sorted(image_io.SAVE_FORMATS))}, or a directory."
            )
        pairs = [(inputs[0], output)]
    else:
        pairs = []
        for path in inputs:
            stem, ext = os.path.splitext(os.path.basename(path))
            ext = ext if ext.lower() in image_io.SAVE_FORMATS else ".png"
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


def stylize_files(pairs, stylizer, max_size=None, jpeg_quality=95, progress=False, **options):
    """Stylises each (input, output) pair; a bad file does not stop the rest.

    Args:
        pairs: from `plan_outputs`.
        stylizer: from `load_stylizer`.
        max_size: optional longest side to downscale inputs to.
        jpeg_quality: for .jpg outputs.
        progress: show a progress bar (tqdm, if installed).
        **options: passed to `stylize_image` (tiling, preserve_color).

    Returns:
        list of (input path, error message) for the files that failed.
    """
    failures = []
    bar = _progress_bar(len(pairs)) if progress else None
    for source, target in pairs:
        try:
            image = image_io.load_image(source, max_size=max_size)
            stylized = stylize_image(image, stylizer, **options)
            os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
            image_io.save_image(target, stylized, jpeg_quality=jpeg_quality)
            logging.info("%s -> %s (%dx%d)", source, target, image.shape[1], image.shape[0])
        except Exception as e:  # Report any failure for this file and go on.
            message = str(e) if isinstance(e, image_io.ImageReadError) else f"{source}: {type(e).__name__}: {e}"
            failures.append((source, message))
            logging.error("%s", message)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return failures


def define_flags():
    """Command-line flags of `python -m dstyle_tf.stylize`."""
    flags.DEFINE_string(
        "model", None,
        "Model to run: a .keras file, a training workdir containing "
        "transform_net.keras, a SavedModel directory (or a TF Serving model "
        "directory with numbered versions: the highest is used), or a .tflite file.",
        required=True,
    )
    flags.DEFINE_string(
        "input", None,
        "Image file, directory (all its non-hidden files) or quoted glob "
        "pattern such as 'photos/*.jpg'.",
        required=True,
    )
    flags.DEFINE_string(
        "output", None,
        "Output file (.png/.jpg/.jpeg; single input only) or directory; "
        "outputs are named after their inputs.",
        required=True,
    )
    flags.DEFINE_integer(
        "max_size", 0,
        "If > 0, downscale inputs so the longer side is at most this many "
        "pixels (the output has the downscaled size). 0 keeps the original size.",
        lower_bound=0,
    )
    flags.DEFINE_integer(
        "tile_size", 1024,
        "Process images with a side larger than this in tiles of this size, "
        "to bound memory. 0 disables tiling. Fixed-size .tflite models always "
        "use tiles of their input size.",
        lower_bound=0,
    )
    flags.DEFINE_integer(
        "tile_overlap", 128, "Pixels by which neighbouring tiles overlap and are cross-faded.",
        lower_bound=0,
    )
    flags.DEFINE_integer(
        "tile_context", 32,
        "Extra pixels of surrounding image fed to the network with each tile "
        "(then cropped), so tiles see their neighbourhood.",
        lower_bound=0,
    )
    flags.DEFINE_enum(
        "tile_statistics", "exact", ["exact", "preview", "tile"],
        "Instance-norm statistics for tiled .keras models: 'exact' (the whole "
        "image's, measured tile by tile first; matches a one-pass run, ~7x "
        "slower), 'preview' (from a copy downscaled to 1024 pixels) or 'tile' "
        "(each tile its own; fastest, may show bands).",
    )
    flags.DEFINE_bool(
        "preserve_color", False,
        "Keep the photo's colours: transfer only the style's luminance (YIQ).",
    )
    flags.DEFINE_bool(
        "overwrite", False, "Allow an output to replace an input file.",
    )
    flags.DEFINE_integer(
        "jpeg_quality", 95, "JPEG quality for .jpg outputs.", lower_bound=1, upper_bound=100,
    )
    flags.DEFINE_integer(
        "num_threads", 0, "Threads for the TFLite interpreter (0: runtime default).",
        lower_bound=0,
    )


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    config = flags.FLAGS
    try:
        pairs = plan_outputs(list_inputs(config.input), config.output, config.overwrite)
        stylizer = load_stylizer(config.model, num_threads=config.num_threads or None)
    except ValueError as e:
        raise app.UsageError(str(e)) from None
    failures = stylize_files(
        pairs,
        stylizer,
        max_size=config.max_size or None,
        jpeg_quality=config.jpeg_quality,
        progress=len(pairs) > 1,
        tile_size=config.tile_size,
        tile_overlap=config.tile_overlap,
        tile_context=config.tile_context,
        tile_statistics=config.tile_statistics,
        preserve_color=config.preserve_color,
    )
    done = len(pairs) - len(failures)
    print(f"Stylised {done} of {len(pairs)} image(s).", file=sys.stderr)
    if failures:
        print(f"{len(failures)} failed:", file=sys.stderr)
        for _, message in failures:
            print(f"  {message}", file=sys.stderr)
        sys.exit(1)


def run():
    """Console-script entry point."""
    define_flags()
    app.run(main)


if __name__ == "__main__":
    run()
