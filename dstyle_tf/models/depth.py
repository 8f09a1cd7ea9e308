"""Depth loss network φ1: a frozen, differentiable single-image depth model.

Backends:
- `"depth_anything"`: Depth Anything V2 (Yang et al. 2024) from keras-hub, from
  a preset name (`depth_anything_v2_small`, downloaded from Kaggle on first
  use), a local preset directory (`save_to_preset` output), or built with
  random weights from `architecture` (tests and smoke runs only).
- `"keras_model"`: any `.keras` file mapping RGB images in [0, 255]
  (B, H, W, 3) to depth (B, h, w) or (B, h, w, 1).

Both are relative-depth networks whose outputs have an arbitrary scale and
shift per image. So the loss compares *normalised* maps: each map is
standardised on its own (zero mean, unit standard deviation over H×W), then
multiplied by `scale`. Standardising makes the depth loss invariant to the
per-image scale and shift, comparable across backends, and bounded
(mean((a − b)²) = 2·scale²·(1 − Pearson correlation)); `scale` (default 10)
puts the term on the order of the content and style terms of the reference
implementation, so λd = 5 is meaningful.
"""

import os

import keras
import numpy as np
from keras import ops

from dstyle_tf.errors import UserError
from dstyle_tf.errors import WeightsUnavailableError

BACKENDS = ("depth_anything", "keras_model")
# ImageNet statistics: Depth Anything's own, used when a model (built from
# `architecture`, no preset) has no image converter to read them from.
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
_PATCH = 14
# A tiny random Depth Anything that builds offline (tests, smoke runs).
TINY_ARCHITECTURE = {
    "num_layers": 4,
    "hidden_dim": 32,
    "num_heads": 2,
    "intermediate_dim": 64,
    "neck_hidden_dims": [16, 32, 64, 64],
    "fusion_hidden_dim": 32,
    "head_hidden_dim": 16,
    "feature_keys": ["stage1", "stage2", "stage3", "stage4"],
}
# The architecture of the `depth_anything_v2_small` preset (DINOv2-S + DPT),
# for random-weight stand-ins with the real cost (benchmarks).
SMALL_ARCHITECTURE = {
    "num_layers": 12,
    "hidden_dim": 384,
    "num_heads": 6,
    "intermediate_dim": 1536,
    "neck_hidden_dims": [48, 96, 192, 384],
    "fusion_hidden_dim": 64,
    "head_hidden_dim": 32,
    "feature_keys": ["stage3", "stage6", "stage9", "stage12"],
}


def build_depth_anything(architecture, input_size):
    """A randomly initialised Depth Anything estimator (no download)."""
    import keras_hub

    arch = dict(TINY_ARCHITECTURE, **(architecture or {}))
    encoder = keras_hub.models.DINOV2Backbone(
        patch_size=_PATCH,
        num_layers=arch["num_layers"],
        hidden_dim=arch["hidden_dim"],
        num_heads=arch["num_heads"],
        intermediate_dim=arch["intermediate_dim"],
        use_mask_token=False,
        image_shape=(input_size, input_size, 3),
    )
    backbone = keras_hub.models.DepthAnythingBackbone(
        image_encoder=encoder,
        reassemble_factors=[4, 2, 1, 0.5],
        neck_hidden_dims=arch["neck_hidden_dims"],
        fusion_hidden_dim=arch["fusion_hidden_dim"],
        head_hidden_dim=arch["head_hidden_dim"],
        head_in_index=-1,
        feature_keys=arch["feature_keys"],
    )
    return keras_hub.models.DepthAnythingDepthEstimator(
        backbone=backbone, depth_estimation_type="relative"
    )


def load_depth_anything(preset, input_size):
    """Depth Anything from a keras-hub preset name or local preset directory."""
    import keras_hub

    is_dir = os.path.isdir(os.path.expanduser(preset))
    if not is_dir and (os.sep in preset or preset.startswith(".")):
        raise WeightsUnavailableError(
            f"Depth Anything preset directory not found: {preset}"
        )
    source = os.path.expanduser(preset) if is_dir else preset
    try:
        return keras_hub.models.DepthAnythingDepthEstimator.from_preset(
            source, image_shape=(input_size, input_size, 3)
        )
    except Exception as e:  # Network, Kaggle and format errors vary.
        raise WeightsUnavailableError(
            f"Could not load the Depth Anything preset {preset!r} "
            f"({type(e).__name__}: {str(e)[:300]}).\nOn a machine with internet "
            "access run:\n  python -c \"import keras_hub; keras_hub.models."
            f"DepthAnythingDepthEstimator.from_preset('{preset}')"
            ".save_to_preset('depth_anything_v2_small')\"\ncopy that folder "
            "here and pass it: --config.depth.preset=/path/to/"
            "depth_anything_v2_small (Kaggle presets are also cached under "
            "~/.cache/kagglehub)."
        ) from None


def load_keras_depth_model(path):
    path = os.path.expanduser(path)
    if not os.path.isfile(path):
        raise WeightsUnavailableError(f"Depth model file not found: {path}")
    try:
        return keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as e:
        raise WeightsUnavailableError(
            f"Could not load the depth model {path}: {e}"
        ) from None


