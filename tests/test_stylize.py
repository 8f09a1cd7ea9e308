"""Tests for dstyle_tf.stylize (library and CLI) and dstyle_tf.color."""

import os
import re

import numpy as np
import pytest
from PIL import Image

from conftest import run_commands
from dstyle_tf import color
from dstyle_tf import image_io
from dstyle_tf import stylize
from dstyle_tf.stylization import stylizers


@pytest.fixture(scope="module")
def model_path(tiny_model_path):
    return tiny_model_path


@pytest.fixture(scope="module")
def keras_stylizer(model_path):
    return stylize.load_stylizer(model_path)


# Colour preservation.


def test_preserve_color_keeps_chroma_and_takes_luminance(rng):
    # Mid-range values, so that no output leaves the RGB cube (no clipping).
    content = rng.uniform(100, 150, (21, 33, 3)).astype(np.float32)
    stylized = rng.uniform(100, 150, (21, 33, 3)).astype(np.float32)

    out = color.preserve_color(content, stylized)

    out_yiq, content_yiq, stylized_yiq = map(color.rgb_to_yiq, (out, content, stylized))
    np.testing.assert_allclose(out_yiq[..., 1:], content_yiq[..., 1:], atol=1e-3)
    np.testing.assert_allclose(out_yiq[..., 0], stylized_yiq[..., 0], atol=1e-3)


def test_yiq_round_trip_and_gray_has_no_chroma(rng):
    rgb = rng.uniform(0, 255, (5, 7, 3)).astype(np.float32)
    gray = np.full((2, 2, 3), 128.0, np.float32)

    np.testing.assert_allclose(color.yiq_to_rgb(color.rgb_to_yiq(rgb)), rgb, atol=1e-3)
    np.testing.assert_allclose(color.rgb_to_yiq(gray)[..., 1:], 0.0, atol=1e-4)
    np.testing.assert_allclose(color.rgb_to_yiq(gray)[..., 0], 128.0, atol=1e-3)


def test_preserve_color_clips_and_checks_shapes():
    out = color.preserve_color(np.full((3, 3, 3), (255.0, 0.0, 0.0)), np.full((3, 3, 3), 255.0))
    assert out.min() >= 0 and out.max() <= 255
    with pytest.raises(ValueError, match="same shape"):
        color.preserve_color(np.zeros((3, 3, 3)), np.zeros((3, 4, 3)))


# Library.


def test_load_stylizer_dispatch_and_errors(model_path, tmp_path):
    assert isinstance(stylize.load_stylizer(os.path.dirname(model_path)), stylizers.KerasStylizer)
    with pytest.raises(stylize.ModelLoadError, match="no such file"):
        stylize.load_stylizer(tmp_path / "missing.keras")
    with pytest.raises(stylize.ModelLoadError, match="holds no transform_net.keras"):
        stylize.load_stylizer(tmp_path)
    (tmp_path / "model.onnx").write_bytes(b"x")
    with pytest.raises(stylize.ModelLoadError, match="expected a .keras or .tflite"):
        stylize.load_stylizer(tmp_path / "model.onnx")
    (tmp_path / "broken.keras").write_bytes(b"not a zip")
    with pytest.raises(stylize.ModelLoadError, match="cannot load model"):
        stylize.load_stylizer(tmp_path / "broken.keras")


def test_stylize_image_matches_model_and_keeps_odd_sizes(keras_stylizer, rng):
    image = rng.uniform(0, 255, (37, 53, 3)).astype(np.float32)

    out = stylize.stylize_image(image, keras_stylizer)

    expected = np.asarray(keras_stylizer.model(image[None]))[0]
    assert out.shape == image.shape
    np.testing.assert_allclose(out, expected, atol=1e-4)


def test_tiny_images_are_padded_not_refused(keras_stylizer):
    out = stylize.stylize_image(np.full((3, 2, 3), 80.0, np.float32), keras_stylizer)
    assert out.shape == (3, 2, 3) and np.isfinite(out).all()


class _FixedSizeStylizer(stylize.Stylizer):
    """A per-pixel stand-in for a fixed-size export, recording what it runs on."""

    fixed_size = (48, 64)

    def __init__(self):
        self.shapes = []

    def run(self, image, style_weights=None):
        self.shapes.append(image.shape[:2])
        return np.sqrt(image) * 8.0


