"""Choosing, blending and fading styles at inference (`--style`,
`--style_weights`, `--strength`, `--sheet`)."""

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from dstyle_tf import cli
from dstyle_tf import image_io
from dstyle_tf.stylization import stylizers
from dstyle_tf.stylization import StylizeConfig
from dstyle_tf.stylization import apply_strength
from dstyle_tf.stylization import contact_sheet
from dstyle_tf.stylization import stylize_image
from dstyle_tf.stylization import stylize_paths

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = ["wave", "scream", "starry"]


@pytest.fixture(scope="module")
def multi_path(tiny_multistyle_net, tmp_path_factory):
    path = tmp_path_factory.mktemp("multi") / "transform_net.keras"
    tiny_multistyle_net.save(path)
    return str(path)


@pytest.fixture(scope="module")
def multi(multi_path):
    return stylizers.load_stylizer(multi_path)


@pytest.fixture(scope="module")
def single(tiny_model_path):
    return stylizers.load_stylizer(tiny_model_path)


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    pixels = np.random.default_rng(2).integers(0, 255, (22, 30, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def test_style_by_name_or_index_and_blends_are_normalised():
    np.testing.assert_array_equal(stylizers.select_style(NAMES, "scream"), [0, 1, 0])
    np.testing.assert_array_equal(stylizers.select_style(NAMES, "2"), [0, 0, 1])
    np.testing.assert_allclose(
        stylizers.parse_style_weights(NAMES, "wave:1, 2:3"), [0.25, 0.0, 0.75]
    )
    np.testing.assert_allclose(
        stylizers.choose_style_weights(NAMES, style_weights="scream:0.5,starry:0.5"),
        [0.0, 0.5, 0.5],
    )
    assert stylizers.choose_style_weights(["style"]) is None
    assert stylizers.choose_style_weights(["wave"], style="wave") is None


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(style="monet"), "unknown style 'monet'; the model's styles are: 0 wave, 1 scream, 2 starry"),
        (dict(style="3"), "unknown style '3'"),
        (dict(style_weights="wave:0,scream:0"), "must sum to a positive number"),
        (dict(style_weights="wave:-1,scream:2"), "must be non-negative"),
        (dict(style_weights="wave:nan"), "must be non-negative"),
        (dict(style_weights="wave:1,wave:1"), "given twice"),
        (dict(style_weights="wave"), "expected name:weight pairs"),
        (dict(style_weights="monet:1"), "unknown style 'monet'"),
        (dict(style="wave", style_weights="wave:1"), "not both"),
        (dict(), "holds 3 styles .* choose one with --style"),
    ],
)
def test_bad_style_choices_are_refused(kwargs, message):
    with pytest.raises(stylizers.StyleError, match=message):
        stylizers.choose_style_weights(NAMES, **kwargs)


def test_single_style_model_takes_no_weights():
    with pytest.raises(stylizers.StyleError, match="holds one style"):
        stylizers.choose_style_weights(["style"], style_weights="style:1")
    with pytest.raises(stylizers.StyleError, match="unknown style 'wave'"):
        stylizers.choose_style_weights(["style"], style="wave")


def test_stylizer_applies_the_chosen_weights(multi, rng):
    image = rng.uniform(0, 255, (21, 26, 3)).astype(np.float32)
    weights = np.array([0.2, 0.0, 0.8], np.float32)
    expected = np.asarray(multi.model(image[None], style_weights=weights[None]))[0]
    np.testing.assert_allclose(
        stylize_image(image, multi, style_weights=weights), np.clip(expected, 0, 255), atol=1e-4
    )
    assert multi.style_names == tuple(NAMES)
    with pytest.raises(stylizers.StyleError, match=r"pass style_weights of shape \(3,\)"):
        stylize_image(image, multi)


def test_tiled_multi_style_uses_the_whole_image_statistics(multi, rng):
    from export.tflite import psnr

    image = np.cumsum(rng.normal(0, 8, (70, 101, 3)), axis=1).astype(np.float32) % 255
    weights = np.array([0.0, 0.3, 0.7], np.float32)
    one_pass = np.clip(np.asarray(multi.model(image[None], style_weights=weights[None]))[0], 0, 255)
    tiled = stylize_image(
        image, multi, tile_size=32, tile_overlap=8, tile_context=32, style_weights=weights
    )
    assert psnr(one_pass, tiled) > 80.0


def test_strength_fades_between_photo_and_style(single, rng):
    image = rng.uniform(0, 255, (20, 24, 3)).astype(np.float32)
    full = stylize_image(image, single)
    np.testing.assert_array_equal(stylize_image(image, single, strength=0.0), image)
    np.testing.assert_array_equal(stylize_image(image, single, strength=1.0), full)
    np.testing.assert_allclose(
        stylize_image(image, single, strength=0.25), 0.75 * image + 0.25 * full, atol=1e-4
    )
    np.testing.assert_array_equal(apply_strength(image, full, 0.0), image)
    with pytest.raises(ValueError, match="--strength must be between 0 and 1"):
        stylize_image(image, single, strength=1.5)


