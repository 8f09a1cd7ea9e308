"""Exporting a multi-style network: SavedModel signatures with style inputs,
TFLite files with a style_weights input, parity for every style."""

import io
import json
import os
import re

import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter
from PIL import Image

from dstyle_tf.stylization import stylizers
from dstyle_tf.models import TransformNet
from export import exporter
from export import tflite

NAMES = ["wave", "scream", "starry"]
SIZE = (32, 40)


@pytest.fixture(scope="module")
def net(tiny_multistyle_net):
    return tiny_multistyle_net


@pytest.fixture(scope="module")
def export(net, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("multi_workdir")
    net.save(workdir / "transform_net.keras")
    return exporter.export_model(
        workdir, style="three", export_dir=str(tmp_path_factory.mktemp("saved_models")),
        tflite_variants=["float32", "int8"], tflite_size=SIZE, warmup_size=(16, 16),
    )


@pytest.fixture(scope="module")
def loaded(export):
    return tf.saved_model.load(export.version_dir)


def _png(pixels):
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _keras(net, images, weights):
    return np.clip(np.asarray(net(images, style_weights=weights)), 0, 255)


def test_signatures_and_style_names(loaded, export):
    assert set(loaded.signatures) == {
        "serving_default", "serving_style", "serving_bytes", "serving_style_name",
        "serving_bytes_name"}
    default = loaded.signatures["serving_default"].structured_input_signature[1]
    assert set(default) == {"images", "style_weights"}
    assert default["style_weights"].shape.as_list() == [None, 3]
    style = loaded.signatures["serving_style"].structured_input_signature[1]["style"]
    assert style.dtype == tf.int32 and style.shape.as_list() == [None]
    assert set(loaded.signatures["serving_bytes"].structured_input_signature[1]) == {
        "image_bytes", "style"}
    for name in ("serving_style_name", "serving_bytes_name"):
        assert loaded.signatures[name].structured_input_signature[1]["style"].dtype == tf.string
    assert [name.decode() for name in loaded.style_names.numpy()] == NAMES
    card = json.load(open(os.path.join(export.version_dir, "model_card.json")))
    assert card["styles"] == NAMES
    assert card["saved_model"]["checked_styles"] == 4  # three styles and a blend
    assert card["saved_model"]["checked_signatures"] == sorted(loaded.signatures)


@pytest.mark.parametrize("style", range(3))
def test_every_style_by_index_and_by_weights_matches_keras(loaded, net, rng, style):
    images = rng.uniform(0, 255, (2, 27, 35, 3)).astype(np.float32)
    one_hot = np.eye(3, dtype=np.float32)[[style, style]]
    expected = _keras(net, images, one_hot)
    by_index = loaded.signatures["serving_style"](images=images, style=tf.constant([style] * 2))
    by_weights = loaded.signatures["serving_default"](images=images, style_weights=one_hot)
    by_name = loaded.signatures["serving_style_name"](
        images=images, style=tf.constant([NAMES[style], f" {style}"]))  # a name, an index as text
    for output in (by_index, by_weights, by_name):
        np.testing.assert_allclose(output["stylized_images"].numpy(), expected, atol=1e-3)


def test_weights_are_divided_by_their_sum_per_image(loaded, net, rng):
    images = rng.uniform(0, 255, (2, 16, 24, 3)).astype(np.float32)
    weights = np.array([[2.0, 2.0, 0.0], [0.0, 1.0, 3.0]], np.float32)
    out = loaded.signatures["serving_default"](images=images, style_weights=weights)
    expected = _keras(net, images, weights / weights.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(out["stylized_images"].numpy(), expected, atol=1e-3)


@pytest.mark.parametrize(
    "signature, style", [("serving_bytes", [2, 0]), ("serving_bytes_name", ["starry", "wave"])]
)
def test_bytes_signature_takes_a_style_per_image(loaded, net, rng, signature, style):
    pixels = rng.integers(0, 255, (20, 28, 3), dtype=np.uint8)
    out = loaded.signatures[signature](
        image_bytes=tf.constant([_png(pixels)] * 2), style=tf.constant(style)
    )["png_bytes"].numpy()
    for png, style in zip(out, [2, 0]):
        decoded = np.asarray(Image.open(io.BytesIO(png)), np.float32)
        expected = _keras(net, pixels[None].astype(np.float32), np.eye(3, dtype=np.float32)[[style]])
        assert np.abs(decoded - np.round(expected[0])).max() <= 1.0


@pytest.mark.parametrize(
    "signature, inputs, message",
    [
        ("serving_default", {"style_weights": [[-1.0, 2.0, 0.0]]}, "must be non-negative"),
        ("serving_default", {"style_weights": [[0.0, 0.0, 0.0]]}, "sum to a positive number"),
        ("serving_default", {"style_weights": [[1.0, 0.0, 0.0]] * 2}, "one row per image"),
        ("serving_style", {"style": [3]}, r"style must be in \[0, 3\)"),
        ("serving_style", {"style": [-1]}, r"style must be in \[0, 3\)"),
    ],
)
def test_bad_style_inputs_are_invalid_argument(loaded, signature, inputs, message):
    images = np.full((1, 16, 16, 3), 100.0, np.float32)
    inputs = {key: tf.constant(value) for key, value in inputs.items()}
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        loaded.signatures[signature](images=images, **inputs)


@pytest.mark.parametrize("style", ["monet", "3", "-1", "Wave", "", "99999999999"])
def test_unknown_style_name_is_invalid_argument_listing_the_styles(loaded, style):
    images = np.full((2, 16, 16, 3), 100.0, np.float32)
    known = r"the styles of this model are: 0 wave, 1 scream, 2 starry\. Refused:\] \[" 
    with pytest.raises(tf.errors.InvalidArgumentError, match=known + re.escape(style) + r"\]"):
        loaded.signatures["serving_style_name"](images=images, style=tf.constant(["wave", style]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="the styles of this model are"):
        loaded.signatures["serving_bytes_name"](
            image_bytes=tf.constant([_png(np.full((16, 16, 3), 9, np.uint8))]),
            style=tf.constant([style]),
        )


def test_warmup_requests_run_against_the_saved_model(export, loaded):
    prediction_log_pb2 = pytest.importorskip("tensorflow_serving.apis.prediction_log_pb2")
    path = os.path.join(export.version_dir, "assets.extra", "tf_serving_warmup_requests")
    names = []
    for record in tf.data.TFRecordDataset(path):
        log = prediction_log_pb2.PredictionLog()
        log.ParseFromString(record.numpy())
        request = log.predict_log.request
        names.append(request.model_spec.signature_name)
        inputs = {key: tf.constant(tf.make_ndarray(value)) for key, value in request.inputs.items()}
        loaded.signatures[request.model_spec.signature_name](**inputs)
    assert names == ["serving_default", "serving_style", "serving_bytes", "serving_style_name",
                     "serving_bytes_name"]


def test_tflite_takes_style_weights_and_matches_keras_for_every_style(export, net, rng):
    entries = {entry["variant"]: entry for entry in export.model_card["tflite"]}
    assert entries["float32"]["psnr_db"] > 100.0
    assert entries["int8"]["psnr_db"] > 25.0
    path = os.path.join(export.version_dir, entries["float32"]["file"])
    runner = Interpreter(model_path=path).get_signature_runner("stylize")
    details = runner.get_input_details()
    assert set(details) == {"images", "style_weights"}
    assert list(details["style_weights"]["shape"]) == [1, 3]
    # The blend is one small FULLY_CONNECTED per γ and β; the GPU delegate takes it all.
    assert tflite.gpu_delegate_issues(path) == []

    stylizer = stylizers.load_stylizer(path)
    assert stylizer.style_names == tuple(NAMES)  # from the model card
    image = rng.uniform(0, 255, (*SIZE, 3)).astype(np.float32)
    for weights in [*np.eye(3, dtype=np.float32), np.array([0.5, 0.0, 0.5], np.float32)]:
        expected = _keras(net, image[None], weights[None])[0]
        np.testing.assert_allclose(stylizer(image, weights), expected, atol=1e-2)


def test_saved_model_stylizer_knows_the_styles(export, net, rng):
    stylizer = stylizers.load_stylizer(export.version_dir)
    assert stylizer.style_names == tuple(NAMES)
    image = rng.uniform(0, 255, (19, 23, 3)).astype(np.float32)
    weights = np.array([0.0, 1.0, 0.0], np.float32)
    np.testing.assert_allclose(
        stylizer(image, weights), _keras(net, image[None], weights[None])[0], atol=1e-3
    )


def test_uint8_io_is_refused_for_multi_style(net, tmp_path):
    saved = tflite.frozen_saved_model(net, str(tmp_path / "frozen"), SIZE)
    with pytest.raises(ValueError, match="uint8_io is for single-style models"):
        tflite.convert(saved, "int8", [np.zeros((*SIZE, 3), np.float32)], uint8_io=True,
                       num_styles=3)
