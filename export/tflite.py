"""TFLite conversion (float32, float16, dynamic-range int8, full int8) and checks.

Conversion goes through a *frozen*, fixed-shape SavedModel with one signature,
`stylize`: `images` float32 (1, H, W, 3) in [0, 255] -> `stylized_images`
float32 (1, H, W, 3) in [0, 255]; a multi-style network also takes
`style_weights` float32 (1, N) (used as given: one-hot picks a style,
non-negative weights summing to 1 blend). Two findings on TF 2.21 / Keras 3 shaped this:

- `TFLiteConverter.from_keras_model` fails on this network, and converting the
  un-frozen SavedModel or concrete function keeps Keras 3's variables as
  `VAR_HANDLE`/`READ_VARIABLE` ops that the interpreter leaves uninitialised
  (all-NaN outputs). Freezing the variables into constants first
  (`convert_variables_to_constants_v2`) gives a clean graph of builtin ops.
- A dynamic-size model (H, W = None) needs every convolution to know its
  input channel count; TransformNet keeps it static (its padding and
  upsampling are built for this), so `input_size=None` converts to builtin
  ops only.

Every converted model is checked with ai-edge-litert's interpreter (the runtime
used on phones) against the Keras model: PSNR, max abs difference, latency.
"""

import collections
import contextlib
import io
import os
import re
import statistics
import tempfile
import time

import numpy as np
import tensorflow as tf
from tensorflow.python.framework import convert_to_constants

from dstyle_tf.stylization import stylizers
from dstyle_tf.errors import check_choice
from dstyle_tf.models import instance_norm
from export import equalization
from export import styles as styles_lib

SIGNATURE_KEY = "stylize"
INPUT_NAME = "images"
STYLE_WEIGHTS_NAME = "style_weights"
OUTPUT_NAME = "stylized_images"
VARIANTS = ("float32", "float16", "dynamic_int8", "int8")
# Worst case over real photos of the PSNR against the Keras network that a
# quantised variant must reach on a trained network (issue 22): the exporter
# warns below it and the benchmark judges it.
PSNR_FLOORS_DB = {"dynamic_int8": 35.0, "int8": 30.0}
# Variants with int8 weights; their conversion starts from the equalised
# network (`export.equalization`).
QUANTIZED_VARIANTS = ("dynamic_int8", "int8")
DEFAULT_SIZE = 384
# Ops left in float32 in the "int8" variant; when this is not empty, the
# tensors of instance norm's statistics (`instance_norm.FLOAT_STATISTICS_SCOPE`:
# mean, variance, and the per-channel scale and offset made of them) are kept
# float too. Everything else is int8: the normalisation x · scale + offset,
# convolutions, padding, residual ADDs, input and output scaling, and
# XNNPACK runs the whole model as one partition. The previous choice (every
# MEAN, SQUARED_DIFFERENCE, RSQRT, MUL, ADD and SUB in float) also left the
# affine step, the residual ADDs and the input and output scaling in float.
# Pass () for a strictly all-int8 model (XNNPACK then leaves RSQRT and
# SQUARED_DIFFERENCE to TFLite's kernels).
INT8_FLOAT_OPS = ("RSQRT",)
# Blocks of a `TransformNet` (layer names: c9s1, d1, d2, res1…, u1, u2) the
# "int8" variant can keep wholly in float32 (`int8_float_blocks`): their
# convolutions' outputs before instance norm are what int8 loses most on
# (each of c9s1 and d1 alone costs as much as every residual block together,
# docs/performance.md); the rest stays int8 in the same XNNPACK partition.
OUTER_BLOCKS = ("c9s1", "d1", "d2", "u2")


class ConversionError(RuntimeError):
    """The TFLite converter could not convert the model."""


