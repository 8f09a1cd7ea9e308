"""Evaluating multi-style networks: one method per style, each judged
against its own style image (`dstyle_tf.evaluation.styles`)."""

import json

import keras
import numpy as np
import pytest
from PIL import Image

from dstyle_tf import image_io
from dstyle_tf import metrics
from dstyle_tf.data import synthetic_images
from dstyle_tf.errors import UserError
from dstyle_tf.evaluation import report as report_lib
from dstyle_tf.evaluation import runner
from dstyle_tf.evaluation import styles
from dstyle_tf.models import TransformNet
from dstyle_tf.styles import style_path

# Named after bundled paintings: evaluated without --style.
NAMES = ["wave", "the_scream"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Two photos, a style image and tiny single- and two-style .keras models."""
    root = tmp_path_factory.mktemp("evaluation_multistyle")
    (root / "photos").mkdir()
    images = synthetic_images(3, 48, seed=3).astype(np.uint8)
    for index in range(2):
        Image.fromarray(images[index]).save(root / "photos" / f"photo{index}.png")
    Image.fromarray(images[2]).save(root / "mine.png")
    keras.utils.set_random_seed(0)
    single = TransformNet(filters=4, num_residual_blocks=1)
    single.build()
    single.save(root / "single.keras")
    multi = TransformNet(filters=4, num_residual_blocks=1, num_styles=2, style_names=NAMES)
    multi.build()
    rng = np.random.default_rng(1)
    for variable in multi.weights:  # styles that differ
        if variable.path.endswith(("/gamma", "/beta")):
            variable.assign(rng.normal(1.0, 0.5, variable.shape).astype("float32"))
    multi.save(root / "multi.keras")
    return root


def test_style_specs_name_styles_like_training(files):
    mine = str(files / "mine.png")
    assert styles.parse_style_specs("") == {}
    assert styles.parse_style_specs(f"wave, {mine}, munch={mine}") == {
        "wave": style_path("wave"), "mine": mine, "munch": mine}
    for text, message in [("nope.png", "no such file"), (f"{mine},{mine}", "given twice"),
                          ("wave,", "expected image paths"), (f"={mine}", "expected image paths")]:
        with pytest.raises(UserError, match=message):
            styles.parse_style_specs(text)


def test_single_style_model_picks_its_style_image(files, tmp_path):
    specs = {"wave": "w.jpg", "mine": "m.png"}
    assert styles.single_style_name("any", "runs/x.keras", {"mine": "m.png"}) == "mine"
    assert styles.single_style_name("wave", str(files / "single.keras"), specs) == "wave"
    (tmp_path / "config.json").write_text(json.dumps({"style": {"name": "mine"}}))
    assert styles.single_style_name("wave", str(tmp_path), specs) == "mine"  # training style first
    with pytest.raises(UserError, match="which --style image"):
        styles.single_style_name("other", str(files / "single.keras"), specs)
    with pytest.raises(UserError, match="give its style image with --style"):
        styles.single_style_name("other", str(files / "single.keras"), {})


def test_one_method_per_style_each_with_that_style_alone(files):
    methods = runner.model_methods("multi", str(files / "multi.keras"), {})
    assert [(m.label, m.style) for m in methods] == [("multi/wave", "wave"),
                                                     ("multi/the_scream", "the_scream")]
    net = keras.saving.load_model(files / "multi.keras")
    photo = image_io.load_image(files / "photos" / "photo0.png")
    outputs = [m.stylize(photo) for m in methods]
    for index, output in enumerate(outputs):
        expected = net(photo[None], style_weights=np.eye(2, dtype=np.float32)[[index]])[0]
        np.testing.assert_allclose(output, np.clip(expected, 0, 255), atol=1e-3)
    assert np.abs(outputs[0] - outputs[1]).mean() > 1.0


def test_a_style_without_an_image_is_one_clear_error(files):
    net = TransformNet(filters=4, num_residual_blocks=1, num_styles=2)  # style_0, style_1
    net.build()
    net.save(files / "unnamed.keras")
    with pytest.raises(UserError, match="no image for its style 'style_0': add style_0=<image>"):
        runner.model_methods("unnamed", str(files / "unnamed.keras"), {"wave": "w.jpg"})


def test_each_style_is_judged_against_its_own_image(vgg, depth_net, files):
    photo = image_io.load_image(files / "photos" / "photo0.png")
    style_images = {
        name: image_io.load_image(style_path(name), max_size=64) for name in NAMES
    }
    judge = runner.Judge(vgg, depth_net, style_images)
    same = [runner.Method(f"same/{name}", lambda p: p, style=name) for name in NAMES]
    result = runner.evaluate_photo("photo0", photo, same, judge)
    features = metrics.features_of(vgg, photo)
    for row, name in zip(result.rows, NAMES):
        grams = metrics.gram_matrices(metrics.features_of(vgg, style_images[name]))
        assert row["style"] == name
        assert row["gram_distance"] == pytest.approx(metrics.gram_distance(features, grams), rel=1e-5)
    assert result.rows[0]["gram_distance"] != pytest.approx(result.rows[1]["gram_distance"])


def test_run_evaluation_reports_every_style_without_style_flag(files):
    config = runner.EvaluationConfig(
        models=[f"multi={files / 'multi.keras'}", f"wave={files / 'single.keras'}"],
        content=str(files / "photos"), style="", output=str(files / "out"), max_size=48,
        style_size=64, vgg_weights="random", depth_preset="random", depth_input_size=126,
        edge_judge="none", sheet_cell_width=48, save_images=False,
    )
    with pytest.raises(UserError, match="holds one style; give its style image"):
        runner.run_evaluation(config)
    config.style = "wave"
    report = runner.run_evaluation(config)
    assert [(m["label"], m["style"]) for m in report["methods"]] == [
        ("multi/wave", "wave"), ("multi/the_scream", "the_scream"), ("wave", "wave")]
    for label in ("multi/wave", "multi/the_scream"):
        assert report["summary"][label]["gram_distance"]["count"] == 2
        assert report["summary"][label]["edge_f1"]["count"] == 2
    saved = json.loads((files / "out" / "report.json").read_text())
    assert {row["style"] for row in saved["per_image"]} == set(NAMES)
    table = report_lib.style_table(report).splitlines()
    assert table[0].startswith("| style | method | style: Gram distance | edge F1 |")
    rows = {tuple(cell.strip() for cell in line.split("|")[1:3]): line for line in table[2:]}
    assert set(rows) == {("wave", "multi/wave"), ("wave", "wave"), ("the_scream", "multi/the_scream")}
    assert rows[("the_scream", "multi/the_scream")].endswith("| 1 |")  # alone: its own lowest
    assert "## Per style" in (files / "out" / "report.md").read_text()
