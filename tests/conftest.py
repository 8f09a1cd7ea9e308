"""Shared fixtures: tiny, offline versions of every network."""

import os

# Quiet TensorFlow's C++ start-up logs in test output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))



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
