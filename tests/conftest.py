"""Shared fixtures: tiny, offline versions of every network."""

import gc
import json
import os
import subprocess
import sys

# Quiet TensorFlow's C++ start-up logs in test output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The longest test files, longest first (summed --durations=0 times). pytest-xdist
# hands whole files to its workers in collection order (pytest.ini: --dist loadfile
# --no-loadscope-reorder), so the long files start early and the short ones fill in
# at the end, instead of one worker running a long file alone while the other idles.
# A file not listed runs after these, in the usual order.
LONGEST_FIRST = (
    "test_benchmark.py", "test_distribute.py", "test_training_faults.py", "test_trainer.py",
    "test_export_saved_model.py", "test_export_tflite.py", "test_export_quantisation.py",
    "test_benchmark_layers.py", "test_train_cli.py", "test_checkpoints.py",
    "test_comparison.py", "test_video.py", "test_web.py", "test_export_multistyle.py",
    "test_evaluate.py", "test_structure_training.py", "test_multistyle_net.py",
    "test_pretrained.py", "test_tiling.py", "test_optimize.py", "test_stylize.py",
    "test_stability.py", "test_multistyle_training.py", "test_transform_net.py",
)


def pytest_collection_modifyitems(items):
    rank = {name: position for position, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: files stay whole



@pytest.fixture(scope="module", autouse=True)
def _freeze_survivors():
    """After each test file: collect its garbage, then freeze what survives.

    TensorFlow calls `gc.collect()` itself (each TFLite conversion, Keras on
    deleting a variable), and a full collection walks every object the process
    holds: late in the suite, that is everything earlier files left alive.
    Frozen objects are skipped by the collector, so each collection walks only
    the current file's objects. Garbage is collected before it is frozen.
    """
    yield
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def _float32_policy():
    """Every test starts and ends with the default float32 policy."""
    keras.config.set_dtype_policy("float32")
    yield
    keras.config.set_dtype_policy("float32")


@pytest.fixture(scope="session")
def vgg():
    from dstyle_tf.models.vgg import VGGFeatures

    keras.utils.set_random_seed(0)
    return VGGFeatures(weights_source=None)


@pytest.fixture(scope="session")
def depth_net():
    from dstyle_tf.models.depth import DepthNetwork

    keras.utils.set_random_seed(0)
    return DepthNetwork(preset=None, input_size=126)


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory):
    """A tiny random TransformNet saved as .keras."""
    from dstyle_tf.models import TransformNet

    keras.utils.set_random_seed(0)
    net = TransformNet(filters=4, num_residual_blocks=1)
    net.build()
    path = tmp_path_factory.mktemp("tiny_model") / "transform_net.keras"
    net.save(path)
    return str(path)


@pytest.fixture(scope="session")
def tiny_multistyle_net():
    """A tiny TransformNet with styles "wave", "scream", "starry" that differ
    (random instance-norm γ and β; they start at ones and zeros)."""
    from dstyle_tf.models import TransformNet

    keras.utils.set_random_seed(0)
    net = TransformNet(
        filters=4, num_residual_blocks=1, num_styles=3, style_names=["wave", "scream", "starry"]
    )
    net.build()
    rng = np.random.default_rng(1)
    for variable in net.weights:
        if variable.path.endswith(("/gamma", "/beta")):
            variable.assign(rng.normal(1.0, 0.5, variable.shape).astype("float32"))
    return net


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def smoke_config(**overrides):
    """configs/smoke.py with dotted-key overrides, e.g. train__steps=4."""
    from configs import smoke

    config = smoke.get_config()
    for key, value in overrides.items():
        section, field = key.split("__")
        config[section][field] = value
    return config


# `python -m` commands one after the other in one fresh process, each run as
# `python -m` runs it (runpy, as `__main__`): TensorFlow starts once. A
# command's flags are removed, and the module that defined them forgotten,
# before the next command defines its own of the same names.
_COMMANDS_SCRIPT = """
import contextlib, io, json, runpy, sys, traceback
from absl import app, flags

app.define_help_flags()  # absl's own, kept for every command
results = []
for argv in json.loads(sys.argv[1]):
    before = set(flags.FLAGS)
    sys.argv = list(argv)
    stdout, stderr, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            runpy.run_module(argv[0], run_name="__main__", alter_sys=True)
        except SystemExit as e:
            if e.code is not None and not isinstance(e.code, int):
                print(e.code, file=sys.stderr)
            code = e.code if isinstance(e.code, int) else int(e.code is not None)
        except BaseException:
            traceback.print_exc()
            code = 1
    results.append((code, stdout.getvalue(), stderr.getvalue()))
    for name in set(flags.FLAGS) - before:
        sys.modules.pop(flags.FLAGS.find_module_defining_flag(name), None)
        delattr(flags.FLAGS, name)
    flags.FLAGS.unparse_flags()
print(json.dumps(results))
"""


def run_commands(*commands, timeout=300):
    """Runs each command (`[module, *args]`, as `python -m module args`) one
    after the other in one fresh Python process from the repository root.

    Returns:
        a `subprocess.CompletedProcess` per command: its exit code, stdout
        and stderr (what Python writes; TensorFlow's C++ logs are not kept).
    """
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": REPO}
    process = subprocess.run([sys.executable, "-c", _COMMANDS_SCRIPT, json.dumps(commands)],
                             cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    assert process.returncode == 0, process.stderr[-3000:]
    results = json.loads(process.stdout.strip().splitlines()[-1])
    return [subprocess.CompletedProcess(command, *result)
            for command, result in zip(commands, results)]
