"""FLOP counts: analytic (walking a model's layers) and from XLA's HLO.

FLOPs here are 2·MACs of the convolutions, transposed convolutions and
dense/einsum layers — the arithmetic a matrix-multiply peak is comparable
with. Elementwise work (normalisation, activations, padding, resizing,
residual adds, biases) is not counted: it is memory-bound and small in FLOPs,
though not in time.

Two independent counts:

- `layer_flops(model, input_shape)` runs the model once on zeros and records
  the input/output shape of every Conv2D, Conv2DTranspose, DepthwiseConv2D,
  SeparableConv2D, Dense and EinsumDense call, then applies the textbook formulas (`conv2d_flops`,
  `conv2d_transpose_flops`, ...). A Conv2D whose kernel its parent layer
  applies itself (TransformNet's space-to-depth output conv) is counted at
  its nominal cost. Operations that are not layers (the attention matmuls of
  a ViT) are not seen. This is the network's nominal cost: what efficiency
  is measured against.
- `xla_flops(fn, *args)` lowers a `tf.function` to XLA HLO and sums every
  `convolution` and `dot` instruction (`hlo_flops`), counting only kernel
  taps that land on real input (not on the holes of a dilated input or on
  padding), like XLA's own cost analysis. It sees everything, including the
  backward pass of a training step.
"""

import dataclasses
import math
import re

import keras
import numpy as np
import tensorflow as tf


def conv2d_flops(output_shape, kernel_size, in_channels, groups=1):
    """2·MACs of a Conv2D: each output element is a dot of kh·kw·Cin/groups."""
    kh, kw = kernel_size
    return 2 * math.prod(output_shape) * kh * kw * in_channels // groups


def depthwise_conv2d_flops(output_shape, kernel_size):
    """2·MACs of a DepthwiseConv2D: each output element is a dot of kh·kw taps
    of its own input channel (`output_shape` counts every output channel)."""
    kh, kw = kernel_size
    return 2 * math.prod(output_shape) * kh * kw


def conv2d_transpose_flops(input_shape, kernel_size, out_channels):
    """2·MACs of a Conv2DTranspose: each input element scatters kh·kw·Cout."""
    kh, kw = kernel_size
    return 2 * math.prod(input_shape) * kh * kw * out_channels


def dense_flops(input_shape, units):
    """2·MACs of a Dense layer on (..., in) inputs."""
    return 2 * math.prod(input_shape) * units


def einsum_dense_flops(equation, kernel_shape, output_shape):
    """2·MACs of an EinsumDense: output elements × contracted kernel size."""
    inputs, output = equation.split("->")
    kernel_letters = inputs.split(",")[1]
    contracted = math.prod(
        size
        for letter, size in zip(kernel_letters, kernel_shape)
        if letter not in output
    )
    return 2 * math.prod(output_shape) * contracted


@dataclasses.dataclass
class LayerCost:
    """One counted layer call."""

    name: str
    kind: str
    input_shape: tuple
    output_shape: tuple
    flops: int


def _cost(layer, inputs, outputs):
    in_shape = tuple(int(d) for d in inputs.shape)
    out_shape = tuple(int(d) for d in outputs.shape)
    kind = type(layer).__name__
    if isinstance(layer, keras.layers.Conv2DTranspose):
        flops = conv2d_transpose_flops(in_shape, layer.kernel_size, layer.filters)
    elif isinstance(layer, keras.layers.Conv2D):
        flops = conv2d_flops(out_shape, layer.kernel_size, in_shape[-1], layer.groups)
    elif isinstance(layer, keras.layers.DepthwiseConv2D):
        flops = depthwise_conv2d_flops(out_shape[:-1] + (
            in_shape[-1] * layer.depth_multiplier,), layer.kernel_size)
    elif isinstance(layer, keras.layers.SeparableConv2D):
        depthwise = out_shape[:-1] + (in_shape[-1] * layer.depth_multiplier,)
        flops = (depthwise_conv2d_flops(depthwise, layer.kernel_size)
                 + conv2d_flops(out_shape, (1, 1), depthwise[-1]))
    elif isinstance(layer, keras.layers.Dense):
        flops = dense_flops(in_shape, layer.units)
    elif isinstance(layer, keras.layers.EinsumDense):
        flops = einsum_dense_flops(layer.equation, tuple(layer.kernel.shape), out_shape)
    else:
        return None
    return LayerCost(layer.name, kind, in_shape, out_shape, flops)


