"""The Johnson / structure-aware comparison behind docs/results.md."""

import json
import logging
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import REPO
from dstyle_tf import photo_sets
from dstyle_tf.errors import UserError
from dstyle_tf.evaluation import comparison

pytest.importorskip("skimage")


def test_the_two_runs_differ_only_in_the_structure_terms():
    configs = comparison.training_configs(comparison.ComparisonConfig(workdir="x", steps=7, style="wave"))
    a, b = (configs[label].to_dict() for label in comparison.LABELS)
    assert a["train"]["steps"] == b["train"]["steps"] == 7
    assert a["style"]["image"] == "wave"
    assert a["loss"]["edge_weight"] == 0 and b["loss"]["edge_weight"] > 0
    for section in ("loss", "depth", "edge"):
        a.pop(section), b.pop(section)
    assert a == b


def test_overrides_change_only_their_own_config():
    configs = comparison.training_configs(comparison.ComparisonConfig(
        workdir="x", steps=7, structure_override=["loss.style_weight=2", "loss.edge_weight=4e6"],
        johnson_override=["train.steps=9"],
    ))
    assert configs["structure"].loss.style_weight == 2.0 and configs["structure"].loss.edge_weight == 4e6
    assert configs["johnson"].loss.style_weight == 1.5 and configs["johnson"].train.steps == 9
    assert configs["structure"].train.steps == 7  # --steps first, overrides after
    with pytest.raises(UserError, match="^--johnson_override 'loss.edge=1': the config has no field"):
        comparison.training_configs(comparison.ComparisonConfig(workdir="x", johnson_override=["loss.edge=1"]))


def test_structure_config_file_is_a_flag(tmp_path):
    variant = tmp_path / "laplacian.py"
    variant.write_text(
        "from configs import structure\n\n\ndef get_config(arg=None):\n"
        "    config = structure.get_config(arg)\n    config.edge.backend = 'laplacian'\n    return config\n"
    )
    configs = comparison.training_configs(comparison.ComparisonConfig(workdir="x", structure_config=str(variant)))
    assert configs["structure"].edge.backend == "laplacian" and configs["johnson"].loss.edge_weight == 0


def test_each_seed_is_its_own_run(tmp_path):
    config = comparison.ComparisonConfig(workdir=str(tmp_path), seeds="0,1")
    runs = comparison.training_runs(config)
    assert [(r.label, r.seed) for r in runs] == [("johnson", 0), ("structure", 0), ("johnson", 1), ("structure", 1)]
    assert [r.config.seed for r in runs] == [0, 0, 1, 1]
    assert len({r.workdir for r in runs}) == 4
    assert runs[3].workdir == str(tmp_path / "structure" / "seed1") and runs[3].method == "structure/seed1"
    # Apart from the seed (and the structure terms), the same training.
    assert runs[0].config.to_dict() == {**runs[2].config.to_dict(), "seed": 0}


@pytest.mark.parametrize("seeds", ["", "0,x", "0,0", "-1", "1.5"])
def test_bad_seeds_are_user_errors(seeds):
    with pytest.raises(UserError, match="--seeds"):
        comparison.parse_seeds(seeds)
    assert comparison.parse_seeds(" 3, 1") == [3, 1] and comparison.parse_seeds([2]) == [2]


def test_a_run_of_the_single_seed_layout_moves_into_its_seed_folder(tmp_path):
    label_dir = tmp_path / "johnson"
    (label_dir / "checkpoints").mkdir(parents=True)
    (label_dir / "checkpoints" / "checkpoint").write_text("x")
    (label_dir / "config.json").write_text(json.dumps({"seed": 0}))
    messages = []
    comparison.migrate_single_seed_layout(str(label_dir), messages.append)
    assert sorted(os.listdir(label_dir)) == ["seed0"]
    assert (label_dir / "seed0" / "checkpoints" / "checkpoint").read_text() == "x"
    assert messages == [f"moved the training run in {label_dir} to {label_dir / 'seed0'}"]
    comparison.migrate_single_seed_layout(str(label_dir), messages.append)  # nothing left to move
    comparison.migrate_single_seed_layout(str(tmp_path / "structure"), messages.append)  # no run
    assert len(messages) == 1


