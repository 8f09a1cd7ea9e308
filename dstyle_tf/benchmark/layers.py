"""Per-layer TFLite latency: where a network's float32 and int8 models spend
their time.

ai-edge-litert's Python interpreter has no op profiler, and XNNPACK runs the
whole network as one delegate node, so the network is cut into its stages
instead (`stages`): the input block, each downsampling block, each residual
block's two convolution blocks, the upsampling blocks and the output block.
Each stage is exported on its own, float32 and int8 (calibrated on the
activations the whole network feeds it for the calibration images), twice:
whole, and its padding + convolution alone (`ConvBlock.convolve`), so that
normalisation + ReLU cost = whole − convolution. Every model is timed
round-robin with the others.

A stage's int8 model quantises its input and dequantises its output, which
the whole network does only once: the sum of the stages' int8 times exceeds
the network's by those boundary passes (`int8_boundary_ms`: a QUANTIZE →
RELU → DEQUANTIZE model of each stage's input, a measure of their cost).
"""

import os
import tempfile

import numpy as np
import tensorflow as tf

from dstyle_tf.benchmark import flops as flops_lib
from dstyle_tf.benchmark import timing
from export import tflite as tflite_lib

VARIANTS = ("float32", "int8")


def stages(net):
    """[(name, whole(x), convolution(x), layer for FLOPs)] in call order.

    The first stage takes the network's [0, 255] input, the last returns its
    [0, 255] output; residual blocks are split into their two convolution
    blocks (the shortcut add, one elementwise pass, is left to the whole
    network's figure). Single-style networks whose sides are multiples of 4
    (nothing padded).
    """
    if getattr(net, "num_styles", 1) != 1:
        raise ValueError("Per-layer profiles are for single-style networks.")
    first, *encoder = net.encoder
    result = [(
        first.name,
        lambda x: first(x / 127.5 - 1.0, training=False),
        lambda x: first.convolve(x / 127.5 - 1.0),
        first,
    )]
    result += [_conv_block_stage(block.name, block) for block in encoder]
    for residual in net.residuals:
        for block in (residual.block1, residual.block2):
            result.append(_conv_block_stage(f"{residual.name}/{block.name}", block))
    for block in net.decoder:
        result.append(_upsample_stage(block))
    out = net.output_conv
    scale = net.output_activation
    result.append((
        out.name,
        lambda x: 127.5 * (scale(out(x, training=False)) + 1.0),
        out.convolve,
        out,
    ))
    return result


def _conv_block_stage(name, block):
    return name, (lambda x: block(x, training=False)), block.convolve, block


def _upsample_stage(block):
    conv = block.conv if block.upsampling == "transpose" else block.conv.upsample_convolve
    return block.name, (lambda x: block(x, training=False)), conv, block


def stage_inputs(net, images):
    """({stage name: [float32 (H, W, C) input of that stage, per image]},
    [the network's output per image]): what the whole network feeds each
    stage (int8 calibration data), chained stage by stage."""
    inputs, outputs = {}, []
    chain = stages(net)
    for image in images:
        x = tf.constant(np.asarray(image, np.float32)[None])
        for name, whole, _, _ in chain:
            inputs.setdefault(name, []).append(x.numpy()[0])
            x = whole(x)
            if name.endswith("/block2"):  # the residual shortcut
                x = x + inputs[name.replace("/block2", "/block1")][-1][None]
        outputs.append(x.numpy()[0])
    return inputs, outputs


def _convert(fn, samples, variant, directory):
    """A .tflite of `fn` at the samples' shape (int8 calibrated on them)."""
    shape = (1,) + samples[0].shape
    saved = tflite_lib.freeze_function(
        tf.function(fn), [tf.TensorSpec(shape, tf.float32, name=tflite_lib.INPUT_NAME)],
        os.path.join(directory, "saved"),
    )
    flatbuffer = tflite_lib.convert(saved, variant, representative_images=samples)
    path = os.path.join(directory, f"{variant}.tflite")
    with open(path, "wb") as f:
        f.write(flatbuffer)
    return path


def _invoker(path, sample, threads):
    """A call that runs the model at `path` once on `sample` (input set once)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=path, num_threads=threads)
    interpreter.allocate_tensors()
    (detail,) = interpreter.get_input_details()
    interpreter.set_tensor(detail["index"], sample[None].astype(np.float32))
    return interpreter.invoke


def profile(net, images, threads, repeats, warmup=2, log=print):
    """Times every stage of `net` (whole and convolution only, float32 and
    int8) at the images' size, interleaved.

    Args:
        net: a single-style TransformNet.
        images: float32 (H, W, 3) photos in [0, 255], H and W multiples of 4;
            all calibrate int8, the first is timed.
        threads: interpreter threads.

    Returns:
        dict: `stages`, one row per stage with `input_shape`, `gflop`,
        `<variant>_ms` (whole stage), `<variant>_conv_ms`,
        `<variant>_norm_ms` (the difference), `int8_boundary_ms` (a
        QUANTIZE → RELU → DEQUANTIZE model of the stage's input) and
        `int8_speedup`; `totals`, each `_ms` key and `gflop` summed over
        the stages.
    """
    inputs, _ = stage_inputs(net, images)
    runs, rows = {}, []
    with tempfile.TemporaryDirectory(prefix="dstyle_layers_") as scratch:
        for index, (name, whole, conv, layer) in enumerate(stages(net)):
            samples = inputs[name]
            shape = (1,) + samples[0].shape
            rows.append({"stage": name, "input_shape": list(shape),
                         "gflop": flops_lib.layer_flops(layer, shape, training=False) / 1e9})
            log(f"layers: converting {name} {shape}")
            parts = {"": whole, "_conv": conv, "_boundary": tf.nn.relu}
            for variant in VARIANTS:
                for suffix, fn in parts.items():
                    if suffix == "_boundary" and variant == "float32":
                        continue
                    folder = os.path.join(scratch, f"{index}{suffix}_{variant}")
                    os.makedirs(folder)
                    path = _convert(fn, samples, variant, folder)
                    runs[(name, f"{variant}{suffix}")] = _invoker(path, samples[0], threads)
        log(f"layers: timing {len(runs)} models (interleaved)")
        stats = timing.measure_interleaved(runs, repeats, warmup)
    for row in rows:
        for variant in VARIANTS:
            whole = stats[(row["stage"], variant)]["median_ms"]
            conv = stats[(row["stage"], f"{variant}_conv")]["median_ms"]
            row[f"{variant}_ms"] = whole
            row[f"{variant}_conv_ms"] = conv
            row[f"{variant}_norm_ms"] = whole - conv
        row["int8_boundary_ms"] = stats[(row["stage"], "int8_boundary")]["median_ms"]
        row["int8_speedup"] = row["float32_ms"] / row["int8_ms"]
    keys = [k for k in rows[0] if k.endswith("_ms")] + ["gflop"]
    totals = {key: float(sum(row[key] for row in rows)) for key in keys}
    return {"stages": rows, "totals": totals, "size": list(images[0].shape[:2]),
            "threads": threads, "repeats": repeats}
