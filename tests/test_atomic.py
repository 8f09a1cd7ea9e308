"""Atomic writes: the old file or the new one, never a half-written mix."""

import json
import os

import keras
import numpy as np
import pytest

from dstyle_tf import atomic
from dstyle_tf.models import TransformNet


def test_write_json_round_trips_and_leaves_no_temporary(tmp_path):
    path = str(tmp_path / "losses.json")
    atomic.write_json(path, {"loss": 1.5, "step": 3})
    assert json.load(open(path)) == {"loss": 1.5, "step": 3}
    assert os.listdir(tmp_path) == ["losses.json"]


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = str(tmp_path / "config.json")
    atomic.write_json(path, {"old": True})

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic.write_json(path, {"new": True})
    assert json.load(open(path)) == {"old": True}
    assert os.listdir(tmp_path) == ["config.json"]


def test_save_keras_keeps_the_old_model_when_saving_fails(tmp_path, monkeypatch, rng):
    path = str(tmp_path / "transform_net.keras")
    net = TransformNet(filters=4, num_residual_blocks=1)
    net.build()
    atomic.save_keras(net, path)
    x = rng.uniform(0, 255, (1, 12, 12, 3)).astype("float32")
    before = keras.models.load_model(path)(x)

    def broken_save(self, filepath, **kwargs):
        with open(filepath, "wb") as f:
            f.write(b"partial")
        raise OSError("killed mid-write")

    monkeypatch.setattr(TransformNet, "save", broken_save)
    with pytest.raises(OSError):
        atomic.save_keras(net, path)
    np.testing.assert_allclose(keras.models.load_model(path)(x), before)
    assert os.listdir(tmp_path) == ["transform_net.keras"]


def test_directory_keeps_old_version_when_replacement_fails(tmp_path):
    final = tmp_path / "7"
    final.mkdir()
    (final / "saved_model.pb").write_text("old")

    with pytest.raises(RuntimeError):
        with atomic.directory(final, overwrite=True) as scratch:
            (open(os.path.join(scratch, "saved_model.pb"), "w")).write("new")
            raise RuntimeError("boom")

    assert (final / "saved_model.pb").read_text() == "old"
    assert os.listdir(tmp_path) == ["7"]


def test_directory_replaces_whole_and_refuses_without_overwrite(tmp_path):
    final = tmp_path / "3"
    final.mkdir()
    (final / "stale.txt").write_text("old")
    with pytest.raises(FileExistsError, match="already exists"):
        with atomic.directory(final):
            pass

    with atomic.directory(final, overwrite=True) as scratch:
        (open(os.path.join(scratch, "new.txt"), "w")).write("new")

    assert os.listdir(final) == ["new.txt"]
    assert os.listdir(tmp_path) == ["3"]


def test_replaced_files_get_the_permissions_of_a_plain_write(tmp_path):
    umask = os.umask(0o022)
    try:
        atomic.write_text(tmp_path / "a.txt", "x")
        with atomic.directory(tmp_path / "d"):
            pass
    finally:
        os.umask(umask)
    assert os.stat(tmp_path / "a.txt").st_mode & 0o777 == 0o644
    assert os.stat(tmp_path / "d").st_mode & 0o777 == 0o755
