"""Shared fixtures: tiny, offline versions of every network."""

import os

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
    "test_benchmark.py", "test_distribute.py", "test_export_saved_model.py",
    "test_train_cli.py", "test_checkpoints.py", "test_trainer.py", "test_training_faults.py",
    "test_benchmark_layers.py", "test_tiling.py", "test_export_tflite.py",
    "test_multistyle_training.py", "test_evaluate.py", "test_video.py",
    "test_transform_net.py", "test_export_multistyle.py", "test_comparison.py",
    "test_stylize.py", "test_web.py",
)


def pytest_collection_modifyitems(items):
    rank = {name: position for position, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: files stay whole



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
