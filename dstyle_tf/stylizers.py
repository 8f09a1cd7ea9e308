"""Loading a trained or exported network for inference, whatever its format.

`load_stylizer(path)` takes a `.keras` file, a training workdir (with
`transform_net.keras`), a SavedModel directory, a TF Serving model directory
(its highest version) or a `.tflite` file, and returns a `Stylizer`: a
callable mapping one float32 RGB image (H, W, 3) in [0, 255] to its
stylisation.
"""

import os

import numpy as np

from dstyle_tf import tiling

# TransformNet downsamples twice by 2: tile corners on multiples of 4.
ALIGN = 4
# Smallest side given to a network; smaller images are mirror-padded.
_MIN_SIDE = 16


def tile_context(num_residual_blocks=5):
    """Context pixels that make tiling exact for a `TransformNet` with this many
    residual blocks: its receptive radius rounded up to `ALIGN` (60 for the
    paper's network)."""
    from dstyle_tf.models.transform_net import receptive_radius

    return -(-receptive_radius(num_residual_blocks) // ALIGN) * ALIGN


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

    @property
    def context(self):
        """Context pixels each tile needs (see `tile_context`). Exported models
        do not record their architecture: the paper network's is assumed."""
        return tile_context()

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

    @property
    def context(self):
        """The loaded network's own receptive field (see `tile_context`)."""
        return tile_context(getattr(self.model, "num_residual_blocks", 5))

    def for_tiles(self, image, tiles, statistics=None, on_tile=None):
        """With instance norm: every tile normalised by the image's statistics."""
        from dstyle_tf.models.instance_norm import InstanceNormalization
        from dstyle_tf.models.instance_norm import InstanceNormStatistics

        uses_instance_norm = any(
            isinstance(layer, InstanceNormalization) for layer in self.model._flatten_layers()
        )
        if statistics in (None, "tile") or not uses_instance_norm:
            return self
        fixed = InstanceNormStatistics(
            fixed=tiling.instance_norm_statistics(
                self.model, image, tiles, method=statistics, align=ALIGN, on_tile=on_tile
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