def fake_debian(monkeypatch, root, names=photo_sets.DEBIAN_HELD_OUT):
    """photo_sets' Debian globs pointed at `root`, holding tiny JPEGs of `names`."""
    monkeypatch.setattr(photo_sets, "DEBIAN_PACKAGES", {p: str(root / p / "{name}.jpg") for p in photo_sets.DEBIAN_PACKAGES})
    for package, name in photo_sets.DEBIAN_PHOTOS:
        if name in names:
            (root / package).mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (40, 30), (120, 60, 30)).save(root / package / f"{name}.jpg")


def test_held_out_photos_with_the_debian_packages(tmp_path, monkeypatch):
    fake_debian(monkeypatch, tmp_path / "debian")
    folder, names = comparison.write_comparison_photos(str(tmp_path / "photos"), max_size=64)
    assert folder == str(tmp_path / "photos") and len(names) == 8
    assert names[:2] == ["astronaut.png", "chelsea.png"] and "LadyBird.png" in names
    assert sorted(os.listdir(folder)) == sorted(names)
    assert max(Image.open(tmp_path / "photos" / "astronaut.png").size) == 64


def test_held_out_photos_fall_back_to_scikit_image_without_debian(tmp_path, monkeypatch, caplog):
    fake_debian(monkeypatch, tmp_path / "empty", names=())
    extra = tmp_path / "extra_in"
    extra.mkdir()
    Image.new("RGB", (30, 20), (10, 200, 30)).save(extra / "street.jpg")
    with caplog.at_level(logging.WARNING):
        folder, names = comparison.write_comparison_photos(str(tmp_path / "photos"), extra_content=str(extra), max_size=64)
    assert names == ["astronaut.png", "chelsea.png"]
    assert (tmp_path / "photos" / "extra" / "street.png").is_file()
    assert photo_sets.INSTALL_HINT in caplog.text and "2 held-out photos, not 8" in caplog.text
    stamp = os.path.getmtime(tmp_path / "photos" / "astronaut.png")
    comparison.write_comparison_photos(str(tmp_path / "photos"), max_size=64)
    assert os.path.getmtime(tmp_path / "photos" / "astronaut.png") == stamp  # written once
    # --photos=none: only the extra folder is measured and drawn.
    assert comparison.write_comparison_photos(str(tmp_path / "photos"), "none", str(extra)) == (
        str(tmp_path / "photos" / "extra"), ["street.png"])
    with pytest.raises(UserError, match="--extra_content"):
        comparison.write_comparison_photos(str(tmp_path / "photos"), "none")


def test_summary_pairs_each_photo_and_seed(tmp_path):
    config = comparison.ComparisonConfig(workdir=str(tmp_path), seeds="0,1", structure_override=["loss.style_weight=2"])
    configs = comparison.training_configs(config)
    runs = comparison.training_runs(config, configs)
    rng = np.random.default_rng(0)
    rows = []
    for image in ("a.png", "b.png", "c.png"):
        for run in runs:
            gain = 0.1 if run.label == "structure" else 0.0
            f1 = 0.4 + gain + rng.uniform(0, 0.01)
            rows.append({"image": image, "model": run.method, "edge_f1": f1, "edge_spurious": 1 - f1,
                         "gram_distance": 100.0 + rng.uniform(0, 1), "ssim": 0.5})
    pairs = comparison.photo_seed_pairs(rows, runs)
    assert [(image, seed) for image, seed, _, _ in pairs] == [
        (i, s) for i in ("a.png", "b.png", "c.png") for s in (0, 1)]
    assert all(b["model"].startswith("johnson/") and t["model"].startswith("structure/") for *_, b, t in pairs)
    summary = comparison.summarize(pairs, config, configs)
    assert summary["pairs"] == 6 and summary["seeds"] == [0, 1] and summary["images"] == ["a.png", "b.png", "c.png"]
    assert summary["statistics"]["edge_f1"]["difference"]["n"] == 6
    assert summary["per_pair"][0]["edge_f1"] == pytest.approx(pairs[0][3]["edge_f1"] - pairs[0][2]["edge_f1"])
    assert summary["verdicts"]["claim"]
    assert summary["config_differences"]["loss.style_weight"] == [1.5, 2.0]
    assert summary["configs"]["structure"] == {"file": "configs/structure.py", "overrides": ["loss.style_weight=2"]}
    json.dumps(summary)
    markdown = comparison.comparison_markdown(summary)
    assert "6 pairs: 3 photos × seeds 0, 1" in markdown
    assert "- equal style strength: yes (ratio" in markdown
    assert "- structure claim (all three): met" in markdown
    assert "| edge F1 | ↑ |" in markdown


