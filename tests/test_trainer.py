"""StyleTransferTrainer: the custom train_step, losses, mixed precision."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dstyle_tf import losses
from dstyle_tf.data import synthetic_images
from dstyle_tf.models import TransformNet
from dstyle_tf.training.trainer import LOSS_NAMES
from dstyle_tf.training.trainer import StyleTransferTrainer
from dstyle_tf.training.trainer import make_optimizer


def make_trainer(vgg, depth_net=None, depth_weight=0.0, policy="float32", **kwargs):
    keras.utils.set_random_seed(1)
    trainer = StyleTransferTrainer(
        transform_net=TransformNet(filters=8, num_residual_blocks=1),
        vgg=vgg,
        style_image=synthetic_images(1, 32, seed=5)[0],
        depth_net=depth_net,
        depth_weight=depth_weight,
        **kwargs,
    )
    trainer.compile(optimizer=make_optimizer(1e-2, policy))
    return trainer


def test_style_grams_are_computed_once(vgg):
    trainer = make_trainer(vgg)
    style = synthetic_images(1, 32, seed=5)
    features = vgg(style)
    assert len(trainer.style_grams) == 4
    for gram, name in zip(trainer.style_grams, trainer.style_layers):
        assert isinstance(gram, tf.Tensor) and not isinstance(gram, tf.Variable)
        np.testing.assert_allclose(gram, losses.gram_matrix(features[name]), rtol=1e-5)


def test_loss_terms_combine_with_weights(vgg, depth_net):
    trainer = make_trainer(
        vgg, depth_net, depth_weight=2.0, content_weight=3.0, style_weight=4.0, tv_weight=1e-3
    )
    images = tf.constant(synthetic_images(2, 32, seed=2))
    terms = trainer.compute_losses(images, trainer(images))
    expected = (
        3.0 * terms["content_loss"] + 4.0 * terms["style_loss"]
        + 2.0 * terms["depth_loss"] + 1e-3 * terms["tv_loss"]
    )
    np.testing.assert_allclose(terms["loss"], expected, rtol=1e-6)
    assert float(terms["depth_loss"]) > 0


@pytest.fixture(scope="module")
def fitted(vgg, depth_net):
    """15 steps on a fixed batch: (trainer, batch, loss before, history, the
    loss networks' first weights before)."""
    trainer = make_trainer(vgg, depth_net, depth_weight=5.0)
    frozen = [v.numpy().copy() for v in vgg.weights[:2] + depth_net.weights[:2]]
    images = tf.constant(synthetic_images(2, 32, seed=3))
    before = float(trainer.compute_losses(images, trainer(images))["loss"])
    history = trainer.fit(
        tf.data.Dataset.from_tensors(images).repeat(), steps_per_epoch=15, epochs=1, verbose=0,
        shuffle=False,
    )
    return trainer, images, before, history, frozen


def test_train_steps_lower_the_loss_on_a_fixed_batch(fitted):
    trainer, images, before, history, _ = fitted
    assert set(history.history) == set(LOSS_NAMES)
    after = float(trainer.compute_losses(images, trainer(images))["loss"])
    assert after < 0.7 * before


def test_only_the_transformation_network_is_trained(fitted, vgg, depth_net):
    trainer, _, _, _, frozen = fitted
    for before, var in zip(frozen, vgg.weights[:2] + depth_net.weights[:2]):
        np.testing.assert_array_equal(before, var.numpy())
    assert trainer.trainable_variables == trainer.transform_net.trainable_variables


def test_johnson_baseline_needs_no_depth_network(vgg):
    trainer = make_trainer(vgg, depth_net=None, depth_weight=0.0)
    logs = trainer.fit(tf.data.Dataset.from_tensors(synthetic_images(2, 32)).repeat(), steps_per_epoch=1, verbose=0, shuffle=False)
    assert logs.history["depth_loss"] == [0.0]
    with pytest.raises(ValueError, match="needs a depth network"):
        make_trainer(vgg, depth_net=None, depth_weight=1.0)


def test_depth_loss_alone_produces_gradients(vgg, depth_net):
    trainer = make_trainer(vgg, depth_net, depth_weight=1.0, content_weight=0.0, style_weight=0.0, tv_weight=0.0)
    images = tf.constant(synthetic_images(1, 32, seed=4))
    with tf.GradientTape() as tape:
        loss = trainer.compute_losses(images, trainer.transform_net(images, training=True))["loss"]
    grads = tape.gradient(loss, trainer.transform_net.trainable_variables)
    assert sum(float(tf.reduce_sum(tf.abs(g))) for g in grads if g is not None) > 0


def test_mixed_float16_step_on_cpu(depth_net):
    keras.config.set_dtype_policy("mixed_float16")
    from dstyle_tf.models.vgg import VGGFeatures

    vgg16 = VGGFeatures(weights_source=None)
    trainer = make_trainer(vgg16, depth_net, depth_weight=5.0, policy="mixed_float16")
    assert isinstance(trainer.optimizer, keras.optimizers.LossScaleOptimizer)
    assert trainer.transform_net.compute_dtype == "float16"
    weights = [v.numpy().copy() for v in trainer.transform_net.trainable_variables]
    initial_scale = float(trainer.optimizer.dynamic_scale.numpy())
    # The first steps overflow float16 at the initial loss scale and are
    # skipped while the scale halves; later steps update the weights.
    history = trainer.fit(
        tf.data.Dataset.from_tensors(synthetic_images(2, 32)).repeat(),
        steps_per_epoch=16, verbose=0, shuffle=False,
    )
    assert float(trainer.optimizer.dynamic_scale.numpy()) < initial_scale
    applied = int(trainer.optimizer.iterations.numpy())
    assert 0 < applied < 16
    # Skipped steps are counted, and kept out of the loss means.
    assert history.history["skipped_steps"] == [16 - applied]
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    changed = [
        not np.array_equal(w, v.numpy())
        for w, v in zip(weights, trainer.transform_net.trainable_variables)
    ]
    assert any(changed)
    assert all(v.dtype == "float32" for v in trainer.transform_net.trainable_variables)


def test_xla_step_matches_eager_loss(vgg):
    images = synthetic_images(2, 32, seed=6)
    plain = make_trainer(vgg)
    xla = make_trainer(vgg)
    xla.compile(optimizer=make_optimizer(1e-2, "float32"), jit_compile=True)
    a = plain.evaluate(images, verbose=0, return_dict=True)["loss"]
    b = xla.evaluate(images, verbose=0, return_dict=True)["loss"]
    np.testing.assert_allclose(a, b, rtol=1e-4)


def test_precomputed_targets_give_the_same_losses(vgg, depth_net):
    trainer = make_trainer(vgg, depth_net, depth_weight=5.0)
    images = tf.constant(synthetic_images(2, 32, seed=7))
    stylized = trainer(images)
    targets = trainer.content_targets(images)
    assert set(targets) == {"content", "depth"}
    direct = trainer.compute_losses(images, stylized)
    reused = trainer.compute_losses(images, stylized, targets)
    for name in LOSS_NAMES:
        np.testing.assert_allclose(direct[name], reused[name], rtol=1e-6)


@pytest.fixture(scope="module")
def laplacian_net():
    from dstyle_tf.models.edges import EdgeNetwork

    return EdgeNetwork("laplacian")


def test_edge_term_joins_the_loss(vgg, depth_net, laplacian_net):
    trainer = make_trainer(
        vgg, depth_net, depth_weight=2.0, edge_net=laplacian_net, edge_weight=0.5,
        content_weight=3.0, style_weight=4.0, tv_weight=1e-3,
    )
    images = tf.constant(synthetic_images(2, 32, seed=2))
    stylized = trainer(images)
    terms = trainer.compute_losses(images, stylized)
    from dstyle_tf.models.edges import laplacian_edges

    expected_edge = np.mean((laplacian_edges(stylized).numpy() - laplacian_edges(images).numpy()) ** 2)
    np.testing.assert_allclose(terms["edge_loss"], expected_edge, rtol=1e-5)
    expected = (
        3.0 * terms["content_loss"] + 4.0 * terms["style_loss"] + 2.0 * terms["depth_loss"]
        + 0.5 * terms["edge_loss"] + 1e-3 * terms["tv_loss"]
    )
    np.testing.assert_allclose(terms["loss"], expected, rtol=1e-6)
    targets = trainer.content_targets(images)
    assert set(targets) == {"content", "depth", "edges"}
    with pytest.raises(ValueError, match="needs an edge network"):
        make_trainer(vgg, edge_weight=1.0)


def test_edge_loss_falls_when_trained_alone(vgg, laplacian_net):
    trainer = make_trainer(
        vgg, edge_net=laplacian_net, edge_weight=1.0, content_weight=0.0, style_weight=0.0, tv_weight=0.0
    )
    images = tf.constant(synthetic_images(2, 32, seed=8))
    before = float(trainer.compute_losses(images, trainer(images))["edge_loss"])
    trainer.fit(tf.data.Dataset.from_tensors(images).repeat(), steps_per_epoch=10, verbose=0, shuffle=False)
    after = float(trainer.compute_losses(images, trainer(images))["edge_loss"])
    assert after < 0.5 * before


def test_gradient_norms_are_each_weighted_terms_gradient(vgg, laplacian_net):
    trainer = make_trainer(vgg, edge_net=laplacian_net, edge_weight=0.5, style_weight=3.0, tv_weight=1e-4)
    images = tf.constant(synthetic_images(2, 32, seed=9))
    norms = trainer.gradient_norms(images)
    assert set(norms) == {"content_loss", "style_loss", "edge_loss", "tv_loss"}
    variables = trainer.transform_net.trainable_variables
    for name, weight in [("style_loss", 3.0), ("edge_loss", 0.5), ("tv_loss", 1e-4)]:
        with tf.GradientTape() as tape:
            term = trainer.compute_losses(images, trainer.transform_net(images, training=True))[name]
        grads = [g for g in tape.gradient(term, variables) if g is not None]
        np.testing.assert_allclose(norms[name], weight * tf.linalg.global_norm(grads), rtol=1e-4)
