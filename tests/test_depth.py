"""DepthNetwork: the keras-hub Depth Anything backend and .keras models."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dstyle_tf.errors import UserError
from dstyle_tf.errors import WeightsUnavailableError
from dstyle_tf.models import depth as depth_lib
from dstyle_tf.models.depth import DepthNetwork
from dstyle_tf.models.depth import standardize_depth


def test_any_size_in_standardised_maps_out(depth_net, rng):
    out = depth_net(rng.uniform(0, 255, (2, 70, 95, 3)).astype("float32")).numpy()
    assert out.shape == (2, 126, 126, 1) and out.dtype == np.float32
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), 0.0, atol=1e-3)
    np.testing.assert_allclose(out.std(axis=(1, 2, 3)), depth_net.scale, rtol=1e-3)


def test_standardisation_is_scale_and_shift_invariant(rng):
    d = rng.uniform(1, 5, (2, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(
        standardize_depth(3.0 * d + 7.0, 10.0), standardize_depth(d, 10.0), atol=1e-4
    )


def test_frozen_but_differentiable(depth_net, rng):
    assert depth_net.trainable_variables == []
    images = tf.Variable(rng.uniform(0, 255, (1, 40, 40, 3)).astype("float32"))
    target = tf.random.normal((1, 126, 126, 1), seed=1)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(depth_net(images) - target))
    grad = tape.gradient(loss, images)
    assert grad is not None and float(tf.reduce_max(tf.abs(grad))) > 0


def test_local_preset_directory_round_trip(depth_net, tmp_path, rng):
    preset = str(tmp_path / "tiny_depth_anything")
    depth_net.network.save_to_preset(preset)
    loaded = DepthNetwork(preset=preset, input_size=126)
    images = rng.uniform(0, 255, (1, 50, 50, 3)).astype("float32")
    np.testing.assert_allclose(loaded(images), depth_net(images), atol=1e-4)


def test_missing_preset_directory_is_a_clear_error(tmp_path):
    with pytest.raises(WeightsUnavailableError, match="preset directory not found"):
        DepthNetwork(preset=str(tmp_path / "missing"), input_size=126)


def test_unreachable_preset_says_how_to_get_it(monkeypatch):
    import keras_hub

    def offline(*args, **kwargs):
        raise ConnectionError("Failed to resolve 'api.kaggle.com'")

    monkeypatch.setattr(keras_hub.models.DepthAnythingDepthEstimator, "from_preset", offline)
    with pytest.raises(WeightsUnavailableError) as info:
        DepthNetwork(preset="depth_anything_v2_small")
    assert "save_to_preset" in str(info.value) and "--config.depth.preset=" in str(info.value)


def test_keras_model_backend(tmp_path, rng):
    inputs = keras.Input((None, None, 3))
    depth = keras.layers.Conv2D(1, 3, padding="same")(inputs)
    path = str(tmp_path / "depth.keras")
    keras.Model(inputs, depth).save(path)
    net = DepthNetwork(backend="keras_model", model_path=path, input_size=32, scale=1.0)
    out = net(rng.uniform(0, 255, (2, 20, 30, 3)).astype("float32")).numpy()
    assert out.shape == (2, 32, 32, 1)
    np.testing.assert_allclose(out.std(axis=(1, 2, 3)), 1.0, rtol=1e-3)


def test_bad_arguments_are_clear_errors(tmp_path):
    with pytest.raises(UserError, match="Unknown depth backend"):
        DepthNetwork(backend="midas")
    with pytest.raises(UserError, match="multiple of 14"):
        DepthNetwork(preset=None, input_size=128)
    with pytest.raises(WeightsUnavailableError, match="not found"):
        DepthNetwork(backend="keras_model", model_path=str(tmp_path / "none.keras"))


def test_tiny_architecture_is_the_documented_one(depth_net):
    # The random stand-in that is built is the one DESIGN.md documents (not only the table).
    backbone = depth_net.network.backbone
    encoder = backbone.image_encoder.get_config()
    assert {k: encoder[k] for k in ("patch_size", "num_layers", "hidden_dim", "num_heads",
                                    "intermediate_dim")} == {
        "patch_size": 14, "num_layers": 4, "hidden_dim": 32, "num_heads": 2,
        "intermediate_dim": 64}
    neck = backbone.get_config()
    assert neck["neck_hidden_dims"] == [16, 32, 64, 64]
    assert (neck["fusion_hidden_dim"], neck["head_hidden_dim"]) == (32, 16)
    assert neck["reassemble_factors"] == [4, 2, 1, 0.5]
    assert neck["feature_keys"] == depth_lib.TINY_ARCHITECTURE["feature_keys"]


def _old_standardize(depth, scale):
    """The unguarded formula: zero mean, unit std (float64 reference)."""
    depth = np.asarray(depth, np.float64)
    centred = depth - depth.mean(axis=(1, 2), keepdims=True)
    return scale * centred / centred.std(axis=(1, 2), keepdims=True)


def test_standardisation_leaves_maps_with_relief_unchanged(rng):
    smooth = np.cumsum(rng.normal(0, 1, (2, 24, 24, 1)), axis=2) + 20.0  # std ~ mean / 10
    for d in (rng.normal(0, 1, (2, 16, 16, 1)), rng.uniform(1, 5, (2, 16, 16, 1)), smooth):
        d = d.astype("float32")
        np.testing.assert_allclose(
            standardize_depth(d, 10.0), _old_standardize(d, 10.0), rtol=1e-6, atol=1e-5
        )


@pytest.mark.parametrize("flat", ["zero", "constant", "constant_plus_noise"])
def test_flat_maps_give_bounded_gradients(flat, rng):
    noise = 1e-7 * rng.normal(size=(1, 32, 32, 1))
    d = {"zero": 0.0 * noise, "constant": 1.0 + 0.0 * noise, "constant_plus_noise": 1.0 + noise}[flat]
    d = tf.constant(d.astype("float32"))
    weights = tf.constant(rng.normal(size=d.shape).astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(d)
        out = standardize_depth(d, 10.0)
        loss = tf.reduce_sum(out * weights)
    grad = tape.gradient(loss, d).numpy()

    assert np.all(np.isfinite(grad))
    # The gradient is ~ 10 / std times the weights: unguarded ~1e8 for 1e-7
    # noise; guarded at most 10 / (1e-4 · mean |d|) = 1e5 (10 / 1e-5 = 1e6
    # for an all-zero map).
    bound = 1e6 if flat == "zero" else 1e5
    assert np.linalg.norm(grad) < 1.01 * bound * np.linalg.norm(weights)
    assert np.abs(out.numpy()).max() < 0.1  # noise is not blown up to unit size


def test_preprocessing_matches_the_preset_image_converter(tmp_path, rng):
    import keras_hub

    # Not ImageNet's statistics: the values must come from the preset.
    mean, std = np.array([0.5, 0.4, 0.3]), np.array([0.2, 0.25, 0.3])
    converter = keras_hub.layers.DepthAnythingImageConverter(
        image_size=(126, 126), scale=list(1.0 / (255.0 * std)), offset=list(-mean / std)
    )
    estimator = depth_lib.build_depth_anything(None, 126)
    estimator = keras_hub.models.DepthAnythingDepthEstimator(
        backbone=estimator.backbone,
        preprocessor=keras_hub.models.DepthAnythingDepthEstimatorPreprocessor(
            image_converter=converter
        ),
        depth_estimation_type="relative",
    )
    preset = str(tmp_path / "preset")
    estimator.save_to_preset(preset)
    loaded = DepthNetwork(preset=preset, input_size=126)
    image = rng.uniform(0, 255, (1, 90, 90, 3)).astype("float32")

    np.testing.assert_allclose(
        loaded.preprocess(image), converter(image), rtol=1e-5, atol=1e-5
    )
    # Random-architecture models keep Depth Anything's ImageNet statistics.
    fallback = depth_lib.converter_scale_offset(estimator.backbone)
    np.testing.assert_allclose(fallback[1], -np.array([0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225])
