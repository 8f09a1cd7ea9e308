"""The evaluation libraries are an extra: importing works without them, using says what to install."""

import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO
from dstyle_tf.errors import UserError
from dstyle_tf.evaluation import sheets
from dstyle_tf.metrics import optional
from dstyle_tf.metrics import spearman
from dstyle_tf.metrics import ssim

HINT = 'pip install "dstyle_tf[eval]"'


@pytest.mark.parametrize(
    "module, package, use",
    [
        ("skimage.metrics", "scikit-image", lambda: ssim(np.eye(16), np.eye(16))),
        ("scipy.stats", "scipy", lambda: spearman(np.eye(4), np.eye(4))),
        ("matplotlib", "matplotlib", lambda: sheets.colormap(0.5)),
    ],
)
def test_a_missing_library_is_one_line_naming_the_extra(monkeypatch, module, package, use):
    monkeypatch.setitem(sys.modules, module, None)  # makes the import fail
    with pytest.raises(optional.MissingEvalLibrary) as error:
        use()
    assert isinstance(error.value, UserError) and isinstance(error.value, ImportError)
    assert str(error.value) == f"Evaluation needs {package}, which is not installed: {HINT}"


_BLOCK_EVAL_LIBRARIES = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("skimage", "scipy", "matplotlib"):
            raise ModuleNotFoundError(name)
sys.meta_path.insert(0, Block())
import dstyle_tf, dstyle_tf.training, dstyle_tf.evaluate, dstyle_tf.evaluation.report
from dstyle_tf.evaluation import sheets
print(sorted(name for name in sys.modules if name.split(".")[0] in ("skimage", "scipy", "matplotlib")))
"""


def test_package_training_and_evaluation_import_without_the_extra():
    result = subprocess.run(
        [sys.executable, "-c", _BLOCK_EVAL_LIBRARIES], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
