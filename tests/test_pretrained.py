"""The network that ships with the package (`dstyle_tf.pretrained`): its files
match their provenance, the one-call API and the commands use it."""

import fnmatch
import os
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import run_commands
import dstyle_tf
from dstyle_tf import pretrained
from dstyle_tf.errors import UserError
from dstyle_tf.pretrained import build
from dstyle_tf.styles import BUNDLED_STYLES
from dstyle_tf.stylization import StylizeConfig
from dstyle_tf.stylization import stylize_paths
from dstyle_tf.stylization import stylizers
from dstyle_tf.stylization.image import stylize_image as stylize_with

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Reference outputs are recorded rounded to 0.01; kernels differ across CPUs by less.
REFERENCE_TOLERANCE = 0.05


@pytest.fixture(scope="module")
def shipped():
    return pretrained.load_stylizer()


@pytest.fixture
def photo():
    y, x = np.mgrid[0:40, 0:52]
    return np.stack([x * 4, y * 5, (x + y) * 2], axis=-1).astype(np.uint8)


# The shipped files.


@pytest.mark.parametrize("style", BUNDLED_STYLES)
def test_shipped_network_matches_its_provenance(shipped, style):
    record = pretrained.provenance(style)
    assert record["style"] == style and record["network"] == f"{style}.keras"
    assert pretrained.file_sha256(pretrained.network_path(style)) == record["sha256"]
    network = shipped.network(style)
    assert network.num_styles == 1
    np.testing.assert_allclose(pretrained.reference_output(network), record["reference"]["output"],
                               atol=REFERENCE_TOLERANCE)


@pytest.mark.parametrize("style", BUNDLED_STYLES)
def test_provenance_says_how_it_was_made_and_how_good_it_is(style):
    record = pretrained.provenance(style)
    for key in ("painting", "command", "training_command", "config", "commit", "steps",
                "wall_time", "machine", "loss_network", "photos", "architecture"):
        assert record[key], key
    assert record["config"]["vgg"]["weights"] == "imagenet"
    assert record["steps"] == record["config"]["train"]["steps"]
    held_out = {os.path.splitext(name)[0] for name in record["quality"]["photos"]}
    trained = " ".join(record["photos"])
    assert held_out and not any(f"`{name}.png`" in trained for name in held_out)
    quality = record["quality"]
    assert quality["gram_distance"] > 0 and 0 < quality["edge_f1"] <= 1
    assert quality["baseline"]["optimize"]["gram_distance"] > 0


def test_every_bundled_style_ships_small_as_package_data():
    assert pretrained.shipped_styles() == BUNDLED_STYLES
    files = [f"{s}{ext}" for s in BUNDLED_STYLES for ext in (".keras", ".provenance.json")]
    total = sum(os.path.getsize(os.path.join(pretrained.NETWORKS_DIR, f)) for f in files)
    assert total < 10 * 2**20
    setup = open(os.path.join(REPO, "setup.py"), encoding="utf-8").read()
    patterns = ["networks/*.keras", "networks/*.provenance.json"]
    assert all(f'"{pattern}"' in setup for pattern in patterns)
    assert all(any(fnmatch.fnmatch(f"networks/{f}", p) for p in patterns) for f in files)


# The one-call API.


def test_stylize_image_is_the_shipped_network_with_one_style(shipped, photo):
    result = dstyle_tf.stylize_image(photo, style="wave")
    expected = stylize_with(photo.astype(np.float32), shipped,
                            style_weights=stylizers.select_style(BUNDLED_STYLES, "wave"))
    assert result.dtype == np.uint8 and result.shape == photo.shape
    np.testing.assert_array_equal(result, np.clip(np.round(expected), 0, 255).astype(np.uint8))
    floats = dstyle_tf.stylize_image(photo.astype(np.float32), style="wave")
    assert floats.dtype == np.float32
    np.testing.assert_allclose(floats, expected, atol=1e-4)
    assert np.abs(result.astype(float) - dstyle_tf.stylize_image(photo, style="the_scream")).mean() > 5


