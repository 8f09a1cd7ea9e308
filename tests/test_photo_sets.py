"""Offline photo sets: splits, the folder they fill, and the missing-package message."""

import os

import numpy as np
import pytest
from PIL import Image

from dstyle_tf import photo_sets
from dstyle_tf.errors import UserError


@pytest.fixture
def fake_debian(tmp_path, monkeypatch):
    """Every Debian photo as a small generated JPEG (two sizes for the plasma ones)."""
    rng = np.random.default_rng(0)
    for package, name in photo_sets.DEBIAN_PHOTOS:
        sizes = [(40, 30)] if package == "mate-backgrounds" else [(40, 30), (80, 50)]
        for w, h in sizes:
            path = tmp_path / package / name / f"{w}x{h}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(path)
    monkeypatch.setattr(photo_sets, "DEBIAN_PACKAGES", {
        p: str(tmp_path / p / "{name}" / "*.jpg") for p in photo_sets.DEBIAN_PACKAGES
    })
    monkeypatch.setattr(photo_sets, "skimage_photo", lambda name: np.full((60, 90, 3), 7, np.uint8))
    return tmp_path


def test_splits_are_disjoint_and_cover_every_photo():
    train, held_out = photo_sets.photo_names("train"), photo_sets.photo_names("held_out")
    assert not set(train) & set(held_out)
    assert len(held_out) >= 8 and ("scikit-image", "astronaut") in held_out
    debian = {(p, n) for p, n in train + held_out if p != "scikit-image"}
    assert debian == set(photo_sets.DEBIAN_PHOTOS)
    with pytest.raises(UserError, match="split must be one of train, held_out"):
        photo_sets.photo_names("test")


def test_fills_a_folder_with_the_largest_file_downscaled(fake_debian, tmp_path):
    folder = tmp_path / "out"
    written = photo_sets.write_photo_set(str(folder), "held_out", max_size=64)
    assert sorted(os.listdir(folder)) == sorted(written)
    assert written["EveningGlow.png"] == "plasma-workspace-wallpapers"
    assert Image.open(folder / "EveningGlow.png").size == (64, 40)  # from 80x50
    assert Image.open(folder / "astronaut.png").size == (64, 43)
    lines = photo_sets.provenance(written)
    assert "- `Dune.png`: mate-backgrounds (GPL-2+)" in lines


def test_missing_packages_give_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setattr(photo_sets, "DEBIAN_PACKAGES", {
        p: str(tmp_path / "none" / "{name}.jpg") for p in photo_sets.DEBIAN_PACKAGES
    })
    monkeypatch.setattr(photo_sets, "skimage_photo", lambda name: np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(UserError, match="apt-get install mate-backgrounds"):
        photo_sets.write_photo_set(str(tmp_path / "out"))
    written = photo_sets.write_photo_set(str(tmp_path / "out"), require_debian=False)
    assert set(written.values()) == {"scikit-image"}
