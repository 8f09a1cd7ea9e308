"""Bounded activations (`TransformNet(activation_clip=...)`) for int8 export:
the bound itself, the config, fine-tuning a trained network into one, and the
exported graph."""

import re

import keras
import ml_collections
import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from configs import demo
from dstyle_tf.errors import UserError
from dstyle_tf.models import TransformNet
from dstyle_tf.models.layers import ConvBlock
from dstyle_tf.models.layers import ResidualBlock
from dstyle_tf.models.layers import UpsampleBlock
from dstyle_tf.models.layers import bound_activation
from dstyle_tf.models.layers import check_activation_clip
from dstyle_tf.training import config_validation
from dstyle_tf.training import networks
from export import exporter
from export import tflite

SIZE = (32, 48)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """A bounded network and its float32, int8 and int8-with-float-blocks
    files, converted once (conversion is slow)."""
    net = _net(6, seed=5)
    directory = str(tmp_path_factory.mktemp("bounded"))
    calibration = exporter.synthetic_images(4, *SIZE, seed=6)
    paths = tflite.convert_all(net, directory, ["float32", "int8"], SIZE, calibration)
    paths["mixed"] = tflite.convert_all(net, directory, ["int8"], SIZE, calibration,
                                        prefix="mixed", int8_float_blocks=("c9s1", "d1"))["int8"]
    return net, paths


def _net(activation_clip=None, seed=0):
    keras.utils.set_random_seed(seed)
    net = TransformNet(filters=4, num_residual_blocks=1, activation_clip=activation_clip)
    net.build()
    return net