def test_contact_sheet_shows_the_photo_and_every_style(multi, rng):
    from dstyle_tf.drawing import fit_cell

    image = rng.uniform(0, 255, (24, 32, 3)).astype(np.float32)
    sheet = contact_sheet(image, multi, cell_side=32, columns=2)
    # 2 x 2 cells of 32 x 24, 6-pixel gaps, 22-pixel labels.
    assert sheet.shape == (2 * (24 + 22 + 6) + 6, 2 * (32 + 6) + 6, 3)
    for index in range(3):
        styled = stylize_image(image, multi, style_weights=np.eye(3, dtype=np.float32)[index])
        row, column = divmod(index + 1, 2)
        y, x = 6 + row * (24 + 22 + 6), 6 + column * (32 + 6)
        np.testing.assert_array_equal(sheet[y : y + 24, x : x + 32], np.asarray(fit_cell(styled, (32, 24))))


def test_command_with_style_and_sheet(multi_path, multi, photo, tmp_path):
    config = StylizeConfig(model=multi_path, input=str(photo), output=str(tmp_path / "s.png"),
                           style="scream", strength=0.5)
    assert stylize_paths(config, progress=False).failures == []
    image = image_io.load_image(photo)
    expected = stylize_image(image, multi, style_weights=np.eye(3, dtype=np.float32)[1], strength=0.5)
    written = image_io.load_image(tmp_path / "s.png")
    assert np.abs(written - expected).max() <= 0.5 + 1e-3  # PNG rounding

    sheet_config = StylizeConfig(model=multi_path, input=str(photo), output=str(tmp_path / "sheet"),
                                 sheet=True)
    assert stylize_paths(sheet_config, progress=False).failures == []
    assert Image.open(tmp_path / "sheet" / "photo.png").size == Image.fromarray(
        contact_sheet(image, multi)).size


@pytest.mark.parametrize(
    "fields, message",
    [
        (dict(style="monet"), "error: --style: unknown style 'monet'"),
        (dict(style_weights="wave:0"), "error: --style_weights: the weights must sum to a positive"),
        (dict(strength=-0.1), "error: --strength must be between 0 and 1"),
        (dict(sheet=True, style="wave"), "error: --sheet shows every style"),
    ],
)
def test_command_errors_are_one_line_exit_2(multi_path, photo, tmp_path, capsys, fields, message):
    config = StylizeConfig(model=multi_path, input=str(photo), output=str(tmp_path / "o.png"), **fields)
    with pytest.raises(SystemExit) as exit_info:
        cli.call(stylize_paths, config)
    error = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert error.startswith(message) and error.count("\n") == 1
    assert not os.path.exists(tmp_path / "o.png")


def test_cli_style_weights_for_single_style_model_fail_in_one_line(tiny_model_path, photo, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "dstyle_tf.stylize", f"--model={tiny_model_path}",
         f"--input={photo}", f"--output={tmp_path / 'o.png'}", "--style_weights=a:1,b:1"],
        capture_output=True, text=True, cwd=REPO, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert lines == ["error: --style_weights: this model holds one style; blending needs a "
                     "multi-style model."]
    assert "Traceback" not in result.stderr


# Several single-style networks as one model (the shipped networks).


@pytest.fixture(scope="module")
def style_set(tiny_model_path, tmp_path_factory):
    """Styles "a" (the tiny network) and "b" (another with different weights)."""
    import keras

    from dstyle_tf.models import TransformNet

    keras.utils.set_random_seed(5)
    other = TransformNet(filters=4, num_residual_blocks=1)
    other.build()
    path = tmp_path_factory.mktemp("other") / "b.keras"
    other.save(path)
    return stylizers.StyleSetStylizer({"a": tiny_model_path, "b": str(path)})


def test_style_set_runs_the_chosen_network_and_mixes_blends(style_set, tiny_model_path, rng):
    image = rng.uniform(0, 255, (20, 28, 3)).astype(np.float32)
    assert style_set.style_names == ("a", "b") and style_set.num_styles == 2
    own = stylizers.load_stylizer(tiny_model_path)(image)
    np.testing.assert_allclose(style_set(image, style_weights=[1, 0]), own, atol=1e-4)
    b = style_set(image, style_weights=[0, 1])
    assert np.abs(b - own).mean() > 1
    np.testing.assert_allclose(style_set(image, style_weights=[0.25, 0.75]),
                               0.25 * own + 0.75 * b, atol=1e-3)
    with pytest.raises(stylizers.StyleError, match="holds 2 styles"):
        style_set(image)


def test_style_set_tiles_and_videos_agree_with_one_pass(style_set, rng):
    image = rng.uniform(0, 255, (72, 88, 3)).astype(np.float32)
    weights = np.array([0.5, 0.5], np.float32)
    one_pass = stylize_image(image, style_set, style_weights=weights, tile_size=0)
    tiled = stylize_image(image, style_set, style_weights=weights, tile_size=48,
                          tile_overlap=8, tile_statistics="exact")
    np.testing.assert_allclose(tiled, one_pass, atol=0.05)
    video = style_set.for_video()
    np.testing.assert_allclose(video(image, style_weights=weights), one_pass, atol=0.05)
    sheet = contact_sheet(image, style_set, cell_side=64)
    assert sheet.shape[1] == 3 * (64 + 6) + 6


def test_style_set_refuses_multi_style_networks(multi_path, tiny_model_path):
    mixed = stylizers.StyleSetStylizer({"a": tiny_model_path, "m": multi_path})
    with pytest.raises(stylizers.ModelLoadError, match="single-style networks"):
        mixed(np.zeros((16, 16, 3), np.float32), style_weights=[0, 1])
    with pytest.raises(stylizers.ModelLoadError, match="at least one"):
        stylizers.StyleSetStylizer({})