_COUNTED = (
    keras.layers.Conv2D,
    keras.layers.Conv2DTranspose,
    keras.layers.DepthwiseConv2D,
    keras.layers.SeparableConv2D,
    keras.layers.Dense,
    keras.layers.EinsumDense,
)


def _applied_by_parent(parent, called, outputs):
    """Costs of Conv2D sublayers whose kernel `parent` applied without calling them.

    A layer may compute its convolution itself from the sublayer's kernel (a
    space-to-depth formulation, say); the nominal cost — the plain
    convolution on the parent's output positions — is counted then, so the
    figure stays the network's FLOPs, not those of one formulation.
    """
    shape = getattr(outputs, "shape", None)
    costs = []
    for sub in parent._flatten_layers(include_self=False, recursive=False):
        if (shape is None or id(sub) in called or not sub.built
                or type(sub) is not keras.layers.Conv2D):
            continue
        out_shape = tuple(int(d) for d in shape[:-1]) + (sub.filters,)
        in_channels = int(sub.kernel.shape[-2]) * sub.groups
        costs.append(LayerCost(
            f"{parent.name}/{sub.name}", "Conv2D (applied by parent)", None, out_shape,
            conv2d_flops(out_shape, sub.kernel_size, in_channels, sub.groups),
        ))
    return costs


def layer_costs(model, input_shape, **call_kwargs):
    """Calls `model` once on zeros; returns a `LayerCost` per counted layer call.

    Every nested layer's `call` is wrapped for the duration, to record the
    shapes each counted layer sees (and which sublayers were called).

    Args:
        model: a built Keras model or layer (nested layers are walked).
        input_shape: full input shape, batch included, e.g. (1, 512, 512, 3).
        **call_kwargs: passed to the model call (e.g. `training=False`).
    """
    costs, stack, patched = [], [], []
    for layer in model._flatten_layers(include_self=True, recursive=True):
        original = layer.call

        def recording_call(*args, _layer=layer, _original=original, **kwargs):
            stack.append(set())
            try:
                outputs = _original(*args, **kwargs)
            finally:
                called = stack.pop()
            if stack:
                stack[-1].add(id(_layer))
            counted = isinstance(_layer, _COUNTED) and args
            cost = _cost(_layer, args[0], outputs) if counted else None
            if cost is not None:
                costs.append(cost)
            else:
                costs.extend(_applied_by_parent(_layer, called, outputs))
            return outputs

        object.__setattr__(layer, "call", recording_call)
        patched.append(layer)
    try:
        model(tf.zeros(input_shape, tf.float32), **call_kwargs)
    finally:
        for layer in patched:
            object.__delattr__(layer, "call")
    return costs


def layer_flops(model, input_shape, **call_kwargs):
    """Total analytic FLOPs of one call of `model` on `input_shape`."""
    return sum(cost.flops for cost in layer_costs(model, input_shape, **call_kwargs))


# --- XLA HLO -----------------------------------------------------------------

_SHAPE = re.compile(r"\b[a-z]+\d*\[([\d,]*)\]")
_DEFINITION = re.compile(r"^\s*(?:ROOT\s+)?%?([\w.\-]+)\s*=\s*[a-z]+\d*\[([\d,]*)\]")
_OPERAND_NAME = re.compile(r"%([\w.\-]+)")
_INSTRUCTION = re.compile(
    r"=\s*[a-z]+\d*\[([\d,]*)\]\S*\s+(convolution|dot)\((.*?)\),\s*(.*)$"
)


def _dims(text):
    return [int(d) for d in text.split(",") if d]


def _window(attributes):
    """{'size': [..], 'stride': [..], 'pad': [(lo, hi), ..], 'lhs_dilate': ..}."""
    match = re.search(r"window=\{([^}]*)\}", attributes)
    window = {}
    for item in match.group(1).split() if match else []:
        key, value = item.split("=")
        parts = value.split("x")
        if key == "pad":
            window[key] = [tuple(int(v) for v in p.split("_")) for p in parts]
        elif key in ("size", "stride", "lhs_dilate", "rhs_dilate"):
            window[key] = [int(v) for v in parts]
    return window