def test_stylize_image_blends_fades_and_takes_paths_pil_grey_and_rgba(shipped, photo, tmp_path):
    blend = dstyle_tf.stylize_image(photo, style={"wave": 1, "the_scream": 3})
    wave, scream = (stylize_with(photo.astype(np.float32), shipped.network(s))
                    for s in ("wave", "the_scream"))
    np.testing.assert_allclose(blend, 0.25 * wave + 0.75 * scream, atol=0.51)
    np.testing.assert_array_equal(dstyle_tf.stylize_image(photo, style="wave", strength=0), photo)
    path = tmp_path / "photo.png"
    Image.fromarray(photo).save(path)
    by_path = dstyle_tf.stylize_image(str(path), style="wave")
    np.testing.assert_array_equal(by_path, dstyle_tf.stylize_image(photo, style="wave"))
    np.testing.assert_array_equal(dstyle_tf.stylize_image(Image.fromarray(photo), style="wave"),
                                  by_path)
    rgba = np.concatenate([photo, np.full(photo.shape[:2] + (1,), 7, np.uint8)], axis=-1)
    np.testing.assert_array_equal(dstyle_tf.stylize_image(rgba, style="wave"), by_path)
    grey = dstyle_tf.stylize_image(photo[..., 0], style="wave")
    expected_grey = dstyle_tf.stylize_image(np.repeat(photo[..., :1], 3, axis=-1), style="wave")
    np.testing.assert_array_equal(grey, expected_grey)
    assert dstyle_tf.stylize_image(photo, style="wave", max_size=26).shape == (20, 26, 3)


def test_stylize_image_takes_any_model(tiny_model_path, photo):
    result = dstyle_tf.stylize_image(photo, model=tiny_model_path)
    own = stylize_with(photo.astype(np.float32), stylizers.load_stylizer(tiny_model_path))
    np.testing.assert_allclose(result, own, atol=0.51)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(style="monet"), stylizers.StyleError,
     "unknown style 'monet'; the model's styles are: 0 starry_night, 1 wave, 2 the_scream, "
     "3 composition_vii"),
    (dict(), stylizers.StyleError, "holds 4 styles"),
    (dict(style={"wave": -1}), stylizers.StyleError, "non-negative"),
])
def test_stylize_image_refuses_unknown_styles_listing_the_valid_ones(photo, kwargs, error, message):
    with pytest.raises(error, match=message):
        dstyle_tf.stylize_image(photo, **kwargs)


@pytest.mark.parametrize("image, message", [
    (np.zeros((4, 4, 2)), r"\(H, W, 3\) RGB"),
    (np.zeros((0, 4, 3)), r"\(H, W, 3\) RGB"),
    (np.full((4, 4, 3), np.nan), "NaN"),
    (np.array([[["a", "b", "c"]]]), "numbers"),
])
def test_stylize_image_refuses_bad_images(image, message):
    with pytest.raises(ValueError, match=message):
        dstyle_tf.stylize_image(image, style="wave")


def test_missing_networks_name_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv(pretrained.NETWORKS_DIR_VARIABLE, str(tmp_path))
    with pytest.raises(pretrained.PretrainedError, match="pretrained build"):
        pretrained.load_stylizer()
    (tmp_path / "wave.keras").write_bytes(b"x")  # without its provenance: not shipped
    with pytest.raises(pretrained.PretrainedError, match="no shipped networks"):
        pretrained.shipped_styles()
    (tmp_path / "wave.provenance.json").write_text("{")
    assert pretrained.shipped_styles() == ("wave",)
    with pytest.raises(pretrained.PretrainedError, match="cannot read the provenance"):
        pretrained.describe()


# The commands.


def test_stylize_command_without_model_uses_the_shipped_network(photo, tmp_path):
    source = tmp_path / "photo.png"
    Image.fromarray(photo).save(source)
    config = StylizeConfig(model=None, input=str(source), output=str(tmp_path / "out.png"),
                           style="composition_vii")
    assert stylize_paths(config, stylizer=pretrained.load_stylizer()).failures == []
    with pytest.raises(UserError, match="--model: no model given"):
        stylize_paths(config)
    written = np.asarray(Image.open(tmp_path / "out.png"))
    np.testing.assert_array_equal(written, dstyle_tf.stylize_image(photo, style="composition_vii"))


def test_cli_lists_styles_and_refuses_unknown_ones_in_one_line(photo, tmp_path):
    Image.fromarray(photo).save(tmp_path / "photo.png")
    listed, refused = run_commands(  # one process
        ["dstyle_tf.stylize", "--list_styles"],
        ["dstyle_tf.stylize", "--style=monet", f"--input={tmp_path}/photo.png",
         f"--output={tmp_path}/out.png"],
    )
    assert listed.returncode == 0, listed.stderr
    assert all(name in listed.stdout for name in BUNDLED_STYLES)
    assert "commit" in listed.stdout and "loss_network:" in listed.stdout
    assert refused.returncode == 2
    errors = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and all(name in errors[0] for name in BUNDLED_STYLES)
    assert "Traceback" not in refused.stderr