@pytest.mark.parametrize("relu, clip, expected", [
    (True, 6.0, lambda x: np.clip(x, 0, 6)),
    (True, 2.5, lambda x: np.clip(x, 0, 2.5)),
    (False, 6.0, lambda x: np.clip(x, -6, 6)),
    (True, None, lambda x: np.maximum(x, 0)),
    (False, None, lambda x: x),
])
def test_bound_activation_matches_numpy(relu, clip, expected):
    x = np.random.default_rng(0).normal(0, 8, (2, 5, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(bound_activation(x, relu, clip)), expected(x))


def test_activation_clip_argument():
    assert check_activation_clip(None) is None
    assert check_activation_clip(0) is None
    assert check_activation_clip(6) == 6.0
    for bad in (-1, "6"):
        with pytest.raises(ValueError, match="activation_clip"):
            check_activation_clip(bad)


def test_every_normalised_block_is_bounded_and_the_config_round_trips(tmp_path):
    plain, bounded = _net(), _net(6)
    assert "activation_clip" not in plain.get_config()  # old configs stay as they were
    assert bounded.get_config()["activation_clip"] == 6.0
    blocks = [
        layer for layer in bounded._flatten_layers(include_self=False, recursive=True)
        if isinstance(layer, (ConvBlock, ResidualBlock, UpsampleBlock))
    ]
    unbounded = {layer.name for layer in blocks if layer.activation_clip != 6.0}
    # The output convolution has no normalisation; the residual branches'
    # second convolution no ReLU (its ±clip would run outside XNNPACK in int8).
    assert unbounded == {"c9s1_out", "block2"}

    bounded.save(tmp_path / "bounded.keras")
    loaded = keras.saving.load_model(tmp_path / "bounded.keras")
    images = exporter.synthetic_images(2, *SIZE, seed=1)
    assert loaded.activation_clip == 6.0
    np.testing.assert_allclose(np.asarray(loaded(images)), np.asarray(bounded(images)), atol=1e-4)


def test_normalised_outputs_stay_inside_the_bound():
    x = np.random.default_rng(1).normal(0, 1, (1, 16, 16, 4)).astype(np.float32)
    for activation, low in ((True, 0.0), (False, -3.0)):
        block = ConvBlock(8, 3, activation=activation, activation_clip=3.0)
        block(x)
        block.norm.gamma.assign(np.full(8, 20.0, np.float32))  # heavy tails
        out = np.asarray(block(x))
        assert out.min() >= low and out.max() <= 3.0
        assert np.mean(np.isclose(np.abs(out), 3.0)) > 0.3  # the bound is reached


def test_with_activation_clip_copies_the_weights():
    trained = _net(seed=3)
    assert networks.with_activation_clip(trained, 0.0) is trained
    loose = networks.with_activation_clip(trained, 1e9)  # bound never reached
    tight = networks.with_activation_clip(trained, 0.5)
    images = exporter.synthetic_images(2, *SIZE, seed=2)

    assert loose.activation_clip == 1e9 and trained.activation_clip is None
    for a, b in zip(loose.get_weights(), trained.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.asarray(loose(images)), np.asarray(trained(images)), atol=1e-4)
    assert np.abs(np.asarray(tight(images)) - np.asarray(trained(images))).max() > 1.0


def test_fine_tune_goes_on_training_a_trained_network_bounded(tmp_path):
    _net(seed=4).save(tmp_path / "transform_net.keras")
    config = demo.get_config()
    config.fine_tune = str(tmp_path)
    config.model.activation_clip = 6.0

    net, indices = networks.initial_network(config)

    assert net.activation_clip == 6.0 and net.filters == 4  # its own architecture
    assert net.num_styles == 1 and indices is None  # the same style, trained on
    config.init_from = str(tmp_path)
    with pytest.raises(UserError, match="not both"):
        networks.initial_network(config)
    config.init_from, config.style.image = "", "starry_night,wave"
    with pytest.raises(UserError, match="holds 1 style"):
        networks.initial_network(config)
    config.style.image, config.fine_tune = "starry_night", str(tmp_path / "missing")
    with pytest.raises(UserError, match="fine_tune: no trained network"):
        networks.initial_network(config)


def test_config_refuses_a_negative_clip():
    config = ml_collections.ConfigDict(demo.get_config())
    config.model.activation_clip = -1.0
    with pytest.raises(UserError, match="model.activation_clip"):
        config_validation.validate_config(config)


def test_bounded_network_exports_as_one_xnnpack_partition(converted):
    """ReLU6 fuses into the op before it (no MINIMUM or MAXIMUM, which XNNPACK
    does not run in int8): every variant stays one XNNPACK partition."""
    net, paths = converted
    ops = {op["op_name"] for op in Interpreter(model_path=paths["float32"])._get_ops_details()}

    assert not ops & {"MINIMUM", "MAXIMUM", "RELU6"}
    for variant in ("float32", "int8"):
        report = tflite.xnnpack_delegation(paths[variant])
        assert report["partitions"] == 1, (variant, report)
    images = exporter.synthetic_images(2, *SIZE, seed=7)
    assert tflite.verify(paths["float32"], net, images, timing_runs=0)["psnr_db"] > 80


def test_export_advice_points_unbounded_networks_below_the_floor_to_the_fine_tune():
    entries = [
        {"variant": "float32", "psnr_db_worst": 100.0},
        {"variant": "int8", "psnr_db_worst": 25.4, "below_psnr_floor": True},
    ]
    advice = exporter.variant_advice(entries, "AVX2")
    assert "int8 25.4 dB (floor 30)" in advice
    assert "--config.model.activation_clip=6" in advice
    assert "activation_clip" not in exporter.variant_advice(entries, "AVX2", activation_clip=6.0)
    assert "activation_clip" not in exporter.variant_advice(entries[:1], "AVX2")


def test_int8_float_blocks_stay_float_in_one_partition(converted, tmp_path):
    net, paths = converted
    mixed, plain = paths["mixed"], paths["int8"]
    images = exporter.synthetic_images(2, *SIZE, seed=7)

    interpreter = Interpreter(model_path=mixed)
    types = {t["name"]: t["dtype"] for t in interpreter.get_tensor_details()}
    convolutions = {name: dtype for name, dtype in types.items() if name.endswith(
        ("convolution", "convolution1", "convolution2"))}

    def dtypes(blocks):
        pattern = re.compile(f"/({blocks})_[0-9]+/")
        return {dtype for name, dtype in convolutions.items() if pattern.search(name)}

    assert dtypes("c9s1|d1") == {np.float32}
    assert dtypes("d2|res1|c9s1_out") == {np.int8, np.int32}  # int32: their biases
    assert tflite.xnnpack_delegation(mixed)["partitions"] == 1
    mixed_db = tflite.verify(mixed, net, images, timing_runs=0)["psnr_db"]
    plain_db = tflite.verify(plain, net, images, timing_runs=0)["psnr_db"]
    assert mixed_db > plain_db
    with pytest.raises(tflite.ConversionError, match="no block u7"):
        tflite.convert_all(net, str(tmp_path), ["int8"], SIZE,
                           exporter.synthetic_images(1, *SIZE, seed=6), int8_float_blocks=("u7",))


def test_benchmark_times_int8_with_float_outer_blocks(tmp_path):
    from dstyle_tf.benchmark import inference
    from dstyle_tf.benchmark import report

    net = _net(6, seed=5)
    images = exporter.synthetic_images(2, 32, 32, seed=6)
    runners = inference._tflite_runners(net, str(tmp_path), ["int8", inference.OUTER_FLOAT],
                                        32, images, 1, "t")

    assert set(runners) == {"tflite_int8", "tflite_int8_outer_float"}
    assert runners["tflite_int8_outer_float"][3]["partitions"] == 1
    assert "tflite_int8_outer_float" not in inference.DEFAULT_BACKENDS
    section = {"test_images": "photos", "psnr": [{
        "variant": inference.OUTER_FLOAT, "size": 512, "images": 8,
        "psnr_db_worst_vs_keras": 31.0, "psnr_db_mean_vs_keras": 33.0}]}
    (verdict,) = report.psnr_floor_targets(section, trained=True)
    assert "≥ 30 dB" in str(verdict) and "int8_outer_float" in str(verdict)
