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
