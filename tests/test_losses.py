"""Loss functions against a direct numpy transcription of DESIGN.md."""

import numpy as np
import pytest
import tensorflow as tf

from dstyle_tf import losses


def np_gram(f):
    b, h, w, c = f.shape
    flat = f.reshape(b, h * w, c).astype(np.float64)
    return np.einsum("bnc,bnd->bcd", flat, flat) / (c * h * w)


def np_tv(x):
    x = x.astype(np.float64)
    dy = x[:, 1:] - x[:, :-1]
    dx = x[:, :, 1:] - x[:, :, :-1]
    return np.mean(0.5 * ((dy**2).sum(axis=(1, 2, 3)) + (dx**2).sum(axis=(1, 2, 3))))


@pytest.fixture(params=[np.float32, np.float16], ids=["float32", "float16"])
def dtype(request):
    return request.param


def _check(value, expected, dtype):
    assert value.dtype == tf.float32 and value.shape == ()
    rtol = 1e-5 if dtype == np.float32 else 2e-3
    np.testing.assert_allclose(float(value), expected, rtol=rtol)


def test_gram_matrix(rng, dtype):
    f = rng.uniform(0, 4, (2, 5, 7, 3)).astype(dtype)
    g = losses.gram_matrix(f)
    assert g.dtype == tf.float32 and g.shape == (2, 3, 3)
    np.testing.assert_allclose(g.numpy(), np_gram(f), rtol=1e-5)


def test_gram_of_large_float16_features_does_not_overflow():
    # 64×64×64 values of 30 would overflow a float16 sum (30²·4096 > 65504).
    f = np.full((1, 64, 64, 64), 30.0, np.float16)
    np.testing.assert_allclose(losses.gram_matrix(f).numpy(), 900.0 / 64, rtol=1e-6)


def test_content_loss(rng, dtype):
    a = rng.normal(0, 3, (2, 4, 6, 8)).astype(dtype)
    b = rng.normal(0, 3, (2, 4, 6, 8)).astype(dtype)
    expected = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    _check(losses.content_loss(a, b), expected, dtype)


def test_style_loss_sums_layers_and_broadcasts_target(rng, dtype):
    feats = [rng.uniform(0, 2, (3, 8, 8, 4)).astype(dtype), rng.uniform(0, 2, (3, 4, 4, 6)).astype(dtype)]
    style = [rng.uniform(0, 2, (1, 8, 8, 4)), rng.uniform(0, 2, (1, 4, 4, 6))]
    targets = [np_gram(s) for s in style]
    expected = sum(np.mean((np_gram(f) - t) ** 2) for f, t in zip(feats, targets))
    _check(losses.style_loss(feats, targets), expected, dtype)


def test_style_loss_is_zero_for_the_style_itself(rng):
    f = rng.uniform(0, 2, (1, 8, 8, 4)).astype(np.float32)
    assert float(losses.style_loss([f], [np_gram(f)])) == pytest.approx(0.0, abs=1e-9)


def test_style_loss_rejects_mismatched_layers(rng):
    with pytest.raises(ValueError, match="one target Gram per style layer"):
        losses.style_loss([np.zeros((1, 2, 2, 2))], [])


def test_depth_loss(rng, dtype):
    a = rng.normal(0, 5, (2, 9, 9, 1)).astype(dtype)
    b = rng.normal(0, 5, (2, 9, 9, 1)).astype(dtype)
    expected = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    _check(losses.depth_loss(a, b), expected, dtype)


def test_total_variation_loss(rng, dtype):
    x = rng.uniform(0, 255, (3, 6, 5, 3)).astype(dtype)
    rtol = 1e-5 if dtype == np.float32 else 2e-3
    value = losses.total_variation_loss(x)
    assert value.dtype == tf.float32
    np.testing.assert_allclose(float(value), np_tv(x), rtol=rtol)


def test_total_variation_of_constant_image_is_zero():
    assert float(losses.total_variation_loss(np.full((2, 8, 8, 3), 7.0))) == 0.0


def test_losses_are_differentiable():
    x = tf.Variable(tf.random.uniform((1, 8, 8, 3)))
    with tf.GradientTape() as tape:
        total = (
            losses.content_loss(x, tf.zeros_like(x))
            + losses.style_loss([x], [tf.zeros((1, 3, 3))])
            + losses.total_variation_loss(x)
            + losses.depth_loss(x[..., :1], tf.zeros((1, 8, 8, 1)))
        )
    grad = tape.gradient(total, x)
    assert grad is not None and np.all(np.isfinite(grad.numpy()))
    assert float(tf.reduce_max(tf.abs(grad))) > 0
