"""The Johnson / structure-aware comparison behind docs/results.md."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO
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


def test_held_out_photos_are_written_once(tmp_path):
    extra = tmp_path / "extra_in"
    extra.mkdir()
    from PIL import Image

    Image.new("RGB", (30, 20), (10, 200, 30)).save(extra / "street.jpg")
    names = comparison.write_held_out_photos(str(tmp_path / "photos"), str(extra))
    assert names == ["astronaut.png", "chelsea.png"]
    assert (tmp_path / "photos" / "extra" / "street.png").is_file()
    stamp = os.path.getmtime(tmp_path / "photos" / "astronaut.png")
    comparison.write_held_out_photos(str(tmp_path / "photos"))
    assert os.path.getmtime(tmp_path / "photos" / "astronaut.png") == stamp


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


@pytest.mark.slow
def test_cli_end_to_end(tmp_path):
    workdir = tmp_path / "compare"
    out = subprocess.run(
        [sys.executable, "-m", "dstyle_tf.compare", f"--workdir={workdir}", "--steps=2",
         "--max_size=64", "--gallery_width=64"],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads((workdir / "evaluation" / "report.json").read_text())
    assert set(report["summary"]) == set(comparison.LABELS)
    for label in comparison.LABELS:
        assert "hed_f1" in report["summary"][label] and "edge_f1" in report["summary"][label]
    assert (workdir / "gallery.png").is_file()
    assert "structure" in out.stdout