def frozen_saved_model(model, directory, input_size=(DEFAULT_SIZE, DEFAULT_SIZE)):
    """Writes a variables-free SavedModel with the `stylize` signature.

    Args:
        model: Keras model, float32 (B, H, W, 3) in [0, 255] -> same.
        directory: where to write it.
        input_size: (height, width), or None for a dynamic size.

    Returns:
        `directory`.
    """
    height, width = input_size if input_size else (None, None)
    specs = [tf.TensorSpec([1, height, width, 3], tf.float32, name=INPUT_NAME)]
    num_styles = styles_lib.num_styles(model)
    if num_styles == 1:
        run_model = tf.function(lambda images: model(images, training=False))
    else:
        specs.append(tf.TensorSpec([1, num_styles], tf.float32, name=STYLE_WEIGHTS_NAME))
        run_model = tf.function(
            lambda images, weights: model(images, style_weights=weights, training=False)
        )
    return freeze_function(run_model, specs, directory)


def freeze_function(fn, specs, directory):
    """Writes `fn` (a `tf.function`) traced at `specs`, its variables frozen
    into constants, as a SavedModel with the `stylize` signature (output
    `OUTPUT_NAME`, float32): what `convert` takes. `frozen_saved_model` is
    this for a whole network; a part of one converts the same way.

    Returns:
        `directory`.
    """
    frozen = convert_to_constants.convert_variables_to_constants_v2(
        fn.get_concrete_function(*specs)
    )

    @tf.function(input_signature=specs)
    def stylize(*inputs):
        return {OUTPUT_NAME: tf.cast(frozen(*inputs)[0], tf.float32)}

    tf.saved_model.save(
        tf.Module(), directory, signatures={SIGNATURE_KEY: stylize.get_concrete_function()}
    )
    return directory


def convert(saved_model_dir, variant, representative_images=None, uint8_io=False,
            int8_float_ops=INT8_FLOAT_OPS, num_styles=1, int8_float_blocks=()):
    """Converts a `frozen_saved_model` to TFLite.

    Args:
        saved_model_dir: output of `frozen_saved_model`.
        variant: one of `VARIANTS`. "float16" stores weights in float16;
            "dynamic_int8" stores weights in int8 (activations float);
            "int8" quantises weights and activations (needs
            `representative_images`).
        representative_images: iterable of float32 (H, W, 3) arrays in
            [0, 255] at the model's input size, for "int8" calibration.
        uint8_io: for "int8" only: uint8 input/output tensors (scale 1,
            zero point 0 for [0, 255]) instead of float32.
        int8_float_ops: for "int8" only: TFLite op names kept in float32
            (selective quantisation); () quantises every op. Ignored with
            `uint8_io`, which is for integer-only accelerators (and which the
            selective-quantisation path does not support).
        num_styles: the network's styles; with more than one, "int8"
            calibration cycles through them (one-hot), and `uint8_io` is
            refused (the style weights are not 0-255 pixels).
        int8_float_blocks: for "int8" only: names of network blocks (e.g.
            `OUTER_BLOCKS`) kept wholly in float32. Ignored, like
            `int8_float_ops`, with `uint8_io` or no `int8_float_ops`.

    Returns:
        The .tflite flatbuffer as bytes.
    """
    check_choice("variant", variant, VARIANTS)
    converter = tf.lite.TFLiteConverter.from_saved_model(
        saved_model_dir, signature_keys=[SIGNATURE_KEY]
    )
    if variant != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if variant == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if variant == "int8":
        if representative_images is None:
            raise ValueError("The int8 variant needs representative_images.")
        images = [np.asarray(image, np.float32) for image in representative_images]
        converter.representative_dataset = lambda: _calibration_inputs(images, num_styles)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if uint8_io and num_styles > 1:
            raise ValueError("uint8_io is for single-style models only.")
        if uint8_io:
            converter.inference_input_type = tf.uint8
            converter.inference_output_type = tf.uint8
    try:
        if keeps_float(variant, uint8_io, int8_float_ops):
            debugger = tf.lite.experimental.QuantizationDebugger(
                converter=converter,
                debug_dataset=converter.representative_dataset,
                debug_options=tf.lite.experimental.QuantizationDebugOptions(
                    denylisted_ops=list(int8_float_ops),
                    denylisted_nodes=_float_tensors(saved_model_dir, int8_float_blocks),
                ),
            )
            return debugger.get_nondebug_quantized_model()
        return converter.convert()
    except Exception as e:  # The converter raises several unrelated types.
        first_error = next(
            (line for line in str(e).splitlines() if "error" in line.lower()), str(e)
        )
        raise ConversionError(
            f"TFLite conversion ({variant}) failed: {first_error[:500]}"
        ) from e


