"""Model files from others are data, not code: safe mode, no pickle."""

import os
import re

import keras
import pytest

from dstyle_tf import stylize
from dstyle_tf.errors import WeightsUnavailableError
from dstyle_tf.models.depth import DepthNetwork

from conftest import REPO


@pytest.fixture
def lambda_model(tmp_path):
    """A .keras file whose Lambda layer carries Python bytecode."""
    inputs = keras.Input((None, None, 3))
    outputs = keras.layers.Lambda(lambda x: x * 0.5)(inputs)
    path = str(tmp_path / "evil.keras")
    keras.Model(inputs, outputs).save(path)
    return path


def test_stylize_refuses_code_in_keras_files(lambda_model):
    with pytest.raises(stylize.ModelLoadError, match="safe_mode"):
        stylize.load_stylizer(lambda_model)


def test_depth_backend_refuses_code_in_keras_files(lambda_model):
    with pytest.raises(WeightsUnavailableError, match="safe_mode"):
        DepthNetwork(backend="keras_model", model_path=lambda_model, input_size=32)


def test_no_unsafe_deserialisation_in_the_code_base():
    unsafe = re.compile(r"\bpickle\b|allow_pickle\s*=\s*True|safe_mode\s*=\s*False|\bmarshal\b|\bdill\b")
    offenders = []
    for folder in ("dstyle_tf", "export", "configs"):
        for root, _, files in os.walk(os.path.join(REPO, folder)):
            for name in files:
                if name.endswith(".py"):
                    text = open(os.path.join(root, name), encoding="utf-8").read()
                    offenders += [f"{name}: {m.group(0)}" for m in unsafe.finditer(text)]
    assert offenders == []
