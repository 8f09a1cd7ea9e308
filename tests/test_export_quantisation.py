"""Quantised TFLite accuracy on a trained network, and the per-channel
equalisation the int8 export starts from (`export.equalization`)."""

import keras
import numpy as np
import pytest

from dstyle_tf.models import TransformNet
from export import equalization
from export import exporter
from export import tflite

SIZE = (48, 64)


@pytest.fixture(scope="module")
def trained():
    """A tiny network trained for 60 Adam steps to swap red and blue and
    darken: trained weights give the uneven channel magnitudes and heavy-tailed
    activations of real networks, which random weights do not."""
    keras.utils.set_random_seed(0)
    net = TransformNet(filters=8, num_residual_blocks=1)
    images = exporter.synthetic_images(16, 32, 32, seed=5)
    targets = 0.8 * images[..., ::-1]
    net.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    net.fit(images, targets, batch_size=4, epochs=15, verbose=0)
    return net


@pytest.fixture(scope="module")
def converted(trained, tmp_path_factory):
    calibration = exporter.synthetic_images(8, *SIZE, seed=2)
    return tflite.convert_all(trained, str(tmp_path_factory.mktemp("trained")),
                              ["float32", "dynamic_int8", "int8"], SIZE, calibration)


def test_training_moved_the_network(trained):
    images = exporter.synthetic_images(2, 32, 32, seed=6)
    error = np.mean((np.asarray(trained(images)) - 0.8 * images[..., ::-1]) ** 2)
    assert error < 0.5 * np.mean((images - 0.8 * images[..., ::-1]) ** 2)  # 0.39 here


# Measured on this trained network (deterministic weights and images, TF 2.21,
# ai-edge-litert 2.3), worst of 4 images: float32 126.5 dB, dynamic int8 45.4 dB
# (48.0 pooled), int8 30.1 dB (32.0 pooled). A drop of more than 3 dB fails: the export lost
# quantisation accuracy (the pooled PSNR of float32 keeps it honest: the
# comparison itself works).
@pytest.mark.parametrize("variant, min_worst_psnr", [
    ("float32", 100.0), ("dynamic_int8", 42.4), ("int8", 27.0)])
def test_trained_network_keeps_its_quantised_accuracy(converted, trained, variant,
                                                      min_worst_psnr):
    images = exporter.synthetic_images(4, *SIZE, seed=9)
    checks = tflite.verify(converted[variant], trained, images, timing_runs=1)

    assert len(checks["psnr_db_per_image"]) == 4
    assert checks["psnr_db_worst"] == min(checks["psnr_db_per_image"]) <= checks["psnr_db"] + 1e-9
    assert checks["psnr_db_worst"] >= min_worst_psnr


def _skewed(net):
    """`net` with one output channel of its first convolution 50× larger:
    the output is the same (instance norm follows), the int8 range is not."""
    copy = TransformNet.from_config(net.get_config())
    copy.build()
    copy.set_weights(net.get_weights())
    kernel = copy.encoder[0].conv.kernel
    kernel.assign(kernel.numpy() * np.eye(1, kernel.shape[-1], 0, dtype=np.float32)[0] * 49 + kernel.numpy())
    return copy


def test_equalised_copy_computes_the_same_with_equal_channels(trained):
    skewed = _skewed(trained)
    images = exporter.synthetic_images(4, *SIZE, seed=2)
    before = equalization.channel_rms(skewed, images)

    equalised = equalization.equalized_copy(skewed, images)
    after = equalization.channel_rms(equalised, images)

    tests = exporter.synthetic_images(2, 40, 56, seed=3)
    np.testing.assert_allclose(np.asarray(equalised(tests)), np.asarray(skewed(tests)), atol=0.02)
    first = next(iter(before))
    assert before[first].max() / np.median(before[first]) > 10
    for path, rms in after.items():
        np.testing.assert_allclose(rms, np.median(rms), rtol=1e-3, err_msg=path)
    # Centred too: each channel's mean over the images is taken out by a bias.
    for path, (mean, variance) in equalization.channel_moments(equalised, images).items():
        assert np.all(np.abs(mean) < 1e-3 * np.sqrt(variance).max()), path
    # The original is untouched.
    np.testing.assert_allclose(np.asarray(skewed(tests)), np.asarray(_skewed(trained)(tests)),
                               atol=1e-4)


def test_equalisation_restores_int8_accuracy_of_a_skewed_channel(trained, tmp_path):
    skewed = _skewed(trained)
    calibration = exporter.synthetic_images(8, *SIZE, seed=2)
    images = exporter.synthetic_images(3, *SIZE, seed=9)
    plain = tflite.convert(tflite.frozen_saved_model(skewed, str(tmp_path / "plain"), SIZE),
                           "int8", calibration)
    (tmp_path / "plain.tflite").write_bytes(plain)
    equalised = tflite.convert_all(skewed, str(tmp_path), ["int8"], SIZE, calibration)["int8"]

    plain_db = tflite.verify(tmp_path / "plain.tflite", skewed, images, timing_runs=0)["psnr_db"]
    equalised_db = tflite.verify(equalised, skewed, images, timing_runs=0)["psnr_db"]

    assert equalised_db > plain_db + 3.0


def test_batch_norm_network_is_not_equalised():
    keras.utils.set_random_seed(0)
    paper = TransformNet(filters=4, num_residual_blocks=1, normalization="batch",
                         upsampling="transpose")
    paper.build()
    assert equalization.normalized_convolutions(paper) == []
    assert equalization.equalized_copy(paper, exporter.synthetic_images(1, 16, 16)) is paper
