"""Building blocks of the image transformation network.

Each layer is small, serialisable and mixed-precision aware: sublayers are
created with `dtype=self.dtype_policy`, and normalisation statistics are taken
in float32 even when the compute dtype is float16.

The formulations are chosen for fast inference after TFLite conversion (all
measured at 512x512 with XNNPACK, 2 threads): mirror padding is built from
one-pixel slices and concatenations of at most 4 inputs, because TFLite's
MIRROR_PAD kernel is not delegated and is ~25x slower than the copy (80 ms vs
3 ms for a 512x512x32 tensor, twice the time of the 3x3 convolution that
follows), and XNNPACK leaves wider concatenations out; nearest upsampling and
the 3×3 convolution after it are one 2×2 convolution at the low resolution
(`upsample_conv`: 2.25× less arithmetic), then slices, a CONCATENATION and a
DEPTH_TO_SPACE, which XNNPACK runs (it does not take RESIZE_NEAREST_NEIGHBOR)
and which keep the channel count static for dynamic-size conversion; the 9×9
convolutions from and to RGB run on 2×2 pixel groups (`space_to_depth_conv`).
Every op of the converted network thus runs in one XNNPACK partition.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import layers
from keras import ops

from dstyle_tf.errors import check_choice
from dstyle_tf.models.instance_norm import ConditionalInstanceNormalization
from dstyle_tf.models.instance_norm import InstanceNormalization

NORMALIZATIONS = ("batch", "instance")
UPSAMPLINGS = ("transpose", "resize_conv")
PADDINGS = ("reflect", "zero")
# Residual block convolutions: full 3×3, or depthwise-separable (a depthwise
# 3×3 then a pointwise 1×1; Chollet 2017, Howard et al. 2017): about
# 1/9 + 1/C of the arithmetic for C channels.
RESIDUALS = ("standard", "depthwise")


def _index(x, axis, index):
    """x[..., index:index + 1, ...] along `axis`; `index` may be negative."""
    end = index + 1 if index != -1 else None
    return x[:, index:end] if axis == 1 else x[:, :, index:end]


def mirror_pad(x, before, after, axis, include_edge=False):
    """Mirrors `before`/`after` pixels onto one spatial axis (1 or 2).

    `include_edge=False` is "reflect" (d c b | a b c d | c b a),
    `include_edge=True` "symmetric" (c b a | a b c d | d c b). Built from
    one-pixel slices and one concatenation: TFLite's XNNPACK delegate and GPU
    delegate run these, and the static channel count survives dynamic sizes.
    Needs at least `max(before, after) + 1` pixels (`+ 0` for symmetric).
    """
    if not before and not after:
        return x
    offset = 0 if include_edge else 1
    head = [_index(x, axis, i + offset) for i in reversed(range(before))]
    tail = [_index(x, axis, -1 - offset - i) for i in range(after)]
    return concatenate(head + [x] + tail, axis=axis)


# XNNPACK's CONCATENATION takes at most this many inputs; a wider one (the
# 9-input padding of a 9×9 conv) runs outside the delegate and splits the
# graph into several partitions.
MAX_CONCAT_INPUTS = 4


def concatenate(tensors, axis):
    """`ops.concatenate` as a tree of concatenations of at most
    `MAX_CONCAT_INPUTS` tensors each (same result, every op delegable)."""
    tensors = list(tensors)
    while len(tensors) > MAX_CONCAT_INPUTS:
        groups = [tensors[i:i + MAX_CONCAT_INPUTS] for i in range(0, len(tensors), MAX_CONCAT_INPUTS)]
        tensors = [ops.concatenate(g, axis=axis) if len(g) > 1 else g[0] for g in groups]
    return ops.concatenate(tensors, axis=axis)


def blocked_kernel(kernel, block):
    """The kernel of a stride-1 conv, rewritten for space-to-depth inputs.

    `conv(space_to_depth(x, block), blocked_kernel(kernel, block))` followed by
    `depth_to_space(., block)` equals `conv(x, kernel)` ("valid" padding):
    output pixel (block·i + a, block·j + b) gathers input blocks i … i+kb-1.
    Built from pads, reshapes and a transpose, so it is differentiable and
    constant-folded when exported.
    """
    size, _, channels_in, channels_out = kernel.shape
    span = -(-(size + block - 1) // block)  # input blocks one output block sees
    parts = []
    for row in range(block):
        for col in range(block):
            shifted = ops.pad(
                kernel,
                [[row, span * block - size - row], [col, span * block - size - col],
                 [0, 0], [0, 0]],
            )
            shifted = ops.reshape(
                shifted, (span, block, span, block, channels_in, channels_out)
            )
            shifted = ops.transpose(shifted, (0, 2, 1, 3, 4, 5))
            parts.append(
                ops.reshape(shifted, (span, span, block * block * channels_in, channels_out))
            )
    return ops.concatenate(parts, axis=-1)


def space_to_depth_conv(x, kernel, bias, block):
    """`conv(x, kernel, "valid") + bias` computed on block×block pixel groups.

    For convolutions with few output channels (the 9×9 RGB output layer) the
    direct form leaves most of a SIMD register idle: XNNPACK runs the 32→3
    9×9 conv at ~30 GFLOP/s; on 4×4 groups (3×3 kernel, 512→48 channels) the
    same result takes ~2.5× less time. The padded input's height and width
    must be multiples of `block`.
    """
    kernel = ops.cast(blocked_kernel(kernel, block), x.dtype)
    y = ops.conv(tf.nn.space_to_depth(x, block), kernel, padding="valid")
    if bias is not None:
        y = y + ops.cast(ops.tile(bias, [block * block]), x.dtype)
    return tf.nn.depth_to_space(y, block)


# Which of a 3-tap kernel row's taps land on each of the two low-resolution
# taps, per output phase: phase 0 [K0, K1 + K2], phase 1 [K0 + K1, K2].
_PHASE_TAPS = np.array([[[1, 0, 0], [0, 1, 1]], [[1, 1, 0], [0, 0, 1]]], np.float32)


def upsampled_kernel(kernel):
    """The 3×3 kernel of a conv that follows ×2 nearest upsampling, as one
    2×2 kernel per output phase on the low-resolution input.

    Output row 2i + a of `conv3x3(upsample(x))` reads upsampled rows
    2i + a − 1 … 2i + a + 1, which are low-resolution rows i − 1, i, i (a = 0)
    or i, i, i + 1 (a = 1): taps that land on the same source row add up, so
    phase 0 is the 2-row kernel [K0, K1 + K2] over rows i − 1, i and phase 1
    [K0 + K1, K2] over rows i, i + 1; columns likewise. Returns
    (2, 2, C, 4·F), phase (a, b) in output group 2a + b (`depth_to_space`'s
    order).
    """
    _, _, channels_in, filters = kernel.shape
    taps = ops.cast(_PHASE_TAPS, kernel.dtype)
    # Rows first, then columns: each sum adds the same two taps as by hand
    # (the other products are exact zeros), in two ops instead of dozens.
    rows = ops.einsum("air,rscf->aiscf", taps, kernel)
    phases = ops.einsum("bjs,aiscf->ijcabf", taps, rows)
    return ops.reshape(phases, (2, 2, channels_in, 4 * filters))


def upsample_conv(x, kernel, bias=None, padding="reflect"):
    """`conv3x3(nearest ×2 resize of x)` with the border padded by 1 ("reflect"
    or "zero", as the conv would pad the upsampled image), computed at the
    low resolution: one 2×2 conv with 4·F outputs (`upsampled_kernel`), then
    each phase's window and depth-to-space. 16·C·F multiply-adds per input
    pixel instead of 36·C·F: 2.25× less arithmetic, same result.

    Reflect-padding the upsampled image by one pixel repeats its edge pixel,
    which is the low-resolution edge pixel: "symmetric" padding of x.
    """
    if padding == "zero":
        x = ops.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
    else:
        x = mirror_pad(mirror_pad(x, 1, 1, axis=1, include_edge=True), 1, 1, axis=2,
                       include_edge=True)
    filters = kernel.shape[-1]
    y = ops.conv(x, ops.cast(upsampled_kernel(kernel), x.dtype), padding="valid")
    if bias is not None:
        y = y + ops.cast(ops.tile(bias, [4]), x.dtype)
    # Phase 0 of an axis is the window without the last position, phase 1
    # the one without the first (static bounds keep the shape static).
    window = (slice(None, -1), slice(1, None))
    phases = [
        y[:, window[a], window[b], (2 * a + b) * filters:(2 * a + b + 1) * filters]
        for a in (0, 1) for b in (0, 1)
    ]
    return tf.nn.depth_to_space(ops.concatenate(phases, axis=-1), 2)


def build_on_first_call(layer):
    """Marks a layer of sublayers built; each sublayer builds on the first call.

    Without a `build` method Keras first runs `call` symbolically to find the
    sublayers' shapes: most of the time a TransformNet takes to build. Built on
    the first call instead, the sublayers create their weights in the same
    order, so a seed gives the same weights.
    """
    layer.built = True


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
        return mirror_pad(mirror_pad(inputs, p, p, axis=1), p, p, axis=2)

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


def apply_normalization(norm, x, training=None, statistics=None, style_weights=None):
    """Calls a normalisation layer; `statistics` only reaches instance norm,
    `style_weights` only conditional instance norm."""
    if isinstance(norm, ConditionalInstanceNormalization):
        return norm(x, style_weights, statistics=statistics)
    if statistics is not None and isinstance(norm, InstanceNormalization):
        return norm(x, statistics=statistics)
    return norm(x, training=training)


def replicas_in_sync():
    """Replicas of the distribution strategy in scope (1 outside any)."""
    return tf.distribute.get_strategy().num_replicas_in_sync


def make_normalization(normalization, dtype, name, num_styles=1):
    """A normalisation layer: `"batch"` or `"instance"`.

    With `num_styles` > 1 (instance norm only) the layer is a
    `ConditionalInstanceNormalization` with a scale and offset per style.

    Batch norm built under a strategy with several replicas (MirroredStrategy,
    MultiWorkerMirroredStrategy) takes its statistics over the global batch
    (`synchronized=True`: all-reduced sums), so each replica normalises like
    one device with the whole batch. With one replica it stays the plain
    layer, whose two-pass variance is the more accurate. Only the layer's
    weights are saved, so models load on any number of replicas.
    """
    check_choice("normalization", normalization, NORMALIZATIONS)
    if num_styles > 1:
        if normalization != "instance":
            raise ValueError(
                f"num_styles={num_styles} needs normalization='instance' (conditional "
                f"instance norm); got {normalization!r}."
            )
        return ConditionalInstanceNormalization(num_styles, dtype=dtype, name=name)
    if normalization == "batch":
        return layers.BatchNormalization(
            momentum=0.9,
            epsilon=1e-5,
            synchronized=replicas_in_sync() > 1,
            dtype=dtype,
            name=name,
        )
    return InstanceNormalization(dtype=dtype, name=name)


def check_activation_clip(activation_clip):
    """`activation_clip` as a float > 0, or None (unbounded; also for 0)."""
    if activation_clip is None or activation_clip == 0:
        return None
    if not isinstance(activation_clip, (int, float)) or activation_clip < 0:
        raise ValueError(f"activation_clip must be a number > 0 or None; got {activation_clip!r}.")
    return float(activation_clip)


def bound_activation(x, relu=True, clip=None):
    """ReLU (if `relu`) of a normalised tensor, capped at `clip`; without
    ReLU, `x` clipped to [−clip, clip]; `clip` None: unbounded.

    Bounded activations quantise well (Krishnamoorthi 2018; MobileNet's
    ReLU6): a per-tensor int8 scale is set by the largest value, and
    instance-normalised activations of trained networks reach 12–18 times
    their RMS, so most values fall on a few int8 steps. Capped at 6 (of
    unit-variance normalised values) the step shrinks as much. ReLU capped
    at 6 is `relu6`, which TFLite fuses into the op before it.
    """
    if clip is None:
        return ops.relu(x) if relu else x
    if relu:
        return ops.relu6(x) if clip == 6.0 else ops.clip(x, 0.0, clip)
    return ops.clip(x, -clip, clip)


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
        space_to_depth: int. If > 1 (stride 1 only), compute the convolution
            on groups of this many pixels squared (`space_to_depth_conv`):
            same result, much faster for few output channels. The padded
            input's sides must be multiples of it.
        num_styles: int. > 1: conditional instance norm with this many
            styles; `call` then needs `style_weights` (B, num_styles).
        separable: bool. Depthwise-separable convolution: a depthwise
            `kernel_size` convolution (`depthwise`, no bias) on the padded
            input, then a pointwise 1×1 convolution to `filters` (`conv`).
            Same padding and receptive field as the full convolution. In
            the config only when True.
        activation_clip: float or None. Bound the normalised output: ReLU
            capped at this value (ReLU6 at 6), or, without ReLU, clipped to
            ±this value (`bound_activation`). None: unbounded. In the config
            only when set.
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        normalization="instance",
        padding="reflect",
        activation=True,
        space_to_depth=1,
        num_styles=1,
        separable=False,
        activation_clip=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.activation_clip = check_activation_clip(activation_clip)
        check_choice("padding", padding, PADDINGS)
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.normalization = normalization
        self.padding = padding
        self.activation = activation
        self.num_styles = num_styles
        if space_to_depth > 1 and (strides != 1 or separable):
            raise ValueError("space_to_depth needs strides=1 and a full convolution.")
        self.space_to_depth = space_to_depth
        self.separable = bool(separable)
        half = kernel_size // 2
        self.pad = (
            ReflectionPadding2D(half, dtype=self.dtype_policy, name="pad")
            if padding == "reflect" and half > 0
            else None
        )
        conv_padding = "valid" if padding == "reflect" else "same"
        self.depthwise = None
        if self.separable:
            self.depthwise = layers.DepthwiseConv2D(
                kernel_size,
                strides=strides,
                padding=conv_padding,
                use_bias=False,
                dtype=self.dtype_policy,
                name="depthwise",
            )
            kernel_size, strides = 1, 1
        self.conv = layers.Conv2D(
            filters,
            kernel_size,
            strides=strides,
            padding=conv_padding,
            # The normalisation that follows has its own offset.
            use_bias=normalization is None,
            dtype=self.dtype_policy,
            name="conv",
        )
        self.norm = (
            make_normalization(normalization, self.dtype_policy, "norm", num_styles)
            if normalization
            else None
        )

    def build(self, input_shape):
        build_on_first_call(self)

    def call(self, inputs, training=None, statistics=None, style_weights=None,
             upsample=False):
        """`upsample=True`: nearest ×2 resize of `inputs` first (3×3 stride-1
        blocks; computed at the input's resolution, `upsample_conv`)."""
        x = self.upsample_convolve(inputs) if upsample else self.convolve(inputs)
        return self.activate(x, training, statistics, style_weights)

    def activate(self, x, training=None, statistics=None, style_weights=None):
        """Normalisation and ReLU (as configured) of the convolution's output."""
        if self.norm is not None:
            x = apply_normalization(self.norm, x, training, statistics, style_weights)
            return bound_activation(x, self.activation, self.activation_clip)
        return ops.relu(x) if self.activation else x

    def upsample_convolve(self, inputs):
        """`convolve(nearest ×2 resize of inputs)`, computed at the input's
        resolution (`upsample_conv`)."""
        if self.kernel_size != 3 or self.strides != 1 or self.separable or self.space_to_depth > 1:
            raise ValueError("upsample=True needs a plain 3×3 stride-1 convolution.")
        if not self.conv.built:
            self.conv.build(inputs.shape)
        if self.pad is not None and not self.pad.built:
            self.pad.build(inputs.shape)  # unused here; built, so Keras sees no unbuilt state
        return upsample_conv(inputs, self.conv.kernel, self.conv.bias, self.padding)

    def convolve(self, inputs):
        """The padding and convolution alone (what `call` normalises)."""
        x = self.pad(inputs) if self.pad is not None else inputs
        if self.space_to_depth > 1:
            if self.padding == "zero":
                half = self.kernel_size // 2
                x = ops.pad(x, [[0, 0], [half, half], [half, half], [0, 0]])
            if not self.conv.built:
                self.conv.build(x.shape)
            x = space_to_depth_conv(
                x, self.conv.kernel, self.conv.bias, self.space_to_depth
            )
        else:
            if self.depthwise is not None:
                x = self.depthwise(x)
            x = self.conv(x)
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
                "space_to_depth": self.space_to_depth,
                "num_styles": self.num_styles,
            }
        )
        if self.separable:  # Full-convolution configs stay as they were.
            config["separable"] = True
        if self.activation_clip is not None:
            config["activation_clip"] = self.activation_clip
        return config


