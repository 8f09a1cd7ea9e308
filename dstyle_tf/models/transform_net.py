"""The image transformation network f_W of Johnson et al. 2016."""

import keras
from keras import layers
from keras import ops

from dstyle_tf.errors import check_choice
from dstyle_tf.models.layers import PADDINGS
from dstyle_tf.models.layers import RESIDUALS
from dstyle_tf.models.layers import ConvBlock
from dstyle_tf.models.layers import ResidualBlock
from dstyle_tf.models.layers import UpsampleBlock
from dstyle_tf.models.layers import check_activation_clip
from dstyle_tf.models.layers import mirror_pad

# Two stride-2 convolutions: inputs are padded to a multiple of this.
_STRIDE = 4
# The 9×9 convolutions from and to RGB run on 2×2 pixel groups (see
# `space_to_depth_conv`): 3 input or output channels leave most of a SIMD
# register idle. XNNPACK, 512², 1 thread: the output conv took 121 ms
# direct, ~45 ms on groups.
_RGB_BLOCK = 2


def receptive_radius(num_residual_blocks=5):
    """How far (in input pixels, on any side) an output pixel of a
    `TransformNet` looks: tiles given this much context reproduce a one-pass
    run (with image-wide normalisation statistics).

    Each convolution adds its half-kernel times its input's scale (pixels
    per activation); a stride-2 convolution also adds its input's scale,
    because its output pixel covers two input positions and the kernel is
    centred on the first. c9s1: 4, d1: 1 + 1, d2: 2 + 2, each residual block
    2·4, u1: 2, u2: 1, output 9×9: 4 — 17 + 8 per residual block (57 for the
    paper's 5 blocks). Depthwise-separable residual blocks reach as far (the
    depthwise 3×3 has the full convolution's footprint, the 1×1 adds
    nothing). Measured with gradients, both upsamplings reach this exactly
    on one side (tests/test_tiling.py).
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


def default_style_names(num_styles):
    """`["style"]` for one style, `["style_0", "style_1", ...]` for several."""
    if num_styles == 1:
        return ["style"]
    return [f"style_{index}" for index in range(num_styles)]


def check_style_names(style_names, num_styles):
    """The style names as a list (defaults for None); ValueError if unusable."""
    if num_styles < 1:
        raise ValueError(f"num_styles must be >= 1; got {num_styles}.")
    if style_names is None:
        return default_style_names(num_styles)
    if isinstance(style_names, str):
        raise ValueError(f"style_names must be a list of names; got {style_names!r}.")
    names = list(style_names)
    if len(names) != num_styles:
        raise ValueError(
            f"style_names has {len(names)} names for {num_styles} styles: {names}."
        )
    for name in names:
        if not isinstance(name, str) or not name.strip() or "," in name or ":" in name:
            raise ValueError(
                f"Invalid style name {name!r}: use non-empty text without ',' or ':'."
            )
    if len(set(names)) != len(names):
        raise ValueError(f"style_names must be unique; got {names}.")
    return names


def rebuilt(net, **overrides):
    """A new network of `net`'s class, built from its config updated with
    `overrides` (e.g. `dtype`, `activation_clip`), holding its weights."""
    copy = net.__class__.from_config({**net.get_config(), **overrides})
    copy.build()
    copy.set_weights(net.get_weights())
    return copy


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
        num_styles: int. Styles the network holds. With more than one
            (instance norm only), every instance norm is conditional
            (Dumoulin, Shlens & Kudlur 2017, ICLR): it has a scale and
            offset per style, and the network takes style weights.
        style_names: the styles' names, in order (one per style; non-empty,
            unique, without "," or ":"). Default `["style"]` for one style,
            `["style_0", ...]` for several.
        residual: `"standard"` (paper: full 3×3 convolutions) or
            `"depthwise"`: the residual blocks' convolutions are
            depthwise-separable (depthwise 3×3 + pointwise 1×1, each pair
            still normalised, conditionally for several styles), about
            1/9 + 1/(4·filters) of their arithmetic — the cheap "lite"
            network of `configs/lite.py`. In the config only when not
            `"standard"`.
        activation_clip: float or None. Bounded activations for int8
            export: every ReLU of a normalised activation capped at this
            value (ReLU6 at 6), so that one int8 scale per tensor covers it
            finely (`layers.bound_activation`; the residual branches' sums
            stay unbounded).
            None (default): unbounded, as the paper. In the config only
            when set.
        **kwargs: passed to `keras.Model` (`name`, `dtype`, ...).

    Inputs are float (B, H, W, 3) RGB in [0, 255]; outputs float32 of the
    same shape in [0, 255]. A multi-style network is called as
    `net(images, style_weights=w)` or `net([images, w])`, with `w` float
    (B, num_styles): each image's normalisation uses γ = Σ_s w_s γ_s and
    β = Σ_s w_s β_s, so a one-hot row picks a style and non-negative
    weights summing to 1 blend styles (the network does not renormalise
    them). A single-style network takes no style weights, and its config,
    weights and `.keras` files are those of the networks before styles
    existed (`num_styles` and `style_names` enter the config only when they
    differ from the single-style defaults).

    Example:
    ```python
    net = TransformNet(normalization="instance", upsampling="resize_conv")
    stylized = net(np.random.uniform(0, 255, (1, 97, 131, 3)))  # (1, 97, 131, 3)

    multi = TransformNet(num_styles=3, style_names=["wave", "scream", "starry"])
    blend = multi(images, style_weights=[[0.5, 0.5, 0.0]])  # half wave, half scream

    lite = TransformNet(filters=16, num_residual_blocks=3, residual="depthwise")
    ```
    """

    def __init__(
        self,
        filters=32,
        num_residual_blocks=5,
        normalization="instance",
        upsampling="resize_conv",
        padding="reflect",
        num_styles=1,
        style_names=None,
        residual="standard",
        activation_clip=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_choice("padding", padding, PADDINGS)
        self.activation_clip = check_activation_clip(activation_clip)
        check_choice("residual", residual, RESIDUALS)
        if filters < 1 or num_residual_blocks < 0:
            raise ValueError(
                "filters must be >= 1 and num_residual_blocks >= 0; got "
                f"{filters} and {num_residual_blocks}."
            )
        self.num_styles = int(num_styles)
        self.style_names = check_style_names(style_names, self.num_styles)
        self.filters = filters
        self.num_residual_blocks = num_residual_blocks
        self.normalization = normalization
        self.upsampling = upsampling
        self.padding = padding
        self.residual = residual

        dtype = self.dtype_policy
        common = dict(normalization=normalization, padding=padding, dtype=dtype)
        if self.num_styles > 1:  # Single-style blocks keep their old config.
            common["num_styles"] = self.num_styles
        if self.activation_clip is not None:
            common["activation_clip"] = self.activation_clip
        self.encoder = [
            ConvBlock(filters, 9, space_to_depth=_RGB_BLOCK, name="c9s1", **common),
            ConvBlock(2 * filters, 3, strides=2, name="d1", **common),
            ConvBlock(4 * filters, 3, strides=2, name="d2", **common),
        ]
        self.residuals = [
            ResidualBlock(4 * filters, residual=residual, name=f"res{i + 1}", **common)
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
            space_to_depth=_RGB_BLOCK,
            dtype=dtype,
            name="c9s1_out",
        )
        # The output stays float32 under mixed precision (Keras guide).
        self.output_activation = layers.Activation(
            "tanh", dtype="float32", name="tanh"
        )

    def build(self, input_shape=(None, None, None, 3)):
        # Build on a small static shape; the layers are size agnostic.
        weights = None
        if self.num_styles > 1:
            weights = ops.one_hot(ops.zeros((1,), "int32"), self.num_styles)
        self.call(ops.zeros((1, 16, 16, 3)), style_weights=weights)
        self.built = True

    def call(self, inputs, style_weights=None, training=None, statistics=None):
        """Stylises float (B, H, W, 3) images in [0, 255].

        Args:
            inputs: the images, or `[images, style_weights]`.
            style_weights: float (B, num_styles), for multi-style networks
                only (required there): each image's mix of styles.
            training: batch norm mode.
            statistics: optional `InstanceNormStatistics` (eager only): use
                the whole image's instance-norm statistics for a tile, and/or
                record this input's. See `dstyle_tf.tiling`.
        """
        if isinstance(inputs, (list, tuple)):
            inputs, style_weights = inputs
        style_weights = self._check_style_weights(style_weights)
        x = ops.cast(inputs, self.compute_dtype)
        height, width = ops.shape(x)[1], ops.shape(x)[2]
        x = _pad_to_multiple(x, height, width)
        x = x / 127.5 - 1.0
        kwargs = dict(training=training, statistics=statistics)
        if style_weights is not None:
            kwargs["style_weights"] = style_weights
        for block in self.encoder + self.residuals + self.decoder:
            x = block(x, **kwargs)
        x = self.output_conv(x, training=training)
        x = 127.5 * (self.output_activation(x) + 1.0)
        if isinstance(height, int) and isinstance(width, int):
            if height % _STRIDE == 0 and width % _STRIDE == 0:
                return x  # static shape, nothing was padded
        return x[:, :height, :width, :]

    def _check_style_weights(self, style_weights):
        """float32 (B, num_styles) weights, or None for a single-style net."""
        if self.num_styles == 1:
            if style_weights is not None:
                raise ValueError(
                    "This network holds one style: it takes no style_weights."
                )
            return None
        if style_weights is None:
            raise ValueError(
                f"This network holds {self.num_styles} styles "
                f"({', '.join(self.style_names)}): pass style_weights of shape "
                f"(batch, {self.num_styles})."
            )
        style_weights = ops.cast(style_weights, "float32")
        if len(style_weights.shape) != 2 or style_weights.shape[-1] not in (
            None, self.num_styles
        ):
            raise ValueError(
                f"style_weights must have shape (batch, {self.num_styles}); "
                f"got {tuple(style_weights.shape)}."
            )
        return style_weights

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list) and len(input_shape) == 2:
            input_shape = input_shape[0]  # [images, style_weights]
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
        # Omitted at the single-style defaults: such configs (and .keras
        # files) stay exactly those of networks from before styles existed.
        if self.num_styles > 1 or self.style_names != default_style_names(1):
            config.update(
                {"num_styles": self.num_styles, "style_names": list(self.style_names)}
            )
        if self.residual != "standard":
            config["residual"] = self.residual
        if self.activation_clip is not None:
            config["activation_clip"] = self.activation_clip
        return config
