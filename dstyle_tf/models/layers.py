"""Building blocks of the image transformation network.

Each layer is small, serialisable and mixed-precision aware: sublayers are
created with `dtype=self.dtype_policy`, and normalisation statistics are taken
in float32 even when the compute dtype is float16.
"""

import keras
from keras import layers
from keras import ops

NORMALIZATIONS = ("batch", "instance")
UPSAMPLINGS = ("transpose", "resize_conv")
PADDINGS = ("reflect", "zero")


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(
            f"{name} must be one of {', '.join(choices)}; got {value!r}."
        )


@keras.saving.register_keras_serializable(package="dstyle_tf")
class InstanceNormalization(layers.Layer):
    """Per-image, per-channel normalisation with a learned scale and offset.

    Ulyanov et al. 2016, "Instance Normalization: The Missing Ingredient for
    Fast Stylization". Statistics are computed over H and W in float32.

    Args:
        epsilon: float. Added to the variance for numerical stability.
    """

    def __init__(self, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def build(self, input_shape):
        channels = input_shape[-1]
        self.gamma = self.add_weight(
            name="gamma", shape=(channels,), initializer="ones"
        )
        self.beta = self.add_weight(
            name="beta", shape=(channels,), initializer="zeros"
        )

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        mean = ops.mean(x, axis=(1, 2), keepdims=True)
        variance = ops.mean(ops.square(x - mean), axis=(1, 2), keepdims=True)
        # Fold the affine terms into one multiply-add: fewer elementwise ops,
        # which is what dominates this layer on CPU and in TFLite.
        scale = ops.rsqrt(variance + self.epsilon) * ops.cast(
            self.gamma, "float32"
        )
        offset = ops.cast(self.beta, "float32") - mean * scale
        return ops.cast(x * scale + offset, self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update({"epsilon": self.epsilon})
        return config


@keras.saving.register_keras_serializable(package="dstyle_tf")
class ReflectionPadding2D(layers.Layer):
    """Pads H and W by mirroring the border (no repeated edge pixel).

    Args:
        padding: int. Pixels added on each side of H and W.
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        self.padding = padding

    def call(self, inputs):
        p = self.padding
        return ops.pad(inputs, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        grow = 2 * self.padding
        return (
            b,
            None if h is None else h + grow,
            None if w is None else w + grow,
            c,
        )

    def get_config(self):
        config = super().get_config()
        config.update({"padding": self.padding})
        return config


def make_normalization(normalization, dtype, name):
    _check_choice("normalization", normalization, NORMALIZATIONS)
    if normalization == "batch":
        return layers.BatchNormalization(
            momentum=0.9, epsilon=1e-5, dtype=dtype, name=name
        )
    return InstanceNormalization(dtype=dtype, name=name)


@keras.saving.register_keras_serializable(package="dstyle_tf")
class ConvBlock(layers.Layer):
    """Padding, convolution, then optional normalisation and ReLU.

    With `padding="reflect"` the border is mirrored explicitly and the
    convolution itself is "valid"; with `"zero"` the convolution pads.

    Args:
        filters: int. Output channels.
        kernel_size: int. Square kernel size.
        strides: int. Convolution stride.
        normalization: `"batch"`, `"instance"` or `None` (no norm, no ReLU).
        padding: `"reflect"` or `"zero"`.
        activation: bool. Apply ReLU after normalisation.
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        normalization="instance",
        padding="reflect",
        activation=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check_choice("padding", padding, PADDINGS)
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.normalization = normalization
        self.padding = padding
        self.activation = activation
        half = kernel_size // 2
        self.pad = (
            ReflectionPadding2D(half, dtype=self.dtype_policy, name="pad")
            if padding == "reflect" and half > 0
            else None
        )
        self.conv = layers.Conv2D(
            filters,
            kernel_size,
            strides=strides,
            padding="valid" if padding == "reflect" else "same",
            # The normalisation that follows has its own offset.
            use_bias=normalization is None,
            dtype=self.dtype_policy,
            name="conv",
        )
        self.norm = (
            make_normalization(normalization, self.dtype_policy, "norm")
            if normalization
            else None
        )

    def call(self, inputs, training=None):
        x = self.pad(inputs) if self.pad is not None else inputs
        x = self.conv(x)
        if self.norm is not None:
            x = self.norm(x, training=training)
        if self.activation:
            x = ops.relu(x)
        return x

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "normalization": self.normalization,
                "padding": self.padding,
                "activation": self.activation,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="dstyle_tf")
class ResidualBlock(layers.Layer):
    """Two 3×3 conv blocks and an identity shortcut (Johnson et al. 2016).

    Args:
        filters: int. Channels in and out.
        normalization: `"batch"` or `"instance"`.
        padding: `"reflect"` or `"zero"`.
    """

    def __init__(
        self, filters, normalization="instance", padding="reflect", **kwargs
    ):
        super().__init__(**kwargs)
        self.filters = filters
        self.normalization = normalization
        self.padding = padding
        common = dict(
            normalization=normalization, padding=padding, dtype=self.dtype_policy
        )
        self.block1 = ConvBlock(filters, 3, name="block1", **common)
        self.block2 = ConvBlock(
            filters, 3, activation=False, name="block2", **common
        )

    def call(self, inputs, training=None):
        x = self.block1(inputs, training=training)
        x = self.block2(x, training=training)
        return inputs + x

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "normalization": self.normalization,
                "padding": self.padding,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="dstyle_tf")
class UpsampleBlock(layers.Layer):
    """×2 upsampling, then normalisation and ReLU.

    `"transpose"` is the paper's fractionally strided 3×3 convolution;
    `"resize_conv"` is a nearest-neighbour resize followed by a 3×3
    convolution, which avoids checkerboard artefacts (Odena et al. 2016).

    Args:
        filters: int. Output channels.
        upsampling: `"transpose"` or `"resize_conv"`.
        normalization: `"batch"` or `"instance"`.
        padding: `"reflect"` or `"zero"` (for `"resize_conv"`).
    """

    def __init__(
        self,
        filters,
        upsampling="transpose",
        normalization="instance",
        padding="reflect",
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check_choice("upsampling", upsampling, UPSAMPLINGS)
        self.filters = filters
        self.upsampling = upsampling
        self.normalization = normalization
        self.padding = padding
        if upsampling == "transpose":
            self.resize = None
            self.conv = layers.Conv2DTranspose(
                filters,
                3,
                strides=2,
                padding="same",
                use_bias=False,
                dtype=self.dtype_policy,
                name="conv",
            )
            self.norm = make_normalization(
                normalization, self.dtype_policy, "norm"
            )
        else:
            self.resize = layers.UpSampling2D(
                2, interpolation="nearest", dtype=self.dtype_policy, name="resize"
            )
            self.conv = ConvBlock(
                filters,
                3,
                normalization=normalization,
                padding=padding,
                dtype=self.dtype_policy,
                name="conv",
            )
            self.norm = None

    def call(self, inputs, training=None):
        if self.resize is not None:
            return self.conv(self.resize(inputs), training=training)
        x = self.norm(self.conv(inputs), training=training)
        return ops.relu(x)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "upsampling": self.upsampling,
                "normalization": self.normalization,
                "padding": self.padding,
            }
        )
        return config