@keras.saving.register_keras_serializable(package="dstyle_tf")
class ResidualBlock(layers.Layer):
    """Two 3×3 conv blocks and an identity shortcut (Johnson et al. 2016).

    Args:
        filters: int. Channels in and out.
        normalization: `"batch"` or `"instance"`.
        padding: `"reflect"` or `"zero"`.
        num_styles: int. > 1: conditional instance norm (see `ConvBlock`).
        residual: `"standard"` (full 3×3 convolutions) or `"depthwise"`
            (depthwise-separable ones, `ConvBlock(separable=True)`; each
            still followed by its normalisation). In the config only when
            not `"standard"`.
        activation_clip: float or None: bounded activations (`ConvBlock`).
            In the config only when set.
    """

    def __init__(
        self, filters, normalization="instance", padding="reflect", num_styles=1,
        residual="standard", activation_clip=None, **kwargs
    ):
        super().__init__(**kwargs)
        check_choice("residual", residual, RESIDUALS)
        self.activation_clip = check_activation_clip(activation_clip)
        self.filters = filters
        self.normalization = normalization
        self.padding = padding
        self.num_styles = num_styles
        self.residual = residual
        common = dict(
            normalization=normalization, padding=padding, num_styles=num_styles,
            dtype=self.dtype_policy,
        )
        if residual == "depthwise":
            common["separable"] = True
        if self.activation_clip is not None:
            common["activation_clip"] = self.activation_clip
        self.block1 = ConvBlock(filters, 3, name="block1", **common)
        # The branch's output stays unbounded: its ±clip would be MINIMUM
        # and MAXIMUM ops, which XNNPACK does not run in int8.
        common.pop("activation_clip", None)
        self.block2 = ConvBlock(
            filters, 3, activation=False, name="block2", **common
        )

    def build(self, input_shape):
        build_on_first_call(self)

    def call(self, inputs, training=None, statistics=None, style_weights=None):
        kwargs = dict(training=training, statistics=statistics, style_weights=style_weights)
        x = self.block1(inputs, **kwargs)
        x = self.block2(x, **kwargs)
        return inputs + x

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "normalization": self.normalization,
                "padding": self.padding,
                "num_styles": self.num_styles,
            }
        )
        if self.residual != "standard":
            config["residual"] = self.residual
        if self.activation_clip is not None:
            config["activation_clip"] = self.activation_clip
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
        num_styles: int. > 1: conditional instance norm (see `ConvBlock`).
        activation_clip: float or None: bounded activations (`ConvBlock`).
            In the config only when set.
    """

    def __init__(
        self,
        filters,
        upsampling="transpose",
        normalization="instance",
        padding="reflect",
        num_styles=1,
        activation_clip=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_choice("upsampling", upsampling, UPSAMPLINGS)
        self.activation_clip = check_activation_clip(activation_clip)
        self.filters = filters
        self.upsampling = upsampling
        self.normalization = normalization
        self.padding = padding
        self.num_styles = num_styles
        if upsampling == "transpose":
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
                normalization, self.dtype_policy, "norm", num_styles
            )
        else:
            self.conv = ConvBlock(
                filters,
                3,
                normalization=normalization,
                padding=padding,
                num_styles=num_styles,
                activation_clip=self.activation_clip,
                dtype=self.dtype_policy,
                name="conv",
            )
            self.norm = None

    def build(self, input_shape):
        build_on_first_call(self)

    def call(self, inputs, training=None, statistics=None, style_weights=None):
        if self.upsampling == "resize_conv":
            return self.conv(inputs, training=training, statistics=statistics,
                             style_weights=style_weights, upsample=True)
        x = apply_normalization(
            self.norm, self.conv(inputs), training, statistics, style_weights
        )
        return bound_activation(x, clip=self.activation_clip)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "upsampling": self.upsampling,
                "normalization": self.normalization,
                "padding": self.padding,
                "num_styles": self.num_styles,
            }
        )
        if self.activation_clip is not None:
            config["activation_clip"] = self.activation_clip
        return config
