"""Training one network for several styles, and adding a style to it."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import smoke_config
from dstyle_tf import losses
from dstyle_tf import training
from dstyle_tf.training.config_validation import validate_config
from dstyle_tf.data import synthetic_images
from dstyle_tf.errors import UserError
from dstyle_tf.models import TransformNet
from dstyle_tf.models.style_bank import add_styles
from dstyle_tf.training.trainer import StyleTransferTrainer
from dstyle_tf.training.trainer import make_optimizer

STYLES = [synthetic_images(1, 32, seed=s)[0] for s in (5, 6)]


def two_style_trainer(vgg, mode="per_batch", **kwargs):
    keras.utils.set_random_seed(1)
    net = TransformNet(filters=4, num_residual_blocks=1, num_styles=2, style_names=["a", "b"])
    trainer = StyleTransferTrainer(
        net, vgg, style_images=STYLES, style_mode=mode, depth_weight=0.0, tv_weight=0.0, **kwargs
    )
    trainer.compile(optimizer=make_optimizer(1e-2, "float32"))
    return trainer


def test_style_loss_per_image_matches_each_image_alone(rng):
    features = [tf.constant(rng.normal(size=(3, 4, 4, c)), tf.float32) for c in (2, 5)]
    targets = [tf.constant(rng.normal(size=(3, c, c)), tf.float32) for c in (2, 5)]
    per_image = losses.style_loss_per_image(features, targets).numpy()
    for i in range(3):
        alone = losses.style_loss([f[i : i + 1] for f in features], [t[i : i + 1] for t in targets])
        np.testing.assert_allclose(per_image[i], alone.numpy(), rtol=1e-6)
    np.testing.assert_allclose(
        losses.style_loss(features, targets).numpy(), per_image.mean(), rtol=1e-6
    )


def test_style_grams_stack_one_row_per_style(vgg):
    trainer = two_style_trainer(vgg)
    for gram, layer in zip(trainer.style_grams, trainer.style_layers):
        for row, image in enumerate(STYLES):
            expected = losses.gram_matrix(vgg(image[None])[layer])[0]
            np.testing.assert_allclose(gram[row].numpy(), expected.numpy(), rtol=1e-5)


@pytest.mark.parametrize(
    "mode, expected",
    [("per_batch", [[0, 0, 0], [1, 1, 1], [0, 0, 0]]), ("split", [[0, 1, 0], [1, 0, 1], [0, 1, 0]])],
)
def test_styles_follow_the_step(vgg, mode, expected):
    trainer = two_style_trainer(vgg, mode)
    for step, row in enumerate(expected):
        trainer.optimizer.iterations.assign(step)
        assert trainer.step_styles(3).numpy().tolist() == row


def test_each_image_is_stylised_and_judged_in_its_style(vgg):
    trainer = two_style_trainer(vgg, "split")
    images = tf.constant(synthetic_images(2, 32, seed=3))
    styles = tf.constant([1, 0])
    stylized = trainer.stylize(images, styles)
    np.testing.assert_allclose(
        stylized[0].numpy(),
        trainer.transform_net(images[:1], style_weights=[[0.0, 1.0]])[0].numpy(),
        atol=2e-3,
    )
    terms = trainer.compute_losses(images, stylized, styles=styles)
    features = vgg(stylized)
    for i, style in enumerate([1, 0]):
        alone = losses.style_loss(
            [features[layer][i : i + 1] for layer in trainer.style_layers],
            [gram[style : style + 1] for gram in trainer.style_grams],
        )
        np.testing.assert_allclose(terms["style_losses"][i].numpy(), alone.numpy(), rtol=1e-5)
    with pytest.raises(ValueError, match="each image's style"):
        trainer.compute_losses(images, stylized)


def test_per_style_losses_are_tracked_per_style(vgg):
    trainer = two_style_trainer(vgg, "per_batch")
    images = synthetic_images(4, 32, seed=2)
    logs = trainer.fit(images, batch_size=2, epochs=1, verbose=0).history
    assert {"style_loss_a", "style_loss_b"} <= set(logs)
    # per_batch: steps 0 and 1 are styles a and b, so the overall style
    # loss is their mean.
    np.testing.assert_allclose(
        logs["style_loss"][0], (logs["style_loss_a"][0] + logs["style_loss_b"][0]) / 2, rtol=1e-5
    )


def test_training_only_new_styles_changes_nothing_else(vgg):
    keras.utils.set_random_seed(2)
    base = TransformNet(filters=4, num_residual_blocks=1, num_styles=2, style_names=["a", "b"])
    base.build()
    net = add_styles(base, ["c"])
    before = [v.numpy().copy() for v in net.weights]
    trainer = StyleTransferTrainer(
        net, vgg, style_image=STYLES[0], style_indices=[2], train_only_styles=True, depth_weight=0.0
    )
    trainer.compile(optimizer=make_optimizer(1e-2, "float32"))
    trainer.fit(synthetic_images(4, 32, seed=2), batch_size=2, epochs=1, verbose=0)
    changed = 0
    for variable, old in zip(net.weights, before):
        new = variable.numpy()
        if variable.path.endswith(("/gamma", "/beta")):
            np.testing.assert_array_equal(new[:2], old[:2])
            changed += int(not np.array_equal(new[2], old[2]))
        else:
            np.testing.assert_array_equal(new, old)
    assert changed > 0


def test_add_styles_keeps_every_old_style(tiny_multistyle_net):
    grown = add_styles(tiny_multistyle_net, ["new"])
    assert grown.num_styles == 4
    assert grown.style_names == ["wave", "scream", "starry", "new"]
    images = synthetic_images(1, 24, seed=4)
    for style in range(3):
        weights = np.eye(3, dtype="float32")[[style]]
        np.testing.assert_allclose(
            grown(images, style_weights=np.pad(weights, ((0, 0), (0, 1)))).numpy(),
            tiny_multistyle_net(images, style_weights=weights).numpy(),
            atol=2e-3,
        )
    # The new style starts at the old styles' mean γ and β, i.e. their blend.
    np.testing.assert_allclose(
        grown(images, style_weights=[[0, 0, 0, 1.0]]).numpy(),
        tiny_multistyle_net(images, style_weights=[[1 / 3] * 3]).numpy(),
        atol=1e-3,
    )


def test_add_styles_to_a_single_style_network(tiny_model_path):
    single = keras.saving.load_model(tiny_model_path)
    grown = add_styles(single, ["new"])
    images = synthetic_images(1, 24, seed=4)
    np.testing.assert_allclose(
        grown(images, style_weights=[[1.0, 0.0]]).numpy(), single(images).numpy(), atol=1e-4
    )


def test_add_styles_refuses_what_cannot_hold_styles(tiny_multistyle_net):
    with pytest.raises(ValueError, match="already holds style.*wave"):
        add_styles(tiny_multistyle_net, ["wave"])
    batch_norm = TransformNet(filters=4, num_residual_blocks=1, normalization="batch")
    batch_norm.build()
    with pytest.raises(ValueError, match="instance-norm"):
        add_styles(batch_norm, ["new"])


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(style__image="wave,wave"), "Style names must be unique"),
        (dict(style__image="wave,the_scream", model__normalization="batch"), "instance"),
        (dict(train__style_mode="shuffled"), "style_mode"),
        (dict(train__train_only_new_styles=True), "init_from"),
        (dict(style__image="wave,missing.jpg"), "Style image not found: missing.jpg"),
    ],
)
def test_bad_multistyle_configs_name_the_problem(overrides, message):
    with pytest.raises(UserError, match=message):
        validate_config(smoke_config(**overrides))


def multistyle_config(workdir_style, **overrides):
    config = smoke_config(
        style__image=workdir_style, style__size=32, data__image_size=32,
        model__filters=4, model__num_residual_blocks=1,
        loss__depth_weight=0.0, train__steps=4, train__log_every=2,
        train__checkpoint_every=2, train__sample_every=2, **overrides,
    )
    return config


def test_train_then_add_a_style(tmp_path):
    base_dir, added_dir = tmp_path / "base", tmp_path / "added"
    result = training.train(multistyle_config("wave,the_scream"), str(base_dir))
    assert {"style_loss_wave", "style_loss_the_scream"} <= set(result.losses)
    base = keras.saving.load_model(base_dir / training.MODEL_FILE)
    assert base.style_names == ["wave", "the_scream"]

    config = multistyle_config("composition_vii", train__train_only_new_styles=True)
    config.style.name = "composition_vii"
    config.init_from = str(base_dir)
    training.train(config, str(added_dir))
    added = keras.saving.load_model(added_dir / training.MODEL_FILE)
    assert added.style_names == ["wave", "the_scream", "composition_vii"]
    images = synthetic_images(1, 32, seed=9)
    np.testing.assert_allclose(
        added(images, style_weights=[[0.0, 1.0, 0.0]]).numpy(),
        base(images, style_weights=[[0.0, 1.0]]).numpy(),
        atol=2e-3,
    )
    saved = json.loads((added_dir / "config.json").read_text())
    assert saved["init_from"] == str(base_dir)


def test_init_from_a_missing_network_is_one_clear_error(tmp_path):
    config = multistyle_config("wave")
    config.init_from = str(tmp_path / "nowhere")
    with pytest.raises(UserError, match="init_from: no trained network"):
        training.build_trainer(config)


def test_multistyle_and_add_style_configs():
    from configs import add_style
    from configs import multistyle

    config = multistyle.get_config()
    validate_config(config)
    assert training.style_names(config.style) == [
        "starry_night", "wave", "the_scream", "composition_vii"
    ]
    added = add_style.get_config("wave")
    assert training.style_names(added.style) == ["wave"]
    with pytest.raises(UserError, match="init_from"):
        validate_config(added)
    added.init_from = "runs/somewhere"
    validate_config(added)
    with pytest.raises(UserError, match="No style image"):
        validate_config(add_style.get_config())