def converter_scale_offset(network):
    """Per-channel (scale, offset) mapping RGB in [0, 255] to `network`'s input.

    Read from the keras-hub preset's image converter
    (`network.preprocessor.image_converter`: `x * scale + offset`); ImageNet
    mean and std when the network has none (random-weight models).

    Returns:
        two float32 arrays of shape (3,).
    """
    preprocessor = getattr(network, "preprocessor", None)
    converter = getattr(preprocessor, "image_converter", None)
    if converter is None:
        std = np.asarray(_IMAGENET_STD)
        scale, offset = 1.0 / (255.0 * std), -np.asarray(_IMAGENET_MEAN) / std
    else:
        scale = 1.0 if converter.scale is None else converter.scale
        offset = 0.0 if converter.offset is None else converter.offset
    return tuple(
        np.broadcast_to(np.asarray(v, np.float32), (3,)).copy() for v in (scale, offset)
    )


def standardize_depth(depth, scale=1.0, epsilon=1e-4, floor=1e-5):
    """Per-map zero mean and `scale` standard deviation over H and W.

    A flat map (constant, or constant plus float noise) has no structure to
    standardise: its standard deviation is floored at `epsilon` times the
    map's mean |depth| (plus `floor`, for all-zero maps), so its noise is not
    blown up to unit size and gradients stay bounded (at most ~scale / (epsilon
    · mean |depth|) per pixel). Maps with relief are changed by a factor
    1 + (epsilon · mean |depth| / std)² / 2: < 1e-6 when the std exceeds
    a tenth of mean |depth|.

    Args:
        depth: (B, H, W) or (B, H, W, C) depth maps.
        scale: standard deviation of the returned maps.
        epsilon: floor of the std, relative to the map's mean |depth|.
        floor: absolute floor (all-zero maps).

    Returns:
        float32 maps of the same shape.
    """
    depth = ops.cast(depth, "float32")
    axes = (1, 2)
    mean = ops.mean(depth, axis=axes, keepdims=True)
    magnitude = ops.mean(ops.abs(depth), axis=axes, keepdims=True)
    variance = ops.var(depth, axis=axes, keepdims=True)
    std = ops.sqrt(variance + ops.square(epsilon * magnitude) + floor**2)
    return scale * (depth - mean) / std


@keras.saving.register_keras_serializable(package="dstyle_tf")
class DepthNetwork(keras.Model):
    """Frozen, differentiable depth network for the depth loss (φ1).

    Takes RGB images in [0, 255] of any size, resizes them to the network's
    `input_size`, and returns standardised depth maps (B, S, S, 1) (see the
    module docstring); gradients flow through to the images.

    Args:
        backend: `"depth_anything"` or `"keras_model"`.
        preset: keras-hub preset name or local preset directory (for
            `"depth_anything"`); `None` builds random weights from
            `architecture` (tests only).
        model_path: `.keras` file (for `"keras_model"`).
        input_size: side of the square network input; a multiple of 14
            for Depth Anything.
        scale: standard deviation of the returned maps.
        architecture: overrides of `TINY_ARCHITECTURE` when `preset=None`.

    Example:
    ```python
    depth = DepthNetwork(preset=None, input_size=126)  # tiny random model
    depth(np.zeros((2, 100, 80, 3)))  # (2, 126, 126, 1)
    ```
    """

    def __init__(
        self,
        backend="depth_anything",
        preset="depth_anything_v2_small",
        model_path=None,
        input_size=224,
        scale=10.0,
        architecture=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if backend not in BACKENDS:
            raise UserError(
                f"Unknown depth backend {backend!r}; choose one of "
                f"{', '.join(BACKENDS)}."
            )
        if backend == "depth_anything" and input_size % _PATCH:
            raise UserError(
                f"depth input_size must be a multiple of {_PATCH} for Depth "
                f"Anything; got {input_size}."
            )
        self.backend = backend
        self.preset = preset
        self.model_path = model_path
        self.input_size = input_size
        self.scale = scale
        self.architecture = architecture
        if backend == "keras_model":
            if not model_path:
                raise UserError("The keras_model depth backend needs a model_path.")
            self.network = load_keras_depth_model(model_path)
        elif preset:
            self.network = load_depth_anything(preset, input_size)
        else:
            self.network = build_depth_anything(architecture, input_size)
        self.network.trainable = False
        self.trainable = False
        self._input_scale, self._input_offset = converter_scale_offset(self.network)

    def preprocess(self, images):
        """The network's input for RGB images in [0, 255]: resized (stretched)
        to `input_size` and, for Depth Anything, scaled and offset as its
        image converter does."""
        x = ops.cast(images, "float32")
        size = (self.input_size, self.input_size)
        x = ops.image.resize(x, size, interpolation="bilinear", antialias=False)
        if self.backend == "depth_anything":
            x = x * self._input_scale + self._input_offset
        return x

    def raw_depth(self, images):
        """Unnormalised network output (B, S, S, 1) for images in [0, 255]."""
        x = self.preprocess(images)
        out = self.network(ops.cast(x, self.compute_dtype), training=False)
        if isinstance(out, dict):
            out = out["depths"]
        out = ops.cast(out, "float32")
        return out if len(out.shape) == 4 else out[..., None]

    def call(self, images):
        return standardize_depth(self.raw_depth(images), self.scale)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "backend": self.backend,
                "preset": self.preset,
                "model_path": self.model_path,
                "input_size": self.input_size,
                "scale": self.scale,
                "architecture": self.architecture,
            }
        )
        return config
