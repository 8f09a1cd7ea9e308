"""Gatys-style pixel optimisation (the slow baseline), library and CLI."""

import os

import numpy as np
import pytest
from PIL import Image

from conftest import run_commands
from dstyle_tf import losses
from dstyle_tf.data import synthetic_images
from dstyle_tf.optimize import optimize_image


@pytest.fixture(scope="module")
def problem():
    """A fixed tiny problem: a 48×48 photo and a style image."""
    photo, style = synthetic_images(2, 48, seed=0)
    return photo, style


def _optimize(problem, vgg, depth_net, depth_weight, **kwargs):
    photo, style = problem
    options = dict(steps=20, learning_rate=2.0, init="noise", seed=0)
    options.update(kwargs)
    return optimize_image(photo, style, vgg, depth_net, depth_weight=depth_weight, **options)


def test_optimisation_lowers_the_loss_and_keeps_pixels_in_range(problem, vgg):
    image, history = _optimize(problem, vgg, None, 0.0)

    assert len(history) == 21
    assert history[-1]["loss"] < 0.5 * history[0]["loss"]
    assert history[-1]["content_loss"] < history[0]["content_loss"]
    assert history[-1]["depth_loss"] == 0.0
    assert image.shape == problem[0].shape and image.dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 255.0


def test_depth_weight_keeps_the_photo_depth(problem, vgg, depth_net):
    photo = problem[0]
    plain, _ = _optimize(problem, vgg, depth_net, 0.0)
    with_depth, history = _optimize(problem, vgg, depth_net, 5.0)

    def depth_error(image):
        return float(losses.depth_loss(depth_net(image[None]), depth_net(photo[None])))

    assert history[-1]["loss"] < history[0]["loss"]
    assert history[-1]["depth_loss"] < history[0]["depth_loss"]
    assert depth_error(with_depth) < 0.5 * depth_error(plain)


def test_losses_are_the_trainer_composition(problem, vgg):
    """Zero steps from the photo: content and depth terms vanish, the style
    term is the training style loss of the photo."""
    photo, style = problem

    image, history = optimize_image(photo, style, vgg, steps=0, style_weight=2.0, tv_weight=0.0)

    np.testing.assert_array_equal(image, photo)
    features = vgg(photo[None])
    grams = [losses.gram_matrix(vgg(style[None])[name]) for name in features]
    expected = float(losses.style_loss([features[name] for name in features], grams))
    assert history[0]["content_loss"] == 0.0
    np.testing.assert_allclose(history[0]["style_loss"], expected, rtol=1e-5)
    np.testing.assert_allclose(history[0]["loss"], 2.0 * expected, rtol=1e-5)


def test_bad_init_and_shape_are_rejected(problem, vgg):
    photo, style = problem
    with pytest.raises(ValueError, match="init"):
        optimize_image(photo, style, vgg, init="zeros", steps=1)
    with pytest.raises(ValueError, match="RGB"):
        optimize_image(photo[..., 0], style, vgg, steps=1)


@pytest.mark.slow
def test_cli_writes_the_image_and_rejects_bad_input(tmp_path, problem):
    photo, style = problem
    Image.fromarray(photo.astype(np.uint8)).save(tmp_path / "photo.jpg")
    Image.fromarray(style.astype(np.uint8)).save(tmp_path / "style.png")
    offline = ["--vgg_weights=random", "--depth_preset=random", "--depth_input_size=126"]

    good, missing = run_commands(  # one process
        ["dstyle_tf.optimize", f"--content={tmp_path / 'photo.jpg'}",
         f"--style={tmp_path / 'style.png'}", f"--output={tmp_path / 'out.png'}", "--steps=3",
         "--depth_weight=5", *offline],
        ["dstyle_tf.optimize", f"--content={tmp_path / 'nope.jpg'}",
         f"--style={tmp_path / 'style.png'}", f"--output={tmp_path / 'out2.png'}", *offline],
    )

    assert good.returncode == 0, good.stderr
    assert Image.open(tmp_path / "out.png").size == (48, 48)
    assert missing.returncode == 2 and "nope.jpg" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_bad_init_and_output_type_are_one_line_errors(tmp_path):
    from dstyle_tf.errors import UserError
    from dstyle_tf.pixel_optimization import OptimizeConfig
    from dstyle_tf.pixel_optimization import initial_image
    from dstyle_tf.pixel_optimization import optimize_file

    with pytest.raises(ValueError, match=r"^init must be one of content, noise; got 'zeros'\.$"):
        initial_image(np.zeros((4, 4, 3)), init="zeros")
    config = OptimizeConfig(content="photo.jpg", style="style.jpg", output=str(tmp_path / "x.tif"))
    with pytest.raises(UserError, match=r"x\.tif: use a \.jpeg, \.jpg, \.png file"):
        optimize_file(config)
    assert os.listdir(tmp_path) == []