@pytest.mark.parametrize("size, runs", [((48, 64), 1), ((30, 50), 1), ((48, 150), 4), ((100, 64), 4)])
def test_fixed_size_model_cuts_only_the_sides_that_do_not_fit(rng, size, runs):
    stylizer = _FixedSizeStylizer()
    image = rng.uniform(0, 255, (*size, 3)).astype(np.float32)

    out = stylize.stylize_image(image, stylizer)

    # A frame of the model's size (or smaller: padded) is one run; a longer
    # side is cut into tiles of the model's size, the other side is not cut.
    assert len(stylizer.shapes) == runs
    assert set(stylizer.shapes) == {(48, 64)}
    np.testing.assert_allclose(out, np.sqrt(image) * 8.0, rtol=1e-5)


def test_tiled_stylize_has_input_size(keras_stylizer, rng):
    image = rng.uniform(0, 255, (70, 101, 3)).astype(np.float32)

    out = stylize.stylize_image(
        image, keras_stylizer, tile_size=32, tile_overlap=8, tile_context=8,
        preserve_color=True,
    )

    assert out.shape == image.shape
    assert 0 <= out.min() and out.max() <= 255


def test_tiled_keras_instance_norm_matches_one_pass(keras_stylizer, rng):
    from export.tflite import psnr

    image = np.cumsum(rng.normal(0, 8, (70, 101, 3)), axis=1).astype(np.float32) % 255
    one_pass = np.clip(np.asarray(keras_stylizer.model(image[None]))[0], 0, 255)
    options = dict(tile_size=32, tile_overlap=8, tile_context=32)

    exact = stylize.stylize_image(image, keras_stylizer, **options)
    per_tile = stylize.stylize_image(image, keras_stylizer, tile_statistics="tile", **options)

    assert psnr(one_pass, exact) > 80.0
    assert psnr(one_pass, per_tile) < psnr(one_pass, exact) - 20.0


