"""The image transformation network f_W of Johnson et al. 2016."""

import keras
from keras import layers
from keras import ops

from dstyle_tf.errors import check_choice
from dstyle_tf.models.layers import PADDINGS
from dstyle_tf.models.layers import ConvBlock
from dstyle_tf.models.layers import ResidualBlock
from dstyle_tf.models.layers import UpsampleBlock
from dstyle_tf.models.layers import mirror_pad

# Two stride-2 convolutions: inputs are padded to a multiple of this.
_STRIDE = 4
# The 9×9 RGB output convolution runs on 2×2 pixel groups (see
# `space_to_depth_conv`): XNNPACK, 512², 1 thread: 121 ms direct, ~45 ms.
_OUTPUT_BLOCK = 2


def receptive_radius(num_residual_blocks=5):
    """How far (in input pixels, on any side) an output pixel of a
    `TransformNet` looks: tiles given this much context reproduce a one-pass
    run (with image-wide normalisation statistics).

    Each convolution adds its half-kernel times its input's scale (pixels
    per activation); a stride-2 convolution also adds its input's scale,
    because its output pixel covers two input positions and the kernel is
    centred on the first. c9s1: 4, d1: 1 + 1, d2: 2 + 2, each residual block
    2·4, u1: 2, u2: 1, output 9×9: 4 — 17 + 8 per residual block (57 for the
    paper's 5 blocks). Measured with gradients, both upsamplings reach this
    exactly on one side (tests/test_tiling.py).
    """
    encoder = 4 + (1 + 1) + (2 + 2)
    decoder = 2 + 1 + 4
    return encoder + 2 * 4 * num_residual_blocks + decoder


def _pad_to_multiple(x, height, width):
    """Mirror-pads H and W (at the end, edge included) to multiples of 4.

    With static sizes the padding is static (none at all for multiples of 4);
    with dynamic sizes three pixels are mirrored and the excess sliced off,
    which avoids a data-dependent MIRROR_PAD, and the channel count is
    restored for converters that need it.
    """
    if isinstance(height, int) and isinstance(width, int):
        x = mirror_pad(x, 0, (-height) % _STRIDE, axis=1, include_edge=True)
        return mirror_pad(x, 0, (-width) % _STRIDE, axis=2, include_edge=True)
    padded_height = height + (-height) % _STRIDE
    padded_width = width + (-width) % _STRIDE
    x = mirror_pad(x, 0, _STRIDE - 1, axis=1, include_edge=True)[:, :padded_height]
    x = mirror_pad(x, 0, _STRIDE - 1, axis=2, include_edge=True)[:, :, :padded_width]
    return ops.reshape(x, (-1, padded_height, padded_width, x.shape[-1]))


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
    stylized = net(np.random.uniform(0, 255, (1, 97, 131, 3)))  # (1, 97, 131, 3)
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
        check_choice("padding", padding, PADDINGS)
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
            space_to_depth=_OUTPUT_BLOCK,
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

    def call(self, inputs, training=None, statistics=None):
        """Stylises float (B, H, W, 3) images in [0, 255].

        Args:
            inputs: the images.
            training: batch norm mode.
            statistics: optional `InstanceNormStatistics` (eager only): use
                the whole image's instance-norm statistics for a tile, and/or
                record this input's. See `dstyle_tf.tiling`.
        """
        x = ops.cast(inputs, self.compute_dtype)
        height, width = ops.shape(x)[1], ops.shape(x)[2]
        x = _pad_to_multiple(x, height, width)
        x = x / 127.5 - 1.0
        kwargs = dict(training=training, statistics=statistics)
        for block in self.encoder + self.residuals + self.decoder:
            x = block(x, **kwargs)
        x = self.output_conv(x, training=training)
        x = 127.5 * (self.output_activation(x) + 1.0)
        if isinstance(height, int) and isinstance(width, int):
            if height % _STRIDE == 0 and width % _STRIDE == 0:
                return x  # static shape, nothing was padded
        return x[:, :height, :width, :]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    @property
    def receptive_radius(self):
        """Input pixels an output pixel depends on, on any side (`receptive_radius`)."""
        return receptive_radius(self.num_residual_blocks)

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