def _valid_taps(in_size, out_size, kernel, stride, pad_low, lhs_dilate, rhs_dilate):
    """Σ over outputs of the kernel taps that hit a real (not padded) input."""
    o = np.arange(out_size)[:, None]
    k = np.arange(kernel)[None, :]
    position = o * stride + k * rhs_dilate - pad_low
    extent = (in_size - 1) * lhs_dilate
    valid = (position >= 0) & (position <= extent) & (position % lhs_dilate == 0)
    return int(valid.sum())


def _convolution_flops(out_shape, lhs_shape, rhs_shape, attributes):
    labels = re.search(r"dim_labels=(\w+)_(\w+)->(\w+)", attributes)
    lhs_labels, rhs_labels, out_labels = labels.groups()
    window = _window(attributes)
    spatial = [c for c in out_labels if c.isdigit()]
    taps = 1
    for index, dim in enumerate(spatial):
        kernel = rhs_shape[rhs_labels.index(dim)]
        taps *= _valid_taps(
            lhs_shape[lhs_labels.index(dim)],
            out_shape[out_labels.index(dim)],
            kernel,
            window.get("stride", [1] * len(spatial))[index],
            window.get("pad", [(0, 0)] * len(spatial))[index][0],
            window.get("lhs_dilate", [1] * len(spatial))[index],
            window.get("rhs_dilate", [1] * len(spatial))[index],
        )
    batch = out_shape[out_labels.index("b")]
    features = out_shape[out_labels.index("f")]
    in_features = rhs_shape[rhs_labels.index("i")]
    return 2 * batch * features * in_features * taps


def _dot_flops(out_shape, lhs_shape, attributes):
    match = re.search(r"lhs_contracting_dims=\{([\d,]*)\}", attributes)
    contracted = math.prod(lhs_shape[d] for d in _dims(match.group(1))) if match else 1
    return 2 * math.prod(out_shape) * contracted


def hlo_flops(hlo_text, by_op_type=False):
    """FLOPs of the `convolution` and `dot` instructions of an HLO module text.

    Args:
        by_op_type: also return `by_op_type`, the FLOPs per TensorFlow op type
            that each instruction came from (HLO metadata), e.g. `Conv2D`,
            `Conv2DBackpropInput`, `Conv2DBackpropFilter`, `MatMul`.

    Returns:
        dict with `convolution`, `dot` and `total` FLOPs.
    """
    totals = {"convolution": 0, "dot": 0}
    per_type = {}
    # Optimised HLO names its operands without their shapes: look them up.
    shapes = {}
    for line in hlo_text.splitlines():
        definition = _DEFINITION.match(line)
        if definition:
            shapes[definition.group(1)] = _dims(definition.group(2))
    for line in hlo_text.splitlines():
        match = _INSTRUCTION.search(line)
        if not match:
            continue
        out_text, op, operands, attributes = match.groups()
        out_shape = _dims(out_text)
        operand_shapes = [_dims(s) for s in _SHAPE.findall(operands)]
        if len(operand_shapes) < 2:
            operand_shapes = [shapes[name] for name in _OPERAND_NAME.findall(operands)]
        if op == "dot":
            count = _dot_flops(out_shape, operand_shapes[0], attributes)
        else:
            count = _convolution_flops(
                out_shape, operand_shapes[0], operand_shapes[1], attributes
            )
        totals[op] += count
        op_type = re.search(r'op_type="(\w+)"', attributes)
        op_type = op_type.group(1) if op_type else "unknown"
        per_type[op_type] = per_type.get(op_type, 0) + count
    totals["total"] = totals["convolution"] + totals["dot"]
    if by_op_type:
        totals["by_op_type"] = per_type
    return totals


def xla_flops(fn, *args, by_op_type=False):
    """`hlo_flops` of `fn` (a Python callable) traced with XLA on `args`."""
    compiled = fn if isinstance(fn, tf.types.experimental.GenericFunction) else None
    if compiled is None or not getattr(compiled, "_jit_compile", False):
        compiled = tf.function(fn, jit_compile=True)
    # After XLA's optimisations: dead code (gradients nothing uses, loss
    # network layers no loss reads) is gone, so this is the work that runs.
    hlo = compiled.experimental_get_compiler_ir(*args)(stage="optimized_hlo")
    return hlo_flops(hlo, by_op_type=by_op_type)
