"""Stability term: perturbations with known motion, undone exactly; the trainer term."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dstyle_tf import losses
from dstyle_tf import stability
from dstyle_tf.data import synthetic_images
from dstyle_tf.models import TransformNet
from dstyle_tf.training.trainer import StyleTransferTrainer
from dstyle_tf.training.trainer import make_optimizer


def test_translate_moves_content_by_the_shift(rng):
    x = rng.uniform(0, 255, (2, 20, 24, 3)).astype(np.float32)
    moved = stability.translate(x, tf.constant([1, -2]), 3).numpy()
    # out[y, x] = in[y − 1, x + 2] wherever both exist.
    np.testing.assert_array_equal(moved[:, 1:, :-2], x[:, :-1, 2:])
    back = stability.translate(moved, tf.constant([-1, 2]), 3).numpy()
    np.testing.assert_array_equal(back[:, 3:-3, 3:-3], x[:, 3:-3, 3:-3])


def test_perturbation_is_seeded_bounded_and_noisy(rng):
    x = np.full((1, 16, 16, 3), 100.0, np.float32)
    a, shift_a = stability.perturb(x, tf.constant([5, 1]), max_shift=2, noise_std=4.0)
    b, shift_b = stability.perturb(x, tf.constant([5, 1]), max_shift=2, noise_std=4.0)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(shift_a, shift_b)
    shifts = {tuple(stability.random_shift(tf.constant([s, 0]), 2).numpy()) for s in range(60)}
    assert all(-2 <= v <= 2 for pair in shifts for v in pair) and len(shifts) > 10
    assert 3.0 < float(tf.math.reduce_std(a)) < 5.0  # the noise, on a flat image


def test_an_equivariant_network_is_perfectly_stable(rng):
    """A pixelwise map commutes with translation: zero loss without noise."""
    x = rng.uniform(0, 255, (2, 24, 24, 3)).astype(np.float32)
    f = lambda images: 255.0 - tf.convert_to_tensor(images)  # noqa: E731
    perturbed, shift = stability.perturb(x, tf.constant([3, 4]), max_shift=3, noise_std=0.0)
    value = losses.stability_loss(*stability.aligned_interior(f(x), f(perturbed), shift, 3))
    assert float(value) == pytest.approx(0.0, abs=1e-6)
    # Noise of std σ through that map gives ≈ σ² (the floor of a flicker metric).
    noisy, shift = stability.perturb(x, tf.constant([3, 4]), max_shift=3, noise_std=4.0)
    value = losses.stability_loss(*stability.aligned_interior(f(x), f(noisy), shift, 3))
    assert 12.0 < float(value) < 20.0


def test_trainer_stability_term_trains_and_joins_the_loss(vgg):
    keras.utils.set_random_seed(3)
    trainer = StyleTransferTrainer(
        transform_net=TransformNet(filters=8, num_residual_blocks=1),
        vgg=vgg, style_image=synthetic_images(1, 32, seed=5)[0], depth_weight=0.0,
        content_weight=1.0, style_weight=1.0, stability_weight=2.0, tv_weight=0.0,
    )
    trainer.compile(optimizer=make_optimizer(1e-2, "float32"))
    images = tf.constant(synthetic_images(2, 32, seed=1))
    terms = trainer.compute_losses(images, trainer(images))
    assert float(terms["stability_loss"]) > 0
    np.testing.assert_allclose(
        terms["loss"],
        terms["content_loss"] + terms["style_loss"] + 2.0 * terms["stability_loss"], rtol=1e-5,
    )
    assert "stability_loss" in trainer.gradient_norms(images)
    history = trainer.fit(
        tf.data.Dataset.from_tensors(images).repeat(), steps_per_epoch=3, verbose=0, shuffle=False
    )
    assert np.isfinite(history.history["stability_loss"][-1])
