"""The image transformation network f_W of Johnson et al. 2016."""

import keras
from keras import layers
from keras import ops

from dstyle_tf.models.layers import PADDINGS
from dstyle_tf.models.layers import ConvBlock
from dstyle_tf.models.layers import ResidualBlock
from dstyle_tf.models.layers import UpsampleBlock
from dstyle_tf.models.layers import _check_choice

# Two stride-2 convolutions: inputs are padded to a multiple of this.
_STRIDE = 4


@keras.saving.register_keras_serializable(package="dstyle_tf")
class TransformNet(keras.Model):
    """Feed-forward style transfer network (Johnson et al. 2016, ECCV).

    Architecture c9s1-32, d64, d128, 5×R128, u64, u32, c9s1-3, as in
    "Perceptual Losses for Real-Time Style Transfer and Super-Resolution"
    and "Depth-aware Neural Style Transfer" (Liu et al. 2017, NPAR).
    Fully convolutional: an image of any size H×W (odd sizes too) is
    padded by mirroring to a multiple of 4, transformed, and cropped back,
    so the output always has the input's size.

    Args:
        filters: int. Channels of the first block; the network uses 1×, 2×
            and 4× this. The paper uses 32.
        num_residual_blocks: int. Residual blocks at 1/4 resolution (paper 5).
        normalization: `"batch"` (paper) or `"instance"` (Ulyanov et al.
            2016; usually better looking and independent of the batch).
        upsampling: `"transpose"` (paper) or `"resize_conv"` (nearest
            resize + conv, no checkerboard artefacts).
        padding: `"reflect"` (no dark borders) or `"zero"`.
        **kwargs: passed to `keras.Model` (`name`, `dtype`, ...).

    Inputs are float (B, H, W, 3) RGB in [0, 255]; outputs float32 of the
    same shape in [0, 255].

    Example:
    ```python
    net = TransformNet(normalization="instance", upsampling="resize_conv")
    stylised = net(np.random.uniform(0, 255, (1, 97, 131, 3)))  # (1, 97, 131, 3)
    ```
    """

    def __init__(
        self,
        filters=32,
        num_residual_blocks=5,
        normalization="instance",
        upsampling="resize_conv",
        padding="reflect",
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check_choice("padding", padding, PADDINGS)
        if filters < 1 or num_residual_blocks < 0:
            raise ValueError(
                "filters must be >= 1 and num_residual_blocks >= 0; got "
                f"{filters} and {num_residual_blocks}."
            )
        self.filters = filters
        self.num_residual_blocks = num_residual_blocks
        self.normalization = normalization
        self.upsampling = upsampling
        self.padding = padding

        dtype = self.dtype_policy
        common = dict(normalization=normalization, padding=padding, dtype=dtype)
        self.encoder = [
            ConvBlock(filters, 9, name="c9s1", **common),
            ConvBlock(2 * filters, 3, strides=2, name="d1", **common),
            ConvBlock(4 * filters, 3, strides=2, name="d2", **common),
        ]
        self.residuals = [
            ResidualBlock(4 * filters, name=f"res{i + 1}", **common)
            for i in range(num_residual_blocks)
        ]
        self.decoder = [
            UpsampleBlock(2 * filters, upsampling, name="u1", **common),
            UpsampleBlock(filters, upsampling, name="u2", **common),
        ]
        self.output_conv = ConvBlock(
            3,
            9,
            normalization=None,
            padding=padding,
            activation=False,
            dtype=dtype,
            name="c9s1_out",
        )
        # The output stays float32 under mixed precision (Keras guide).
        self.output_activation = layers.Activation(
            "tanh", dtype="float32", name="tanh"
        )

    def build(self, input_shape=(None, None, None, 3)):
        # Build on a small static shape; the layers are size agnostic.
        self.call(ops.zeros((1, 16, 16, 3)))
        self.built = True

    def call(self, inputs, training=None):
        images = ops.cast(inputs, self.compute_dtype)
        height, width = ops.shape(images)[1], ops.shape(images)[2]
        pad_h = (-height) % _STRIDE
        pad_w = (-width) % _STRIDE
        x = ops.pad(
            images, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]], mode="symmetric"
        )
        x = x / 127.5 - 1.0
        for block in self.encoder:
            x = block(x, training=training)
        for block in self.residuals:
            x = block(x, training=training)
        for block in self.decoder:
            x = block(x, training=training)
        x = self.output_conv(x, training=training)
        x = 127.5 * (self.output_activation(x) + 1.0)
        return x[:, :height, :width, :]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "num_residual_blocks": self.num_residual_blocks,
                "normalization": self.normalization,
                "upsampling": self.upsampling,
                "padding": self.padding,
            }
        )
        return config
