"""TransformNet: sizes, options, serialisation, mixed precision."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from dstyle_tf.models import TransformNet
from dstyle_tf.models import layers

OPTIONS = list(
    itertools.product(("batch", "instance"), ("transpose", "resize_conv"), ("reflect", "zero"))
)


def tiny(**kwargs):
    return TransformNet(filters=4, num_residual_blocks=1, **kwargs)


@pytest.mark.parametrize("normalization,upsampling,padding", OPTIONS)
@pytest.mark.parametrize("size", [(16, 16), (17, 23), (9, 30)])
def test_any_size_in_same_size_out(normalization, upsampling, padding, size, rng):
    net = tiny(normalization=normalization, upsampling=upsampling, padding=padding)
    x = rng.uniform(0, 255, (2, *size, 3)).astype("float32")
    y = net(x).numpy()
    assert y.shape == x.shape and y.dtype == np.float32
    assert y.min() >= 0.0 and y.max() <= 255.0


def test_paper_architecture_layout():
    net = TransformNet(normalization="batch", upsampling="transpose")
    net.build()
    conv_types = (keras.layers.Conv2D, keras.layers.Conv2DTranspose)
    convs = [l for l in net._flatten_layers() if isinstance(l, conv_types)]
    kernels = [(c.kernel_size[0], c.strides[0], c.filters) for c in convs]
    # c9s1-32, d64, d128, 5×R128 (two convs each), u64, u32, c9s1-3.
    expected = [(9, 1, 32), (3, 2, 64), (3, 2, 128)] + [(3, 1, 128)] * 10
    expected += [(3, 2, 64), (3, 2, 32), (9, 1, 3)]
    assert kernels == expected
    assert any(isinstance(l, keras.layers.Conv2DTranspose) for l in convs)


def test_invalid_options_are_rejected():
    with pytest.raises(ValueError, match="normalization must be one of"):
        tiny(normalization="layer")
    with pytest.raises(ValueError, match="upsampling must be one of"):
        tiny(upsampling="bilinear")
    with pytest.raises(ValueError, match="padding must be one of"):
        tiny(padding="wrap")


def test_config_round_trip():
    net = tiny(normalization="batch", upsampling="transpose", padding="zero")
    clone = TransformNet.from_config(net.get_config())
    for key in ("filters", "num_residual_blocks", "normalization", "upsampling", "padding"):
        assert getattr(clone, key) == getattr(net, key)


@pytest.mark.parametrize("normalization", ["batch", "instance"])
def test_keras_save_and_load(tmp_path, rng, normalization):
    net = tiny(normalization=normalization)
    x = rng.uniform(0, 255, (1, 21, 19, 3)).astype("float32")
    # One training call so batch-norm statistics are not the defaults.
    net(x, training=True)
    path = str(tmp_path / "net.keras")
    net.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, TransformNet)
    np.testing.assert_allclose(loaded(x).numpy(), net(x).numpy(), atol=1e-4)


def test_mixed_precision_computes_in_float16_outputs_float32(rng):
    keras.config.set_dtype_policy("mixed_float16")
    net = tiny()
    y = net(rng.uniform(0, 255, (1, 16, 16, 3)).astype("float32"))
    assert y.dtype == "float32"
    assert net.encoder[0].conv.compute_dtype == "float16"
    assert all(v.dtype == "float32" for v in net.trainable_variables)


def test_instance_norm_is_per_image():
    net = tiny(normalization="instance")
    a = np.random.default_rng(1).uniform(0, 255, (1, 16, 16, 3)).astype("float32")
    b = np.zeros_like(a)
    alone = net(a).numpy()
    together = net(np.concatenate([a, b])).numpy()[:1]
    np.testing.assert_allclose(alone, together, atol=1e-3)


# Inference-friendly formulations must compute exactly what the textbook ops do.


@pytest.mark.parametrize("before, after, edge", [(1, 1, False), (4, 4, False), (0, 3, True), (0, 2, True)])
@pytest.mark.parametrize("axis", [1, 2])
def test_mirror_pad_matches_numpy(before, after, edge, axis, rng):
    x = rng.normal(size=(2, 9, 7, 3)).astype("float32")
    widths = [(0, 0)] * 4
    widths[axis] = (before, after)
    expected = np.pad(x, widths, mode="symmetric" if edge else "reflect")

    np.testing.assert_array_equal(layers.mirror_pad(x, before, after, axis, edge).numpy(), expected)
    # The same with unknown sizes inside a graph.
    dynamic = tf.function(
        lambda t: layers.mirror_pad(t, before, after, axis, edge),
        input_signature=[tf.TensorSpec([None, None, None, 3])],
    )
    np.testing.assert_array_equal(dynamic(x).numpy(), expected)


@pytest.mark.parametrize("count", [1, 4, 5, 9, 17])
def test_concatenate_is_a_tree_of_narrow_concatenations(count, rng):
    parts = [rng.normal(size=(1, 2, i + 1, 3)).astype("float32") for i in range(count)]
    graph = tf.function(lambda *xs: layers.concatenate(xs, axis=2)).get_concrete_function(
        *[tf.TensorSpec(x.shape) for x in parts]
    ).graph
    widths = [len(op.inputs) - 1 for op in graph.get_operations() if op.type == "ConcatV2"]

    np.testing.assert_array_equal(layers.concatenate(parts, axis=2).numpy(), np.concatenate(parts, 2))
    assert all(width <= layers.MAX_CONCAT_INPUTS for width in widths)


def _numpy_upsample_conv(x, kernel, bias, padding):
    """Reference: nearest ×2 resize, pad by 1, "valid" 3×3 conv, in numpy."""
    up = x.repeat(2, axis=1).repeat(2, axis=2)
    mode = "reflect" if padding == "reflect" else "constant"
    up = np.pad(up, [(0, 0), (1, 1), (1, 1), (0, 0)], mode=mode)
    height, width = up.shape[1] - 2, up.shape[2] - 2
    out = np.zeros(up.shape[:1] + (height, width, kernel.shape[-1]), np.float64)
    for dy in range(3):
        for dx in range(3):
            out += up[:, dy:dy + height, dx:dx + width] @ kernel[dy, dx]
    return out + (0 if bias is None else bias)


@pytest.mark.parametrize("padding", ["reflect", "zero"])
@pytest.mark.parametrize("size", [(5, 3), (1, 4), (6, 7)])
def test_upsample_conv_equals_resize_then_conv(padding, size, rng):
    x = rng.normal(size=(2, *size, 4)).astype("float32")
    kernel = rng.normal(size=(3, 3, 4, 5)).astype("float32")
    bias = rng.normal(size=(5,)).astype("float32")
    expected = _numpy_upsample_conv(x, kernel, bias, padding)

    np.testing.assert_allclose(
        layers.upsample_conv(x, kernel, bias, padding).numpy(), expected, atol=1e-4)
    dynamic = tf.function(
        lambda t: layers.upsample_conv(t, kernel, None, padding),
        input_signature=[tf.TensorSpec([None, None, None, 4])])
    assert dynamic.get_concrete_function().structured_outputs.shape[-1] == 5
    np.testing.assert_allclose(
        dynamic(x).numpy(), expected - bias, atol=1e-4)


def test_upsample_conv_gradients_equal_resize_then_conv(rng):
    x = tf.constant(rng.normal(size=(1, 4, 6, 3)).astype("float32"))
    kernel = tf.Variable(rng.normal(size=(3, 3, 3, 2)).astype("float32"))

    def direct(t):
        up = tf.repeat(tf.repeat(t, 2, axis=1), 2, axis=2)
        up = layers.mirror_pad(layers.mirror_pad(up, 1, 1, axis=1), 1, 1, axis=2)
        return tf.nn.conv2d(up, kernel, 1, "VALID")

    grads = []
    for fn in (direct, lambda t: layers.upsample_conv(t, kernel)):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(fn(x) ** 2)
        grads.append([g.numpy() for g in tape.gradient(loss, [x, kernel])])
    for fast, slow in zip(grads[1], grads[0]):
        np.testing.assert_allclose(fast, slow, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("kernel_size, block, channels_out", [(9, 2, 3), (9, 4, 3), (3, 2, 5), (5, 4, 2)])
def test_space_to_depth_conv_equals_direct_conv(kernel_size, block, channels_out, rng):
    x = rng.normal(size=(2, 8 + kernel_size - 1, 12 + kernel_size - 1, 6)).astype("float32")
    kernel = rng.normal(size=(kernel_size, kernel_size, 6, channels_out)).astype("float32")
    bias = rng.normal(size=(channels_out,)).astype("float32")
    x = x[:, : x.shape[1] // block * block, : x.shape[2] // block * block]

    direct = tf.nn.conv2d(x, kernel, 1, "VALID") + bias
    blocked = layers.space_to_depth_conv(x, kernel, bias, block)

    np.testing.assert_allclose(blocked.numpy(), direct.numpy(), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("normalization,upsampling,padding", OPTIONS)
def test_dynamic_and_static_shapes_agree(normalization, upsampling, padding, rng):
    # Static sizes take the static padding path (none at all for multiples of
    # 4), unknown sizes the sliced one; both equal the eager result.
    net = tiny(normalization=normalization, upsampling=upsampling, padding=padding)
    dynamic = tf.function(
        lambda t: net(t, training=False), input_signature=[tf.TensorSpec([None, None, None, 3])]
    )
    for size in [(16, 16), (19, 22), (13, 17)]:
        x = rng.uniform(0, 255, (1, *size, 3)).astype("float32")
        np.testing.assert_allclose(dynamic(x).numpy(), net(x).numpy(), atol=1e-3)


# Depthwise-separable residual blocks (the lite network).


@pytest.mark.parametrize("padding", ["reflect", "zero"])
def test_separable_conv_block_matches_numpy(padding, rng):
    x = rng.normal(size=(2, 7, 9, 4)).astype("float32")
    block = layers.ConvBlock(6, 3, normalization=None, activation=False, padding=padding,
                             separable=True)
    block(x)
    depthwise = rng.normal(size=(3, 3, 4, 1)).astype("float32")
    pointwise = rng.normal(size=(1, 1, 4, 6)).astype("float32")
    bias = rng.normal(size=(6,)).astype("float32")
    block.depthwise.kernel.assign(depthwise)
    block.conv.kernel.assign(pointwise)
    block.conv.bias.assign(bias)

    mode = "reflect" if padding == "reflect" else "constant"
    padded = np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)], mode=mode)
    spatial = np.zeros_like(x)
    for i in range(3):
        for j in range(3):
            spatial += padded[:, i:i + 7, j:j + 9, :] * depthwise[i, j, :, 0]
    expected = spatial @ pointwise[0, 0] + bias

    np.testing.assert_allclose(block(x).numpy(), expected, rtol=1e-5, atol=1e-4)


def test_depthwise_residual_layout_and_cost():
    net = TransformNet(filters=8, num_residual_blocks=2, residual="depthwise")
    net.build()
    for block in net.residuals:
        for conv_block in (block.block1, block.block2):
            assert conv_block.depthwise.kernel.shape == (3, 3, 32, 1)
            assert conv_block.conv.kernel.shape == (1, 1, 32, 32)
            assert conv_block.norm is not None
    standard = TransformNet(filters=8, num_residual_blocks=2)
    standard.build()
    # Per conv 9·32 + 32·32 weights instead of 9·32·32: 4 convs.
    saved = 4 * (9 * 32 * 32 - (9 * 32 + 32 * 32))
    assert standard.count_params() - net.count_params() == saved


def test_residual_option_enters_the_config_only_when_not_standard(tmp_path, rng):
    assert "residual" not in tiny().get_config()
    assert "residual" not in tiny().residuals[0].get_config()
    net = tiny(residual="depthwise", normalization="instance")
    assert net.get_config()["residual"] == "depthwise"
    x = rng.uniform(0, 255, (1, 21, 19, 3)).astype("float32")
    expected = net(x).numpy()
    path = str(tmp_path / "lite.keras")
    net.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.residual == "depthwise"
    assert loaded.residuals[0].block1.separable
    np.testing.assert_allclose(loaded(x).numpy(), expected, atol=1e-4)
    with pytest.raises(ValueError, match="residual must be one of"):
        tiny(residual="grouped")


@pytest.mark.parametrize("normalization,upsampling,padding", OPTIONS[::3])
def test_depthwise_network_any_size_static_and_dynamic(normalization, upsampling, padding, rng):
    net = tiny(normalization=normalization, upsampling=upsampling, padding=padding,
               residual="depthwise")
    dynamic = tf.function(
        lambda t: net(t, training=False), input_signature=[tf.TensorSpec([None, None, None, 3])]
    )
    for size in [(16, 16), (17, 23)]:
        x = rng.uniform(0, 255, (1, *size, 3)).astype("float32")
        y = net(x, training=False).numpy()
        assert y.shape == x.shape and 0.0 <= y.min() and y.max() <= 255.0
        np.testing.assert_allclose(dynamic(x).numpy(), y, atol=1e-3)


def test_depthwise_multi_style_network_uses_conditional_norm(rng):
    from dstyle_tf.models.instance_norm import ConditionalInstanceNormalization

    net = tiny(residual="depthwise", num_styles=2)
    x = rng.uniform(0, 255, (1, 16, 16, 3)).astype("float32")
    a = net(x, style_weights=[[1.0, 0.0]]).numpy()
    assert isinstance(net.residuals[0].block1.norm, ConditionalInstanceNormalization)
    norm = net.residuals[0].block2.norm
    norm.gamma.assign(norm.gamma.numpy() * [[1.0], [3.0]])
    b = net(x, style_weights=[[0.0, 1.0]]).numpy()
    assert np.abs(a - b).max() > 1e-3
    np.testing.assert_allclose(net(x, style_weights=[[1.0, 0.0]]).numpy(), a, atol=1e-5)


@pytest.mark.parametrize("options", [
    {}, {"normalization": "batch", "upsampling": "transpose", "residual": "depthwise"},
    {"num_styles": 2},
])
def test_build_runs_each_block_once(monkeypatch, options):
    """The blocks build their sublayers on the first call; Keras does not trace
    them symbolically before (that took most of a network's build time)."""
    import functools

    calls = {}
    for block in (layers.ConvBlock, layers.ResidualBlock, layers.UpsampleBlock):
        original = block.call

        @functools.wraps(original)
        def counted(self, *args, _original=original, **kwargs):
            calls[id(self)] = calls.get(id(self), 0) + 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(block, "call", counted)
    net = tiny(**options)
    net.build()
    blocks = [layer for layer in net._flatten_layers()
              if isinstance(layer, (layers.ConvBlock, layers.ResidualBlock, layers.UpsampleBlock))]
    assert blocks and {calls.get(id(block)) for block in blocks} == {1}
    assert all(layer.built for layer in net._flatten_layers())