def test_list_inputs_and_plan_outputs(tmp_path):
    for name in ("b.jpg", "a.png", ".hidden.png", "c.tif"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub").mkdir()

    listed = stylize.list_inputs(tmp_path)
    pairs = stylize.plan_outputs(listed, tmp_path / "out")

    assert [os.path.basename(p) for p in listed] == ["a.png", "b.jpg", "c.tif"]
    assert [os.path.basename(t) for _, t in pairs] == ["a.png", "b.jpg", "c.png"]
    assert stylize.list_inputs(str(tmp_path / "*.jpg")) == [str(tmp_path / "b.jpg")]
    with pytest.raises(ValueError, match="matches no files"):
        stylize.list_inputs(str(tmp_path / "*.gif"))
    with pytest.raises(ValueError, match="no such file"):
        stylize.list_inputs(tmp_path / "nope.jpg")
    with pytest.raises(ValueError, match="would replace an input"):
        stylize.plan_outputs([str(tmp_path / "a.png")], tmp_path)
    with pytest.raises(ValueError, match="would both be written"):
        stylize.plan_outputs([str(tmp_path / "c.tif"), str(tmp_path / "sub" / "c.png")], tmp_path / "o")
    with pytest.raises(ValueError, match="cannot write '.tif'"):
        stylize.plan_outputs([str(tmp_path / "a.png")], tmp_path / "x.tif")


def test_stylize_files_reports_bad_files_and_finishes_the_rest(keras_stylizer, tmp_path):
    Image.new("RGB", (23, 17), (200, 10, 10)).save(tmp_path / "good.png")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff not really")
    pairs = stylize.plan_outputs(stylize.list_inputs(tmp_path), tmp_path / "out")

    failures = stylize.stylize_files(pairs, keras_stylizer)

    assert [os.path.basename(p) for p, _ in failures] == ["broken.jpg"]
    assert "not a readable image" in failures[0][1]
    assert image_io.load_image(tmp_path / "out" / "good.png").shape == (17, 23, 3)


def test_stylize_paths_is_the_whole_command_from_a_config(model_path, tmp_path):
    from dstyle_tf.errors import UserError
    from dstyle_tf.stylization import StylizeConfig
    from dstyle_tf.stylization import stylize_paths

    Image.new("RGB", (30, 22), (200, 40, 90)).save(tmp_path / "a.png")
    (tmp_path / "b.jpg").write_bytes(b"not a jpeg")
    config = StylizeConfig(model=model_path, input=str(tmp_path), output=str(tmp_path / "out"),
                           max_size=20, preserve_color=True)

    result = stylize_paths(config, progress=False)

    assert [os.path.basename(target) for _, target in result.pairs] == ["a.png", "b.jpg"]
    assert [os.path.basename(source) for source, _ in result.failures] == ["b.jpg"]
    assert image_io.load_image(tmp_path / "out" / "a.png").shape == (15, 20, 3)
    with pytest.raises(UserError, match="no such file"):
        stylize_paths(StylizeConfig(model=tmp_path / "none.keras", input=str(tmp_path),
                                    output=str(tmp_path / "o")))


# Command line: every command of these tests in one fresh process (run_commands).


@pytest.fixture(scope="module")
def cli(model_path, tmp_path_factory):
    """{test: (its command's result, its folder)}, all commands run in one process."""
    folders = {name: tmp_path_factory.mktemp(name) for name in ("upright", "folder", "refuse")}
    upright = folders["upright"]
    stored = np.random.default_rng(0).integers(0, 255, (53, 71, 3), dtype=np.uint8)
    image = Image.fromarray(stored)
    exif = image.getexif()
    exif[0x0112] = 6  # shown rotated: 53 wide x 71 high
    image.save(upright / "photo.jpg", exif=exif.tobytes())
    inputs = folders["folder"] / "in"
    inputs.mkdir()
    Image.new("RGB", (31, 25), (0, 90, 200)).save(inputs / "one.jpg")
    Image.new("L", (19, 29), 128).save(inputs / "two.png")
    (inputs / "notes.txt").write_text("hello")
    (inputs / "cut.jpg").write_bytes((inputs / "one.jpg").read_bytes()[:40])
    refuse = folders["refuse"]
    Image.new("RGB", (20, 20)).save(refuse / "a.png")
    folders["upright_before"] = (upright / "photo.jpg").read_bytes()
    commands = {
        "upright": [f"--model={model_path}", f"--input={upright / 'photo.jpg'}",
                    f"--output={upright / 'styled.png'}"],
        "folder": [f"--model={model_path}", f"--input={inputs}",
                   f"--output={folders['folder'] / 'out'}"],
        "same": [f"--model={model_path}", f"--input={refuse / 'a.png'}",
                 f"--output={refuse / 'a.png'}"],
        "bad_model": [f"--model={refuse / 'nope.tflite'}", f"--input={refuse / 'a.png'}",
                      f"--output={refuse / 'b.png'}"],
        "helpfull": ["--helpfull"],
    }
    results = run_commands(*(["dstyle_tf.stylize", *args] for args in commands.values()))
    return dict(zip(commands, results)), folders


def test_cli_keeps_upright_original_size(cli):
    results, folders = cli
    result, folder = results["upright"], folders["upright"]
    assert result.returncode == 0, result.stderr
    assert Image.open(folder / "styled.png").size == (53, 71)
    assert (folder / "photo.jpg").read_bytes() == folders["upright_before"]


def test_cli_folder_with_bad_files_exits_nonzero_without_traceback(cli):
    results, folders = cli
    result, folder = results["folder"], folders["folder"]
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "2 failed" in result.stderr and "notes.txt" in result.stderr and "cut.jpg" in result.stderr
    assert sorted(os.listdir(folder / "out")) == ["one.jpg", "two.png"]
    assert Image.open(folder / "out" / "two.png").size == (19, 29)


def test_cli_refuses_to_replace_input_and_bad_model(cli):
    results, _ = cli
    same, bad_model = results["same"], results["bad_model"]
    assert same.returncode != 0 and "would replace an input" in same.stderr
    assert bad_model.returncode != 0 and "no such file" in bad_model.stderr
    assert "Traceback" not in same.stderr + bad_model.stderr


def test_cli_helpfull_documents_every_flag(cli):
    result = cli[0]["helpfull"]
    for flag in ("model", "input", "output", "max_size", "tile_size", "tile_overlap",
                 "tile_context", "preserve_color", "overwrite", "jpeg_quality", "num_threads",
                 "style", "style_weights", "strength", "sheet"):
        assert re.search(rf"--(\[no\])?{flag}:", result.stdout), flag
