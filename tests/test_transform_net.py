"""TransformNet: sizes, options, serialisation, mixed precision."""

import itertools

import keras
import numpy as np
import pytest

from dstyle_tf.models import TransformNet

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
