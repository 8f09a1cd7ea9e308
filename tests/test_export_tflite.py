"""Tests for the TFLite export: conversion variants, signature, accuracy, runtime."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

from dstyle_tf import image_io
from dstyle_tf import stylize
from dstyle_tf.stylization import stylizers
from dstyle_tf.models import TransformNet
from export import exporter
from export import tflite

SIZE = (48, 64)


@pytest.fixture(scope="module")
def net():
    keras.utils.set_random_seed(0)
    model = TransformNet(filters=8, num_residual_blocks=1)
    model.build()
    return model


@pytest.fixture(scope="module")
def test_images():
    return exporter.synthetic_images(3, *SIZE, seed=1)


@pytest.fixture(scope="module")
def converted(net, tmp_path_factory):
    """Every variant, converted once for the module (conversion is slow)."""
    directory = str(tmp_path_factory.mktemp("tflite"))
    calibration = exporter.synthetic_images(8, *SIZE, seed=2)
    paths = tflite.convert_all(net, directory, tflite.VARIANTS, SIZE, calibration, prefix="tiny")
    uint8_dir = os.path.join(directory, "uint8")
    os.makedirs(uint8_dir)
    paths["int8_uint8_io"] = tflite.convert_all(
        net, uint8_dir, ["int8"], SIZE, calibration, uint8_io=True, prefix="tiny"
    )["int8"]
    return paths


def test_files_are_named_by_variant_and_size(converted):
    names = {variant: os.path.basename(path) for variant, path in converted.items()}
    assert names["float32"] == "tiny_float32_48x64.tflite"
    assert names["int8"] == "tiny_int8_48x64.tflite"
    # Quantised models are smaller than float32.
    sizes = {variant: os.path.getsize(path) for variant, path in converted.items()}
    assert sizes["float16"] < sizes["float32"]
    assert sizes["dynamic_int8"] < sizes["float16"]


@pytest.mark.parametrize("variant", ["float32", "float16", "dynamic_int8", "int8"])
def test_named_signature_with_float_interface(converted, variant):
    interpreter = Interpreter(model_path=converted[variant])

    assert interpreter.get_signature_list() == {
        "stylize": {"inputs": ["images"], "outputs": ["stylized_images"]}
    }
    runner = interpreter.get_signature_runner("stylize")
    image_in = runner.get_input_details()["images"]
    image_out = runner.get_output_details()["stylized_images"]
    assert list(image_in["shape"]) == [1, *SIZE, 3]
    assert image_in["dtype"] == np.float32 and image_out["dtype"] == np.float32


def test_no_variables_left_in_graph(converted):
    # Unfrozen Keras 3 variables become VAR_HANDLE ops that output NaN.
    interpreter = Interpreter(model_path=converted["float32"])
    ops = {op["op_name"] for op in interpreter._get_ops_details()}
    assert "VAR_HANDLE" not in ops and "READ_VARIABLE" not in ops


# What each variant reaches on these random-weight nets and synthetic photos (deterministic):
# float32 122 dB, float16 69.3, dynamic_int8 37.4, int8 29.7; the bounds keep 3-4 dB (float32:
# 22 dB) of margin, so a broken conversion or calibration fails.
@pytest.mark.parametrize(
    "variant, min_psnr", [("float32", 100.0), ("float16", 65.0), ("dynamic_int8", 34.0), ("int8", 26.0)]
)
def test_accuracy_against_keras(converted, net, test_images, variant, min_psnr):
    checks = tflite.verify(converted[variant], net, test_images, num_threads=2, timing_runs=2)

    assert checks["psnr_db"] >= min_psnr
    assert checks["latency_ms"] > 0
    assert checks["size_bytes"] == os.path.getsize(converted[variant])


def _mean_input_dtypes(path):
    interpreter = Interpreter(model_path=path)
    tensors = {t["index"]: t["dtype"] for t in interpreter.get_tensor_details()}
    return {
        tensors[op["inputs"][0]]
        for op in interpreter._get_ops_details() if op["op_name"] == "MEAN"
    }


def test_int8_keeps_only_instance_norm_statistics_in_float(converted, net, tmp_path):
    strict = tflite.convert_all(
        net, str(tmp_path), ["int8"], SIZE, exporter.synthetic_images(4, *SIZE, seed=2),
        prefix="strict", int8_float_ops=(),
    )["int8"]
    interpreter = Interpreter(model_path=converted["int8"])
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    quantized_sizes = sorted(
        int(np.prod(tensors[op["outputs"][0]]["shape"]))
        for op in interpreter._get_ops_details() if op["op_name"] == "QUANTIZE"
    )

    assert _mean_input_dtypes(converted["int8"]) == {np.float32}
    assert _mean_input_dtypes(strict) == {np.int8}
    # Float to int8: the input image, then only per-channel scales and offsets
    # (the normalised activations, residual sums and output stay int8).
    assert quantized_sizes[-1] == SIZE[0] * SIZE[1] * 3
    assert max(quantized_sizes[:-1]) == 4 * net.filters
    assert set(tflite.xnnpack_delegation(converted["int8"])["float_ops"]) == {
        "MEAN", "SQUARED_DIFFERENCE", "ADD", "RSQRT", "MUL", "SUB"
    }
    assert tflite.xnnpack_delegation(strict)["float_ops"] == {}


@pytest.mark.parametrize("variant", tflite.VARIANTS)
def test_every_variant_is_one_xnnpack_partition(converted, variant):
    report = tflite.xnnpack_delegation(converted[variant])

    assert report["outside"] == {}
    assert (report["delegated"], report["partitions"]) == (report["nodes"], 1)


def test_batch_norm_int8_model_has_no_float_ops(tmp_path):
    keras.utils.set_random_seed(0)
    paper = TransformNet(filters=8, num_residual_blocks=1, normalization="batch",
                         upsampling="transpose")
    paper.build()
    path = tflite.convert_all(
        paper, str(tmp_path), ["int8"], SIZE, exporter.synthetic_images(4, *SIZE, seed=2),
    )["int8"]
    report = tflite.xnnpack_delegation(path)

    assert report["float_ops"] == {}
    assert (report["ops"]["QUANTIZE"], report["ops"]["DEQUANTIZE"]) == (1, 1)  # input, output
    assert (report["delegated"], report["partitions"]) == (report["nodes"], 1)


def test_xnnpack_delegation_finds_ops_left_outside(tmp_path):
    kernel = tf.constant(np.ones((3, 3, 2, 2), np.float32))

    @tf.function(input_signature=[tf.TensorSpec([1, 8, 8, 2])])
    def net(x):
        x = tf.nn.conv2d(x, kernel, 1, "SAME")
        x = tf.image.resize(x, (16, 16), method="nearest")  # not an XNNPACK op
        return tf.nn.conv2d(x, kernel, 1, "SAME")

    converter = tf.lite.TFLiteConverter.from_concrete_functions([net.get_concrete_function()], net)
    path = tmp_path / "split.tflite"
    path.write_bytes(converter.convert())
    report = tflite.xnnpack_delegation(path)

    assert report["outside"] == {"RESIZE_NEAREST_NEIGHBOR": 1}
    assert (report["nodes"], report["delegated"], report["partitions"]) == (3, 2, 2)
    assert report["float_ops"] == {}


def test_uint8_io_model(converted, net, test_images):
    runner = stylizers.TFLiteStylizer(converted["int8_uint8_io"])
    assert runner._input["dtype"] == np.uint8 and runner._output["dtype"] == np.uint8
    scale, zero_point = runner._input["quantization"]
    # [0, 255] floats map onto the uint8 range almost one to one.
    assert 0.9 < scale < 1.1 and zero_point == 0

    checks = tflite.verify(converted["int8_uint8_io"], net, test_images, timing_runs=1)

    assert checks["psnr_db"] >= 17.0  # reaches 20.7 dB


def test_fixed_size_model_stylizes_any_size_by_tiling(converted, net, rng):
    stylizer = stylize.load_stylizer(converted["float32"])
    assert stylizer.fixed_size == SIZE
    image = rng.uniform(0, 255, (71, 101, 3)).astype(np.float32)
    small = rng.uniform(0, 255, (13, 9, 3)).astype(np.float32)

    out = stylize.stylize_image(image, stylizer)
    out_small = stylize.stylize_image(small, stylizer)

    assert out.shape == image.shape and out_small.shape == small.shape
    # Per-tile instance-norm statistics differ a little from the whole image's.
    assert tflite.psnr(np.asarray(net(image[None]))[0], out) > 20.0


@pytest.mark.parametrize("options", [{}, {"normalization": "batch", "upsampling": "transpose"}])
def test_dynamic_size_model_matches_keras_at_odd_sizes(options, tmp_path, rng):
    keras.utils.set_random_seed(3)
    model = TransformNet(filters=4, num_residual_blocks=1, **options)
    paths = tflite.convert_all(model, str(tmp_path), ["float32"], None)
    stylizer = stylize.load_stylizer(paths["float32"])
    assert stylizer.fixed_size is None
    for size in [(37, 53), (64, 48), (17, 130)]:
        image = rng.uniform(0, 255, (*size, 3)).astype(np.float32)
        np.testing.assert_allclose(stylizer(image), np.asarray(model(image[None]))[0], atol=0.05)


def test_dynamic_size_model_runs_whole_video_frames(net, tmp_path, rng):
    """Frames of a clip (one size): one call each on the whole frame, with the
    interpreter and its tensors reused; each equals a fresh per-frame run."""
    path = tflite.convert_all(net, str(tmp_path), ["float32"], None)["float32"]
    stylizer = stylize.load_stylizer(path).for_video()
    calls = []
    run = stylizer.run
    stylizer.run = lambda image, style_weights=None: calls.append(image.shape) or run(image)
    frames = rng.uniform(0, 255, (3, 72, 136, 3)).astype(np.float32)

    outputs = [stylize.stylize_image(frame, stylizer, tile_size=1024) for frame in frames]

    assert calls == [(72, 136, 3)] * 3
    for frame, output in zip(frames, outputs):
        fresh = stylize.load_stylizer(path)
        np.testing.assert_array_equal(output, np.clip(fresh(frame), 0, 255))
        np.testing.assert_allclose(output, np.clip(np.asarray(net(frame[None]))[0], 0, 255), atol=0.05)


def _op_names(path):
    return {op["op_name"] for op in Interpreter(model_path=path)._get_ops_details()}


def test_fixed_size_graph_has_only_fast_ops(converted):
    # MIRROR_PAD, TILE and RESIZE_NEAREST_NEIGHBOR run outside XNNPACK; slices,
    # concatenations and depth-to-space replace them; a fixed size needs no
    # size-dependent padding or cropping either.
    ops = _op_names(converted["float32"])
    assert not ops & {
        "MIRROR_PAD", "PAD", "TILE", "SHAPE", "CAST", "TRANSPOSE", "RESIZE_NEAREST_NEIGHBOR"
    }
    assert ops >= {"CONV_2D", "CONCATENATION", "SPACE_TO_DEPTH", "DEPTH_TO_SPACE"}


@pytest.mark.parametrize("variant", ["float32", "float16"])
def test_gpu_delegate_compatibility(converted, variant):
    report = tflite.gpu_compatibility_report(converted[variant])

    assert "Your model looks compatible with GPU delegate" in report
    assert "GPU COMPATIBILITY WARNING" not in report
    assert tflite.gpu_delegate_issues(converted[variant]) == []


def test_gpu_delegate_issues_finds_unsupported_ops_and_5d_tensors(tmp_path):
    # What TransformNet used to export: a 5-D TILE (Keras UpSampling2D).
    @tf.function(input_signature=[tf.TensorSpec([1, 4, 4, 3])])
    def old_upsampling(x):
        tiled = tf.tile(tf.reshape(x, [1, 4, 1, 4, 3]), [1, 1, 2, 1, 1])
        return tf.reshape(tiled, [1, 8, 4, 3]), tf.argmax(x, axis=-1)

    path = tmp_path / "old.tflite"
    path.write_bytes(
        tf.lite.TFLiteConverter.from_concrete_functions(
            [old_upsampling.get_concrete_function()], old_upsampling
        ).convert()
    )

    issues = "\n".join(tflite.gpu_delegate_issues(str(path)))
    assert "ARG_MAX: not supported" in issues
    assert "TILE: tensor [1, 4, 1, 4, 3] is not a static tensor of at most 4" in issues


def test_psnr():
    a = np.zeros((4, 4))
    assert tflite.psnr(a, a) == float("inf")
    assert tflite.psnr(a, a + 2.55) == pytest.approx(40.0)


def test_int8_needs_representative_images(tmp_path, net):
    saved = tflite.frozen_saved_model(net, str(tmp_path / "frozen"), SIZE)
    with pytest.raises(ValueError, match="representative_images"):
        tflite.convert(saved, "int8")
    with pytest.raises(ValueError, match="variant must be one of"):
        tflite.convert(saved, "int4")


def test_export_model_with_tflite_writes_card_and_table(net, tmp_path):
    net.save(tmp_path / "transform_net.keras")
    photos = tmp_path / "photos"
    photos.mkdir()
    for index, image in enumerate(exporter.synthetic_images(2, 80, 90, seed=5)):
        image_io.save_image(photos / f"{index}.png", image)

    result = exporter.export_model(
        tmp_path, style="tiny", export_dir=str(tmp_path / "out"),
        tflite_variants=["float32", "int8"], tflite_size=SIZE,
        representative_images=str(photos), warmup_size=(16, 16),
    )

    entries = {entry["variant"]: entry for entry in result.model_card["tflite"]}
    assert set(entries) == {"float32", "int8"}
    assert entries["float32"]["psnr_db"] >= 100.0  # reaches 124 dB
    assert entries["int8"]["psnr_db"] >= 28.0  # reaches 32.3 dB
    assert entries["float32"]["input"] == {
        "name": "images", "dtype": "float32", "shape": [1, 48, 64, 3], "range": [0, 255]
    }
    assert os.path.isfile(os.path.join(result.version_dir, entries["int8"]["file"]))
    assert result.model_card["verification_images"] == str(photos)
    header = result.table.splitlines()[0]
    for column in ("size MB", "PSNR dB", "latency ms"):
        assert column in header
    assert "tflite int8 48x64" in result.table


def test_lite_depthwise_network_exports_every_variant(tmp_path):
    """The lite network (depthwise-separable residual blocks): SavedModel and
    every TFLite variant verified against Keras, DEPTHWISE_CONV_2D in the
    graph, nothing the GPU delegate refuses."""
    keras.utils.set_random_seed(0)
    lite = TransformNet(filters=8, num_residual_blocks=2, residual="depthwise")
    lite.build()
    lite.save(tmp_path / "transform_net.keras")

    result = exporter.export_model(
        tmp_path, style="lite", export_dir=str(tmp_path / "out"), tflite_size=SIZE,
        warmup_size=(16, 16),
    )

    entries = {entry["variant"]: entry for entry in result.model_card["tflite"]}
    assert set(entries) == set(tflite.VARIANTS)
    # Measured (random weights): float32 113 dB, float16 66.3, dynamic_int8 36.0, int8 26.6.
    for variant, min_psnr in [("float32", 100.0), ("float16", 62.0), ("dynamic_int8", 32.0),
                              ("int8", 22.0)]:
        assert entries[variant]["psnr_db"] >= min_psnr, variant
    for variant in ("float32", "float16"):
        path = os.path.join(result.version_dir, entries[variant]["file"])
        assert "DEPTHWISE_CONV_2D" in _op_names(path)
        assert tflite.gpu_delegate_issues(path) == []
