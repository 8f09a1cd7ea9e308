"""Loading a trained or exported network for inference, whatever its format.

`load_stylizer(path)` takes a `.keras` file, a training workdir (with
`transform_net.keras`), a SavedModel directory, a TF Serving model directory
(its highest version) or a `.tflite` file, and returns a `Stylizer`: a
callable mapping one float32 RGB image (H, W, 3) in [0, 255] to its
stylisation. A model holding several styles lists them in
`stylizer.style_names` and is called with `style_weights` (N,); pick them
from user text with `select_style` ("--style") or `parse_style_weights`
("--style_weights").
"""

import functools
import math
import os

import numpy as np

from dstyle_tf import tiling

# TransformNet downsamples twice by 2: tile corners on multiples of 4.
ALIGN = 4
# Smallest side given to a network; smaller images are mirror-padded.
_MIN_SIDE = 16
# The style input of exported multi-style models (SavedModel and TFLite).
STYLE_WEIGHTS_INPUT = "style_weights"


def _named_styles(names, count):
    """`names` (decoded) if it has `count` entries, else the default names."""
    from dstyle_tf.models.transform_net import default_style_names

    names = [n.decode() if isinstance(n, bytes) else str(n) for n in ([] if names is None else names)]
    return tuple(names if len(names) == count else default_style_names(count))


