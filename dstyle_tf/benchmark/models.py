"""The transformation network a benchmark runs: a named size (random
weights) or a file."""

import os
import re

import keras

from dstyle_tf.models.transform_net import TransformNet

# --model keywords -> TransformNet arguments (random weights).
ARCHITECTURES = {
    # configs/paper.py: batch norm, fractionally strided convolutions.
    "paper": {"normalization": "batch", "upsampling": "transpose"},
    # TransformNet's own defaults: instance norm, nearest resize + conv.
    "default": {"normalization": "instance", "upsampling": "resize_conv"},
    # configs/lite.py: 12 filters, 3 depthwise-separable residual blocks.
    "lite": {"filters": 12, "num_residual_blocks": 3, "residual": "depthwise"},
}
# Other sizes of the default network: f<filters>b<residual blocks>[dw], e.g.
# "f16b3dw" = 16 filters, 3 depthwise-separable residual blocks.
_SIZE_SPEC = re.compile(r"f(\d+)b(\d+)(dw)?")


def architecture(spec):
    """TransformNet arguments for a keyword of ARCHITECTURES or a size spec, else None."""
    if spec in ARCHITECTURES:
        return {"filters": 32, "num_residual_blocks": 5, **ARCHITECTURES[spec]}
    match = _SIZE_SPEC.fullmatch(spec)
    if not match:
        return None
    filters, blocks, depthwise = match.groups()
    return {"filters": int(filters), "num_residual_blocks": int(blocks),
            "residual": "depthwise" if depthwise else "standard"}


def load_transform_net(spec, seed=0):
    """(network, description) for `--model`: a keyword of ARCHITECTURES, a
    size spec (`f16b3dw`) or a .keras file."""
    arguments = architecture(spec)
    if arguments is not None:
        keras.utils.set_random_seed(seed)
        net = TransformNet(**arguments)
        net.build()
        args = ", ".join(f"{k}={v}" for k, v in arguments.items())
        return net, {
            "source": spec,
            "description": f"TransformNet({args}), random weights",
            "weights": "random",
            "note": (
                "Latency and FLOPs do not depend on the weights; int8 PSNR does, so "
                "the PSNR of a random network says little about a trained one "
                "(pass --model=transform_net.keras for that)."
            ),
        }
    if not os.path.isfile(spec):
        raise ValueError(
            f"--model {spec}: not a file, not one of {', '.join(ARCHITECTURES)} and "
            "not a size like f16b3dw (filters, residual blocks, dw = depthwise)."
        )
    import dstyle_tf.models  # noqa: F401  (registers the classes)

    net = keras.saving.load_model(spec, compile=False)
    return net, {
        "source": os.path.abspath(spec),
        "description": f"{type(net).__name__} {net.get_config()}",
        "weights": "trained (from file)",
        "note": "",
    }


def conditional_twin(net, num_styles, seed=0):
    """`net`'s architecture holding `num_styles` styles (conditional instance
    norm, Dumoulin et al. 2017), random weights: what one network for N
    styles costs against `net`.

    Raises:
        ValueError: for a network without instance norm (styles condition it).
    """
    if getattr(net, "normalization", None) != "instance":
        raise ValueError(
            "--styles compares conditional instance norm with plain instance norm: use "
            "--model=default or an instance-norm .keras file."
        )
    keras.utils.set_random_seed(seed)
    twin = TransformNet(
        filters=net.filters, num_residual_blocks=net.num_residual_blocks,
        normalization=net.normalization, upsampling=net.upsampling, padding=net.padding,
        num_styles=num_styles,
    )
    twin.build()
    return twin