def test_gallery_has_a_column_per_method_and_a_row_per_photo(rng):
    rows = [
        (rng.uniform(0, 255, (30, 40, 3)), {l: np.full((30, 40, 3), 200.0) for l in comparison.LABELS}),
        (rng.uniform(0, 255, (40, 40, 3)), {l: np.zeros((40, 40, 3)) for l in comparison.LABELS}),
    ]
    picture = comparison.gallery(rows, width=64)
    # Each row as high as its photo at the cell width: 48 and 64 pixels.
    assert picture.size == (3 * 64 + 2 * 4, 24 + 48 + 64 + 2 * 4)
    pixels = np.asarray(picture)
    assert pixels[24 + 48 + 4 + 10, 2 * (64 + 4) + 32].max() == 0  # the black output of row 2
    assert pixels[24 + 10, 64 + 4 + 32].min() == 200  # the grey output of row 1


def test_cli_rejects_an_unknown_override_before_training(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "dstyle_tf.compare", f"--workdir={tmp_path}", "--structure_override=loss.nope=1"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1] == (
        "error: --structure_override 'loss.nope=1': the config has no field 'loss.nope'.")
    assert not os.listdir(tmp_path)


@pytest.mark.slow
def test_cli_end_to_end(tmp_path):
    workdir = tmp_path / "compare"
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        Image.fromarray(rng.integers(0, 255, (40, 56, 3), dtype=np.uint8)).save(photos / f"{name}.png")
    # The command's wiring is under test: tiny crops, style image and network.
    small = [f"--{label}_override={key}" for label in comparison.LABELS
             for key in ("data.image_size=32", "data.crops_per_photo=2", "style.size=32",
                         "model.filters=4", "model.num_residual_blocks=1")]
    out = subprocess.run(
        [sys.executable, "-m", "dstyle_tf.compare", f"--workdir={workdir}", "--steps=2", "--seeds=0,1",
         "--max_size=64", "--gallery_width=64", "--structure_override=loss.style_weight=2",
         "--photos=none", f"--extra_content={photos}", *small],
        cwd=REPO, capture_output=True, text=True, timeout=1800,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    methods = [f"{label}/seed{seed}" for seed in (0, 1) for label in comparison.LABELS]
    report = json.loads((workdir / "evaluation" / "report.json").read_text())
    assert [m["label"] for m in report["methods"]] == methods
    for method in methods:
        assert "hed_f1" in report["summary"][method] and "edge_f1" in report["summary"][method]
        assert (workdir / method / "transform_net.keras").is_file()
    assert json.loads((workdir / "structure" / "seed1" / "config.json").read_text())["seed"] == 1
    summary = json.loads((workdir / "comparison.json").read_text())
    photos = len(report["images"])
    assert photos >= 2 and summary["pairs"] == 2 * photos
    assert {"gram_distance", "edge_f1", "edge_spurious", "hed_f1", "ssim"} <= set(summary["statistics"])
    assert summary["config_differences"]["loss.style_weight"] == [1.5, 2.0]
    markdown = (workdir / "comparison.md").read_text()
    assert markdown in out.stdout and "edge F1 gain:" in markdown
    assert (workdir / "gallery.png").is_file()