def keeps_float(variant, uint8_io, int8_float_ops):
    """Whether `convert` keeps `int8_float_ops` and `int8_float_blocks` in
    float32: only for "int8" with float ops given and float input/output."""
    return variant == "int8" and bool(int8_float_ops) and not uint8_io


def _float_tensors(saved_model_dir, blocks=()):
    """Names of the tensors computed in `instance_norm.FLOAT_STATISTICS_SCOPE`
    and in the network blocks `blocks` (read from a float conversion: the
    names the quantiser sees)."""
    from ai_edge_litert.interpreter import Interpreter

    converter = tf.lite.TFLiteConverter.from_saved_model(
        saved_model_dir, signature_keys=[SIGNATURE_KEY]
    )
    interpreter = Interpreter(model_content=converter.convert())
    names = [t["name"] for t in interpreter.get_tensor_details()]
    found = {block for block in blocks if any(_in_block(block).search(n) for n in names)}
    if set(blocks) - found:
        raise ValueError(
            f"int8_float_blocks: no block {', '.join(sorted(set(blocks) - found))} in this "
            "network (TransformNet blocks: c9s1, d1, d2, res1…, u1, u2)."
        )
    scopes = [re.compile(f"/{instance_norm.FLOAT_STATISTICS_SCOPE}(_[0-9]+)?/")]
    scopes += [_in_block(block) for block in blocks]
    return [name for name in names if any(scope.search(name) for scope in scopes)]


def _in_block(block):
    """Matches the tensor names inside the layer `block` (e.g. "d1", "res2")."""
    return re.compile(f"/{re.escape(block)}(_[0-9]+)?/")


def _calibration_inputs(images, num_styles):
    """int8 calibration samples: each image, with a style in turn if several."""
    for index, image in enumerate(images):
        if num_styles == 1:
            yield [image[None]]
        else:
            weights = np.eye(num_styles, dtype=np.float32)[index % num_styles]
            yield {INPUT_NAME: image[None], STYLE_WEIGHTS_NAME: weights[None]}


def convert_all(model, output_dir, variants=VARIANTS, input_size=(DEFAULT_SIZE, DEFAULT_SIZE),
                representative_images=None, uint8_io=False, prefix="stylize",
                int8_float_ops=INT8_FLOAT_OPS, int8_float_blocks=()):
    """Converts `model` to each variant; returns {variant: path of .tflite}.

    Files are named `<prefix>_<variant>_<H>x<W>.tflite` (`..._dynamic.tflite`
    for a dynamic size). The int8 variants are converted from
    `equalization.equalized_copy(model, representative_images)` (the same
    function, channels scaled for int8) when images are given.
    """
    size_tag = f"{input_size[0]}x{input_size[1]}" if input_size else "dynamic"
    paths = {}
    with tempfile.TemporaryDirectory() as scratch:
        saved = {}
        for variant in variants:
            quantised = variant in QUANTIZED_VARIANTS and representative_images is not None
            if quantised not in saved:
                net = (equalization.equalized_copy(model, representative_images)
                       if quantised else model)
                saved[quantised] = frozen_saved_model(
                    net, os.path.join(scratch, f"frozen_{int(quantised)}"), input_size)
            flatbuffer = convert(
                saved[quantised], variant, representative_images, uint8_io, int8_float_ops,
                styles_lib.num_styles(model), int8_float_blocks,
            )
            path = os.path.join(output_dir, f"{prefix}_{variant}_{size_tag}.tflite")
            with open(path, "wb") as f:
                f.write(flatbuffer)
            paths[variant] = path
    return paths