def test_export_pretrained_writes_serving_and_tflite_models(shipped, photo, tmp_path):
    result, unknown, both = run_commands(  # one process
        ["export", "--pretrained", "--style=wave", f"--output={tmp_path}",
         "--tflite_variants=float32", "--tflite_size=48", "--warmup_size=16"],
        ["export", "--pretrained", "--style=monet", f"--output={tmp_path}"],
        ["export", "--pretrained", "--model=x.keras", f"--output={tmp_path}"],
    )
    assert result.returncode == 0, result.stderr
    version = tmp_path / "wave" / "1"
    assert (version / "saved_model.pb").is_file()
    assert sorted(os.listdir(tmp_path)) == ["models.config", "wave"]
    config = (tmp_path / "models.config").read_text()
    assert 'name: "wave"' in config and 'base_path: "/models/wave"' in config
    tflite = stylizers.load_stylizer(next((version / "tflite").glob("*float32*.tflite")))
    image = np.random.default_rng(0).uniform(0, 255, (48, 48, 3)).astype(np.float32)
    np.testing.assert_allclose(tflite(image), shipped.network("wave")(image), atol=0.5)
    assert unknown.returncode == 2 and "the shipped styles are starry_night, wave" in unknown.stderr
    assert both.returncode != 0 and "--model or --pretrained" in both.stderr


# Rebuilding.


def test_build_records_quality_per_style_and_writes_atomically(tmp_path):
    report = {"images": ["a.png"], "summary": {
        "wave": {"gram_distance": {"mean": 11.0}, "edge_f1": {"mean": 0.5}, "ssim": {"mean": 0.3}},
    }}
    baseline = {"images": ["a.png"], "summary": {
        **report["summary"], "gatys/wave": {"gram_distance": {"mean": 1.0}},
    }}
    quality = build.quality_record("wave", report, baseline, 200)
    assert quality["gram_distance"] == 11.0 and quality["edge_f1"] == 0.5 and "ssim" not in quality
    assert quality["baseline"]["optimize"] == {"gram_distance": 1.0}
    assert quality["baseline"]["network"]["gram_distance"] == 11.0
    source = tmp_path / "net.keras"
    source.write_bytes(b"new")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "wave.keras").write_bytes(b"old")
    build.write_network(str(source), str(tmp_path / "out"), "wave", {"style": "wave"})
    assert (tmp_path / "out" / "wave.keras").read_bytes() == b"new"
    assert pretrained.provenance("wave", str(tmp_path / "out")) == {"style": "wave"}
    assert sorted(os.listdir(tmp_path / "out")) == ["wave.keras", "wave.provenance.json"]


def test_build_trains_the_pretrained_config_on_the_given_photos():
    config = build.training_config("wave", "/photos", steps=7)
    assert config.data.source == "folder" and config.data.folder == "/photos"
    assert config.train.steps == 7 and config.style.image == "wave"
    assert config.vgg.weights == "imagenet"
    with pytest.raises(pretrained.PretrainedError, match="choose from starry_night"):
        build.parse_styles("wave,monet")


def test_build_fine_tunes_the_trained_network_with_bounded_activations(tiny_model_path, tmp_path):
    from dstyle_tf.training import networks
    from dstyle_tf.training.config_validation import validate_config

    config = build.bounded_config("wave", str(tmp_path), tiny_model_path, steps=9)
    validate_config(config)
    assert config.fine_tune == config.distill.teacher == tiny_model_path
    assert (config.model.activation_clip, config.loss.distill_weight) == (6.0, 1000.0)
    assert config.train.steps == 9 and config.optimizer.learning_rate == 3e-4
    assert config.data.folder == str(tmp_path) and config.style.image == "wave"
    net, _ = networks.initial_network(config)
    assert net.activation_clip == 6.0
    assert "activations capped at 6" in build._architecture(net)
    flags = networks.bounded_fine_tune_flags("net.keras")
    assert "--config.fine_tune=net.keras" in flags and "--config.train.steps=300" in flags
    steps = [f for f in networks.bounded_fine_tune_flags("net.keras", 9) if "train.steps" in f]
    assert steps == ["--config.train.steps=9"]
    assert build.BuildConfig().bounded_steps == networks.BOUNDED_FINE_TUNE["train.steps"]


def test_build_records_its_command_line(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["__main__.py", "build", "--workdir=a b"])
    assert build.command_line() == "python -m dstyle_tf.pretrained build '--workdir=a b'"
    assert pretrained.provenance("wave")["command"].startswith("python -m dstyle_tf.pretrained build")
