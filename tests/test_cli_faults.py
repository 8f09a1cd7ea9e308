"""Stylize and export under bad paths: messages, exit codes, inputs untouched."""

import hashlib
import os
import subprocess
import sys

import pytest
from PIL import Image

from conftest import REPO
from conftest import run_commands

pytestmark = pytest.mark.slow


@pytest.fixture
def model_path(tiny_model_path):
    return tiny_model_path


def _run(module, *args):
    return subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, cwd=REPO,
        timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )


def _digests(folder):
    return {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
        for name in sorted(os.listdir(folder))
    }


def test_unwritable_output_is_a_clear_error_and_inputs_are_untouched(model_path, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    Image.new("RGB", (21, 17), (10, 200, 30)).save(inputs / "a.jpg")
    Image.new("RGB", (9, 33), (200, 10, 30)).save(inputs / "b.png")
    before = _digests(inputs)
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("a file where the output folder should go")

    result = _run("dstyle_tf.stylize", f"--model={model_path}", f"--input={inputs}",
                  f"--output={blocker / 'out'}")

    assert result.returncode != 0
    assert "Traceback" not in result.stderr and str(blocker) in result.stderr
    assert _digests(inputs) == before
    assert blocker.read_text().startswith("a file where")


def test_missing_input_and_missing_model_are_clear_errors(model_path, tmp_path):
    missing_input, missing_model = run_commands(  # one process
        ["dstyle_tf.stylize", f"--model={model_path}", f"--input={tmp_path / 'nothing.jpg'}",
         f"--output={tmp_path / 'o.png'}"],
        ["export", f"--model={tmp_path / 'none.keras'}", "--style=x",
         f"--export_dir={tmp_path / 'exports'}"],
    )
    for result in (missing_input, missing_model):
        assert result.returncode != 0 and "Traceback" not in result.stderr
        assert result.stderr.strip()
    assert not os.path.exists(tmp_path / "exports" / "x")


def test_export_into_a_file_path_fails_cleanly(model_path, tmp_path):
    blocker = tmp_path / "exports"
    blocker.write_text("not a folder")
    result = _run("export", f"--model={model_path}", "--style=x", f"--export_dir={blocker}",
                  "--tflite_variants=")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert blocker.read_text() == "not a folder"