# Builtin ops the TFLite GPU delegate converts (from its compatibility
# checker, tensorflow/lite/tools/versioning/gpu_compatibility.cc).
GPU_DELEGATE_OPS = frozenset("""
    ABS ADD ADD_N AVERAGE_POOL_2D BATCH_MATMUL CAST CONCATENATION CONV_2D COS
    CUMSUM DENSIFY DEPTHWISE_CONV_2D DEPTH_TO_SPACE DEQUANTIZE DIV ELU EQUAL
    EXP FLOOR FLOOR_DIV FLOOR_MOD FULLY_CONNECTED GATHER GELU GREATER
    GREATER_EQUAL HARD_SWISH LEAKY_RELU LESS LESS_EQUAL LOG LOGICAL_AND
    LOGISTIC MAXIMUM MAX_POOL_2D MEAN MINIMUM MIRROR_PAD MUL NEG NOT_EQUAL
    ONE_HOT PACK PAD PADV2 POW PRELU QUANTIZE REDUCE_MAX REDUCE_MIN
    REDUCE_PROD RELU RELU6 RELU_N1_TO_1 RESHAPE RESIZE_BILINEAR
    RESIZE_NEAREST_NEIGHBOR RSQRT SELECT SELECT_V2 SIGN SIN SLICE SOFTMAX
    SPACE_TO_DEPTH SPLIT SPLIT_V SQRT SQUARE SQUARED_DIFFERENCE STRIDED_SLICE
    SUB SUM TANH TILE TRANSPOSE TRANSPOSE_CONV
""".split())


def gpu_compatibility_report(tflite_path):
    """The TFLite analyzer's report, with the GPU delegate compatibility check.

    A model the GPU delegate accepts says "Your model looks compatible with
    GPU delegate"; each op it would refuse gets a "GPU COMPATIBILITY WARNING".
    Note: the analyzer in TF 2.21's pip wheel reports every model as
    compatible (even ARG_MAX or TOPK_V2, which the delegate refuses), so
    check `gpu_delegate_issues` too.
    """
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        tf.lite.experimental.Analyzer.analyze(model_path=tflite_path, gpu_compatibility=True)
    return output.getvalue()


def gpu_delegate_issues(tflite_path):
    """Reasons the TFLite GPU delegate would not take the whole model.

    Checks each op against `GPU_DELEGATE_OPS` and that tensors have at most 4
    dimensions (the delegate's layout is BHWC) and static shapes. An empty
    list means every op can run on the GPU.
    """
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=os.fspath(tflite_path))
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    issues = []
    for op in interpreter._get_ops_details():
        name = op["op_name"]
        if name not in GPU_DELEGATE_OPS:
            issues.append(f"op {op['index']} {name}: not supported by the GPU delegate")
            continue
        for index in list(op["inputs"]) + list(op["outputs"]):
            if index < 0:
                continue
            signature = tensors[index]["shape_signature"]
            if len(signature) > 4 or any(dim < 0 for dim in signature):
                issues.append(
                    f"op {op['index']} {name}: tensor {[int(d) for d in signature]} is not a static "
                    "tensor of at most 4 dimensions"
                )
                break
    return issues