def tile_context(num_residual_blocks=5):
    """Context pixels that make tiling exact for a `TransformNet` with this many
    residual blocks: its receptive radius rounded up to `ALIGN` (60 for the
    paper's network)."""
    from dstyle_tf.models.transform_net import receptive_radius

    return -(-receptive_radius(num_residual_blocks) // ALIGN) * ALIGN


class ModelLoadError(ValueError):
    """The --model path is not a model this tool can load."""


class StyleError(ValueError):
    """A --style or --style_weights value does not fit the model's styles."""


def _style_index(names, text, flag):
    """Index of the style named `text` (a name, else a 0-based index)."""
    if text in names:
        return names.index(text)
    if text.strip().isdigit() and int(text) < len(names):
        return int(text)
    listed = ", ".join(f"{index} {name}" for index, name in enumerate(names))
    raise StyleError(f"{flag}: unknown style {text!r}; the model's styles are: {listed}.")


def select_style(names, style):
    """One-hot (N,) float32 weights of the style named or numbered `style`.

    Args:
        names: the model's style names (`Stylizer.style_names`), in order.
        style: a name, or a 0-based index (as text or int).

    Raises:
        StyleError: for a style the model does not have.
    """
    weights = np.zeros(len(names), np.float32)
    weights[_style_index(list(names), str(style), "--style")] = 1.0
    return weights


def parse_style_weights(names, text):
    """(N,) float32 weights from "name:weight,name:weight", divided by their sum.

    Styles are given by name or 0-based index; styles not mentioned weigh 0.
    `"wave:1,scream:1"` and `"wave:0.5,scream:0.5"` both mean half of each.

    Raises:
        StyleError: for malformed text, an unknown or repeated style, a
            negative or non-finite weight, weights that do not sum to a
            positive number, or a model with one style (nothing to blend).
    """
    names = list(names)
    if len(names) == 1:
        raise StyleError(
            "--style_weights: this model holds one style; blending needs a multi-style model."
        )
    weights = np.zeros(len(names), np.float64)
    given = set()
    for item in text.split(","):
        style, colon, value = item.strip().rpartition(":")
        try:
            weight = float(value)
        except ValueError:
            weight = None
        if not colon or weight is None:
            raise StyleError(
                f"--style_weights: expected name:weight pairs such as "
                f"'{names[0]}:0.5,{names[1]}:0.5'; got {item.strip()!r}."
            )
        index = _style_index(names, style, "--style_weights")
        if index in given:
            raise StyleError(f"--style_weights: style {names[index]!r} is given twice.")
        if not math.isfinite(weight) or weight < 0:
            raise StyleError(
                f"--style_weights: weights must be non-negative numbers; got {item.strip()!r}."
            )
        given.add(index)
        weights[index] = weight
    total = weights.sum()
    if not total > 0:
        raise StyleError(f"--style_weights: the weights must sum to a positive number; got {text!r}.")
    return (weights / total).astype(np.float32)


def choose_style_weights(names, style=None, style_weights=None):
    """The weights `--style` / `--style_weights` select, or None for a
    single-style model (which takes none).

    Raises:
        StyleError: for both flags at once, a multi-style model with neither,
            or a value `select_style` / `parse_style_weights` refuses.
    """
    names = list(names)
    if style and style_weights:
        raise StyleError("Pass --style or --style_weights, not both.")
    if style_weights:
        return parse_style_weights(names, style_weights)
    if style not in (None, ""):
        weights = select_style(names, style)
        return None if len(names) == 1 else weights
    if len(names) > 1:
        listed = ", ".join(f"{index} {name}" for index, name in enumerate(names))
        raise StyleError(
            f"The model holds {len(names)} styles ({listed}): choose one with --style, "
            "blend with --style_weights, or show all with --sheet."
        )
    return None


class Stylizer:
    """A loaded model: `stylizer(image)` maps (H, W, 3) float32 -> same.

    Subclasses implement `run` for one image of an acceptable size; calling
    the stylizer mirror-pads small images (and, for fixed-size models, pads
    to the model's size) and crops the result back.
    """

    # (height, width) that `run` requires, or None for any size.
    fixed_size = None
    # The styles the model holds, in the order of its style weights.
    style_names = ("style",)

    @property
    def num_styles(self):
        return len(self.style_names)

    @property
    def context(self):
        """Context pixels each tile needs (see `tile_context`). Exported models
        do not record their architecture: the paper network's is assumed."""
        return tile_context()

    def run(self, image, style_weights=None):
        """Stylises one image (H, W, 3) of an acceptable size; `style_weights`
        (N,) for a multi-style model, else None."""
        raise NotImplementedError

    def for_tiles(self, image, tiles, statistics=None, on_tile=None, style_weights=None):
        """The function to run on `image`'s tiles (see `stylize_image`).

        `tiles` is a `tiling.tile_grid` of the image for measuring statistics.

        Models that normalise with image statistics override this to share
        the whole image's statistics between tiles.
        """
        if style_weights is None:
            return self
        return functools.partial(self, style_weights=style_weights)

    def for_video(self):
        """The stylizer to run on every frame of a video (all of one size)."""
        return self

    def check_style_weights(self, style_weights):
        """(N,) float32 weights, or None for a single-style model."""
        if self.num_styles == 1:
            if style_weights is not None:
                raise StyleError("This model holds one style: it takes no style weights.")
            return None
        weights = None if style_weights is None else np.asarray(style_weights, np.float32)
        if weights is None or weights.shape != (self.num_styles,):
            raise StyleError(
                f"This model holds {self.num_styles} styles: pass style_weights of "
                f"shape ({self.num_styles},); got "
                f"{None if weights is None else weights.shape}."
            )
        return weights

    def __call__(self, image, style_weights=None):
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
        style_weights = self.check_style_weights(style_weights)
        stylized = self.run(np.asarray(image, np.float32), style_weights)
        return np.asarray(stylized)[:height, :width]


class KerasStylizer(Stylizer):
    """A `.keras` TransformNet."""

    def __init__(self, path):
        import keras

        import dstyle_tf.models  # noqa: F401  (registers TransformNet)

        self.model = keras.saving.load_model(path, compile=False)
        self.style_names = tuple(getattr(self.model, "style_names", Stylizer.style_names))
        self._graph = None  # the model as a tf.function (`for_video`)

    def _network(self, style_weights):
        """The model, called with these (N,) weights for every image."""
        if style_weights is None:
            return self.model
        return functools.partial(self.model, style_weights=style_weights[None])

    def _call(self, images, style_weights=None):
        if style_weights is None:
            return self.model(images, training=False)
        return self.model(images, style_weights=style_weights, training=False)

    def run(self, image, style_weights=None):
        inputs = (image[None],) if style_weights is None else (image[None], style_weights[None])
        if self._graph is not None:
            return self._graph(*inputs).numpy()[0]
        return np.asarray(self._call(*inputs))[0]

    def for_video(self):
        """This model run as a traced graph: for many frames of one size, an
        eager call costs about twice the network (Python dispatch of every
        op). Traced once per frame size; results differ from eager calls by
        float rounding (< 0.01 of 255)."""
        import copy

        import tensorflow as tf

        if self._graph is not None:
            return self
        graph = copy.copy(self)
        graph._graph = tf.function(self._call, reduce_retracing=True)
        return graph

    @property
    def context(self):
        """The loaded network's own receptive field (see `tile_context`)."""
        return tile_context(getattr(self.model, "num_residual_blocks", 5))

    def for_tiles(self, image, tiles, statistics=None, on_tile=None, style_weights=None):
        """With instance norm: every tile normalised by the image's statistics."""
        from dstyle_tf.models.instance_norm import InstanceNormalization
        from dstyle_tf.models.instance_norm import InstanceNormStatistics

        uses_instance_norm = any(
            isinstance(layer, InstanceNormalization) for layer in self.model._flatten_layers()
        )
        if statistics in (None, "tile") or not uses_instance_norm:
            return super().for_tiles(image, tiles, style_weights=style_weights)
        network = self._network(self.check_style_weights(style_weights))
        fixed = InstanceNormStatistics(
            fixed=tiling.instance_norm_statistics(
                network, image, tiles, method=statistics, align=ALIGN, on_tile=on_tile
            ),
            record=False,
        )
        return lambda tile: np.asarray(
            network(tile[None], training=False, statistics=fixed)
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
        inputs = self._serve.structured_input_signature[1]
        if STYLE_WEIGHTS_INPUT in inputs:
            names = getattr(self.model, "style_names", None)
            self.style_names = _named_styles(
                None if names is None else names.numpy(),
                inputs[STYLE_WEIGHTS_INPUT].shape[-1],
            )

    def run(self, image, style_weights=None):
        inputs = {"images": self._tf.constant(image[None])}
        if style_weights is not None:
            inputs[STYLE_WEIGHTS_INPUT] = self._tf.constant(style_weights[None])
        outputs = self._serve(**inputs)
        return next(iter(outputs.values())).numpy()[0]


class TFLiteStylizer(Stylizer):
    """A `.tflite` model from `python -m export`, run by ai-edge-litert.

    Float32 or (u)int8 input/output tensors are handled; a fixed input size
    is exposed as `fixed_size`. A multi-style model's second input is
    `style_weights` (1, N); its style names come from the export's
    `model_card.json` (beside the `tflite/` folder) when there is one.
    """

    def __init__(self, path, num_threads=None):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=os.fspath(path), num_threads=num_threads)
        signatures = self.interpreter.get_signature_list()
        if not signatures:
            raise ModelLoadError(f"{path}: the .tflite model has no signature.")
        key = "stylize" if "stylize" in signatures else next(iter(signatures))
        self.runner = self.interpreter.get_signature_runner(key)
        inputs = dict(self.runner.get_input_details())
        self._style_input = inputs.pop(STYLE_WEIGHTS_INPUT, None)
        if self._style_input is not None:
            self.style_names = _named_styles(
                _model_card_styles(path), int(self._style_input["shape"][-1])
            )
        (self._input_name, self._input), = inputs.items()
        (self._output_name, self._output), = self.runner.get_output_details().items()
        shape = list(self._input["shape_signature"])
        if len(shape) != 4 or shape[-1] != 3:
            raise ModelLoadError(f"{path}: expected an image input (1, H, W, 3); got {shape}.")
        if shape[1] > 0 and shape[2] > 0:
            self.fixed_size = (int(shape[1]), int(shape[2]))

    def run(self, image, style_weights=None):
        # The signature runner resizes the input tensor only when the shape
        # changes (frames of a video: once) and reuses its buffers.
        data = np.ascontiguousarray(image[None], np.float32)
        dtype = self._input["dtype"]
        if dtype != np.float32:
            scale, zero_point = self._input["quantization"]
            info = np.iinfo(dtype)
            data = np.clip(np.round(data / scale + zero_point), info.min, info.max)
            data = data.astype(dtype)
        inputs = {self._input_name: data}
        if style_weights is not None:
            inputs[STYLE_WEIGHTS_INPUT] = np.asarray(style_weights, np.float32)[None]
        output = self.runner(**inputs)[self._output_name]
        if self._output["dtype"] != np.float32:
            scale, zero_point = self._output["quantization"]
            output = (output.astype(np.float32) - zero_point) * scale
        return np.asarray(output[0], np.float32)


class StyleSetStylizer(Stylizer):
    """Several single-style networks offered as one model with named styles.

    Each network is loaded when one of its styles is first used. Blends
    (`style_weights` with several non-zero entries) mix the networks'
    outputs, Σ w_i · f_i(x): unlike a multi-style network's blend of its
    normalisation parameters, every network paints its own style.

    Args:
        paths: {style name: model path}, in the order of the style weights;
            single-style networks (`.keras`, SavedModel or `.tflite`). Each
            network is called as it would be alone, so a fixed-size `.tflite`
            pads the image to its size (the image must fit in it).
        num_threads: threads for TFLite networks.
    """

    def __init__(self, paths, num_threads=None):
        if not paths:
            raise ModelLoadError("a style set needs at least one network.")
        self.paths = dict(paths)
        self.style_names = tuple(self.paths)
        self._num_threads = num_threads
        self._loaded = {}
        self._video = False  # networks loaded from now on are `for_video` ones

    def network(self, name):
        """The `Stylizer` of one style (loaded on first use)."""
        if name not in self._loaded:
            stylizer = load_stylizer(self.paths[name], num_threads=self._num_threads)
            if stylizer.num_styles != 1:
                raise ModelLoadError(f"{self.paths[name]}: a style set takes single-style networks.")
            self._loaded[name] = stylizer.for_video() if self._video else stylizer
        return self._loaded[name]

    def _parts(self, style_weights):
        """[(weight, network)] of the styles with non-zero weight."""
        weights = np.ones(1, np.float32) if style_weights is None else style_weights
        return [(float(w), self.network(name))
                for name, w in zip(self.style_names, weights) if w > 0]

    @property
    def context(self):
        return max(self.network(name).context for name in (self._loaded or self.style_names[:1]))

    def run(self, image, style_weights=None):
        return sum(weight * network(image) for weight, network in self._parts(style_weights))

    def for_tiles(self, image, tiles, statistics=None, on_tile=None, style_weights=None):
        parts = [
            (weight, network.for_tiles(image, tiles, statistics, on_tile))
            for weight, network in self._parts(self.check_style_weights(style_weights))
        ]
        return lambda tile: sum(weight * np.asarray(fn(tile)) for weight, fn in parts)

    def for_video(self):
        import copy

        video = copy.copy(self)
        video._video = True
        video._loaded = {name: network.for_video() for name, network in self._loaded.items()}
        return video


def _model_card_styles(tflite_path):
    """The `styles` of the model card of the export holding `tflite_path`."""
    import json

    card = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(tflite_path))),
                        "model_card.json")
    try:
        with open(card, encoding="utf-8") as f:
            return json.load(f).get("styles")
    except (OSError, ValueError, AttributeError):
        return None


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
