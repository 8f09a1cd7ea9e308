"""VGGFeatures: taps, preprocessing, freezing and weight loading."""

import keras
import numpy as np
import pytest

from dstyle_tf.errors import WeightsUnavailableError
from dstyle_tf.models import vgg as vgg_lib
from dstyle_tf.models.vgg import VGGFeatures


def test_named_taps_and_shapes(vgg, rng):
    out = vgg(rng.uniform(0, 255, (2, 64, 48, 3)).astype("float32"))
    assert list(out) == ["relu1_2", "relu2_2", "relu3_3", "relu4_3"]
    assert out["relu1_2"].shape == (2, 64, 48, 64)
    assert out["relu2_2"].shape == (2, 32, 24, 128)
    assert out["relu3_3"].shape == (2, 16, 12, 256)
    assert out["relu4_3"].shape == (2, 8, 6, 512)
    assert all(float(np.min(v)) >= 0 for v in out.values())  # after ReLU


def test_matches_keras_vgg_with_its_preprocessing(vgg, rng):
    images = rng.uniform(0, 255, (1, 32, 32, 3)).astype("float32")
    reference = keras.Model(
        vgg.features.input, vgg.features.get_layer("block2_conv2").output
    )
    expected = reference(keras.applications.vgg16.preprocess_input(images.copy()))
    np.testing.assert_allclose(vgg(images)["relu2_2"], expected, rtol=1e-4, atol=1e-3)


def test_is_frozen(vgg):
    assert vgg.trainable_variables == []
    # Kernel and bias of the 10 convolutions up to block4_conv3 (relu4_3), all frozen.
    assert len(vgg.non_trainable_variables) == 20


def test_stops_at_deepest_tap():
    shallow = VGGFeatures(weights_source=None, taps=("relu1_2",))
    names = [layer.name for layer in shallow.features.layers]
    assert "block1_conv2" in names and "block2_conv1" not in names


def test_unknown_layer_is_rejected():
    with pytest.raises(ValueError, match="Unknown VGG-16 layer 'relu9_1'"):
        VGGFeatures(weights_source=None, taps=("relu9_1",))


def test_loads_local_weight_file(tmp_path, rng):
    source = keras.applications.VGG16(include_top=False, weights=None)
    path = str(tmp_path / "vgg16_notop.weights.h5")
    source.save_weights(path)
    loaded = VGGFeatures(weights_source=path, taps=("relu2_2",))
    images = rng.uniform(0, 255, (1, 16, 16, 3)).astype("float32")
    reference = keras.Model(source.input, source.get_layer("block2_conv2").output)
    expected = reference(keras.applications.vgg16.preprocess_input(images.copy()))
    np.testing.assert_allclose(loaded(images)["relu2_2"], expected, rtol=1e-4, atol=1e-3)


def test_missing_weight_file_says_how_to_get_it(tmp_path):
    with pytest.raises(WeightsUnavailableError) as info:
        VGGFeatures(weights_source=str(tmp_path / "nope.h5"))
    message = str(info.value)
    assert "not found" in message and "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in message


def test_single_tap_runs_only_the_blocks_it_needs(vgg, rng):
    images = rng.uniform(0, 255, (1, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(vgg(images, tap="relu2_2"), vgg(images)["relu2_2"], rtol=1e-6)
    names = [layer.name for layer in vgg.single_taps["relu2_2"].layers]
    assert "block2_conv2" in names and not any(n.startswith("block3") for n in names)


def test_loads_the_keras_applications_legacy_h5_format(tmp_path, rng):
    # The downloadable notop file is a Keras 2 style HDF5 weight file.
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    source = keras.applications.VGG16(include_top=False, weights=None)
    path = str(tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, source)
    loaded = VGGFeatures(weights_source=path, taps=("relu1_2",))
    images = rng.uniform(0, 255, (1, 8, 8, 3)).astype("float32")
    reference = keras.Model(source.input, source.get_layer("block1_conv2").output)
    expected = reference(keras.applications.vgg16.preprocess_input(images.copy()))
    np.testing.assert_allclose(loaded(images)["relu1_2"], expected, rtol=1e-4, atol=1e-3)