def xnnpack_delegation(tflite_path, num_threads=None):
    """What ai-edge-litert's default XNNPACK delegate takes of a model.

    The runtime logs "Replacing N out of M node(s) with delegate ..., yielding
    K partitions" only in debug builds, so this reads the delegated graph
    instead: each XNNPACK partition is one `DELEGATE` node, and the model's
    nodes it replaced are those between its inputs and its outputs. Every
    node outside a partition runs in TFLite's own kernels, and each hand-over
    between a partition and such a node costs a pass over the tensor.

    Args:
        tflite_path: a .tflite model.
        num_threads: interpreter threads (None: runtime default).

    Returns:
        dict: `nodes` (the model's ops), `delegated` (ops inside XNNPACK
        partitions), `partitions`, `ops` {op name: count}, `outside` {op name:
        count} of the ops left to TFLite's kernels, and `float_ops` {op name:
        count} of the float32 ops of an otherwise quantised model (empty for
        float models), with `largest_float_tensor` the element count of the
        largest float32 tensor they read or write (0 if none).
    """
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=os.fspath(tflite_path), num_threads=num_threads)
    interpreter.allocate_tensors()
    details = interpreter._get_ops_details()
    model_ops = {op["index"]: op for op in details if op["op_name"] != "DELEGATE"}
    producer = {int(t): op["index"] for op in model_ops.values() for t in op["outputs"]}
    delegated = set()
    partitions = [op for op in details if op["op_name"] == "DELEGATE"]
    for partition in partitions:
        boundary = {int(t) for t in partition["inputs"]}
        pending = [int(t) for t in partition["outputs"]]
        while pending:
            tensor = pending.pop()
            node = producer.get(tensor)
            if tensor in boundary or node is None or node in delegated:
                continue
            delegated.add(node)
            pending.extend(int(t) for t in model_ops[node]["inputs"] if t >= 0)
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    quantised = any(tensors[t]["dtype"] == np.int8 for t in producer)  # int8 activations
    float_ops, largest = {}, 0
    for op in model_ops.values():
        if not quantised or op["op_name"] in ("QUANTIZE", "DEQUANTIZE"):
            continue
        floats = [tensors[int(t)] for t in list(op["inputs"]) + list(op["outputs"])
                  if t >= 0 and tensors[int(t)]["dtype"] == np.float32
                  and int(t) in producer]  # activations, not constants
        if floats:
            float_ops[op["op_name"]] = float_ops.get(op["op_name"], 0) + 1
            largest = max([largest] + [int(np.prod(t["shape"])) for t in floats])
    return {
        "nodes": len(model_ops),
        "delegated": len(delegated),
        "partitions": len(partitions),
        "ops": _count(op["op_name"] for op in model_ops.values()),
        "outside": _count(model_ops[i]["op_name"] for i in model_ops if i not in delegated),
        "float_ops": float_ops,
        "largest_float_tensor": largest,
    }


def _count(names):
    return dict(sorted(collections.Counter(names).items()))


def psnr(reference, test, peak=255.0):
    """Peak signal-to-noise ratio in dB (inf for identical arrays)."""
    mse = np.mean((np.asarray(reference, np.float64) - np.asarray(test, np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10.0 * np.log10(peak**2 / mse))


def verify(tflite_path, model, images, num_threads=None, timing_runs=5):
    """Compares a .tflite model with the Keras model on `images` (for every
    style of a multi-style model and an even blend: `styles.style_cases`).

    Args:
        tflite_path: the converted model.
        model: the Keras model it came from.
        images: list of float32 (H, W, 3) arrays in [0, 255] (at the TFLite
            model's size if it is fixed).
        num_threads: interpreter threads (None: runtime default).
        timing_runs: invocations timed on the first image (after one warm-up).

    Returns:
        dict with `psnr_db` (over all images pooled, vs Keras),
        `psnr_db_worst` (the lowest of `psnr_db_per_image`, one per image
        and style case), `max_abs_diff`, `latency_ms` (median), `size_bytes`.
    """
    runner = stylizers.TFLiteStylizer(tflite_path, num_threads=num_threads)
    cases = styles_lib.style_cases(styles_lib.num_styles(model))
    expected, actual = [], []
    for weights in cases:
        for image in images:
            expected.append(styles_lib.keras_output(model, image[None], weights)[0].ravel())
            actual.append(runner.run(image, weights).ravel())
    per_image = [psnr(e, a) for e, a in zip(expected, actual)]
    expected, actual = np.concatenate(expected), np.concatenate(actual)
    latencies = []
    for _ in range(timing_runs):
        start = time.perf_counter()
        runner.run(images[0], cases[0])
        latencies.append(1000 * (time.perf_counter() - start))
    return {
        "psnr_db": psnr(expected, actual),
        "psnr_db_worst": min(per_image),
        "psnr_db_per_image": per_image,
        "max_abs_diff": float(np.max(np.abs(expected - actual))),
        "latency_ms": statistics.median(latencies) if latencies else None,
        "size_bytes": os.path.getsize(tflite_path),
    }
