"""Distillation of a lite network from a trained one, and configs/lite.py."""

import keras
import ml_collections
import numpy as np
import pytest
import tensorflow as tf

from dstyle_tf import losses
from dstyle_tf.data import synthetic_images
from dstyle_tf.errors import UserError
from dstyle_tf.models import TransformNet
from dstyle_tf.training.trainer import StyleTransferTrainer
from dstyle_tf.training.trainer import make_optimizer

from conftest import smoke_config


def test_distill_loss_matches_numpy(rng):
    student = rng.uniform(0, 255, (2, 5, 7, 3)).astype(np.float32)
    teacher = rng.uniform(0, 255, (2, 5, 7, 3)).astype(np.float32)
    expected = np.mean((student.astype(np.float64) - teacher) ** 2)

    np.testing.assert_allclose(losses.distill_loss(student, teacher), expected, rtol=1e-6)
    half = losses.distill_loss(tf.constant(student, tf.float16), tf.constant(teacher, tf.float16))
    assert half.dtype == tf.float32
    np.testing.assert_allclose(half, expected, rtol=1e-3)


@pytest.fixture(scope="module")
def teacher():
    keras.utils.set_random_seed(7)
    net = TransformNet(filters=8, num_residual_blocks=1)
    net.build()
    return net


def make_student_trainer(vgg, teacher, distill_weight, **kwargs):
    keras.utils.set_random_seed(1)
    trainer = StyleTransferTrainer(
        transform_net=TransformNet(filters=4, num_residual_blocks=1, residual="depthwise"),
        vgg=vgg,
        style_image=synthetic_images(1, 32, seed=5)[0],
        depth_weight=0.0,
        teacher_net=teacher,
        distill_weight=distill_weight,
        **kwargs,
    )
    trainer.compile(optimizer=make_optimizer(1e-2, "float32"))
    return trainer


def test_distill_term_joins_the_loss(vgg, teacher):
    trainer = make_student_trainer(vgg, teacher, 0.5, content_weight=2.0, style_weight=3.0,
                                   tv_weight=1e-3)
    images = tf.constant(synthetic_images(2, 32, seed=2))
    stylized = trainer(images)
    terms = trainer.compute_losses(images, stylized)

    expected = np.mean((stylized.numpy() - teacher(images, training=False).numpy()) ** 2)
    np.testing.assert_allclose(terms["distill_loss"], expected, rtol=1e-5)
    np.testing.assert_allclose(terms["loss"], (
        2.0 * terms["content_loss"] + 3.0 * terms["style_loss"] + 1e-3 * terms["tv_loss"]
        + 0.5 * terms["distill_loss"]), rtol=1e-6)
    assert "teacher" in trainer.content_targets(images)
    # Off: no teacher is run, the term is 0.
    off = make_student_trainer(vgg, teacher, 0.0)
    assert off.teacher_net is None and "teacher" not in off.content_targets(images)
    assert float(off.compute_losses(images, off(images))["distill_loss"]) == 0.0


def test_student_approaches_its_frozen_teacher(vgg, teacher):
    trainer = make_student_trainer(vgg, teacher, 1.0, content_weight=1e-3, style_weight=1e-3)
    images = tf.constant(synthetic_images(2, 32, seed=3))
    teacher_weights = [w.numpy().copy() for w in teacher.weights]
    before = float(trainer.compute_losses(images, trainer(images))["distill_loss"])

    history = trainer.fit(tf.data.Dataset.from_tensors(images).repeat(), steps_per_epoch=10,
                          epochs=1, verbose=0, shuffle=False)

    after = float(trainer.compute_losses(images, trainer(images))["distill_loss"])
    assert "distill_loss" in history.history
    assert after < 0.7 * before
    for old, new in zip(teacher_weights, teacher.weights):
        np.testing.assert_array_equal(old, new.numpy())
    assert not teacher.trainable


def test_multi_style_teacher_is_refused(vgg, tiny_multistyle_net):
    with pytest.raises(ValueError, match="single-style teachers only"):
        make_student_trainer(vgg, tiny_multistyle_net, 1.0)
    with pytest.raises(ValueError, match="needs a teacher network"):
        make_student_trainer(vgg, None, 1.0)


def distill_config(teacher_path, weight=1.0):
    config = smoke_config(loss__depth_weight=0.0)
    config.model.filters = 4
    config.model.num_residual_blocks = 1
    config.model.residual = "depthwise"
    config.distill = ml_collections.ConfigDict({"teacher": str(teacher_path)})
    config.loss.distill_weight = weight
    return config


def test_teacher_is_loaded_from_a_training_workdir(teacher, tmp_path):
    from dstyle_tf.training import MODEL_FILE
    from dstyle_tf.training import build_trainer

    teacher.save(tmp_path / MODEL_FILE)
    trainer = build_trainer(distill_config(tmp_path))

    images = synthetic_images(1, 32, seed=4)
    assert trainer.transform_net.residual == "depthwise"
    np.testing.assert_allclose(trainer.teacher_net(images, training=False),
                               teacher(images, training=False), atol=1e-4)
    assert trainer.distill_weight == 1.0


@pytest.mark.parametrize("teacher_path, weight, message", [
    ("/nonexistent/teacher", 1.0, "distill.teacher: /nonexistent/teacher: no such file"),
    ("", 1.0, "needs distill.teacher"),
    ("", -1.0, "loss.distill_weight must be a number >= 0"),
])
def test_bad_teacher_is_a_one_line_error(teacher_path, weight, message):
    from dstyle_tf.training import load_teacher

    with pytest.raises(UserError, match=message) as info:
        load_teacher(distill_config(teacher_path, weight))
    assert "\n" not in str(info.value)


def test_multi_style_teacher_file_is_a_one_line_error(tiny_multistyle_net, tmp_path):
    from dstyle_tf.training import load_teacher

    tiny_multistyle_net.save(tmp_path / "multi.keras")
    with pytest.raises(UserError, match="expected a single-style TransformNet"):
        load_teacher(distill_config(tmp_path / "multi.keras"))


def test_lite_config_is_the_demo_with_a_cheap_network():
    from configs import demo
    from configs import lite
    from dstyle_tf.benchmark import flops
    from dstyle_tf.training.config_validation import validate_config
    from dstyle_tf.training import build_transform_net
    from dstyle_tf.training import load_teacher

    config = lite.get_config()
    validate_config(config)
    assert load_teacher(config) is None  # trained directly by default
    a, b = config.to_dict(), demo.get_config().to_dict()
    assert a["distill"] == {"teacher": ""} and a["loss"]["distill_weight"] == 0.0
    assert a.pop("model") != b.pop("model")
    assert a == b
    net = build_transform_net(config.model)
    net.build()
    full = TransformNet()
    full.build()
    shape = (1, 128, 128, 3)
    ratio = flops.layer_flops(net, shape) / flops.layer_flops(full, shape)
    assert ratio < 0.15  # 7.0 vs 80.6 GFLOP at 512²
