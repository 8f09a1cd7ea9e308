r"""Stills of a short clip side by side: the input, each model, and their frame-to-frame change.

    python -m dstyle_tf.stills --input=clip.mp4 --model=plain=runs/demo \
        --model=stable=runs/stable --output=stills.jpg [--frames=4] [--start=0]
    python -m dstyle_tf.stills --input=skimage:astronaut ...   # a photo, filmed

`--input` is a video file, or a photo (an image file or `skimage:NAME`) that is
filmed into a synthetic clip with the flicker metric's camera (sub-pixel pans,
a slow zoom, sensor noise). See `dstyle_tf.evaluation.stills`.
"""

import sys

from absl import app
from absl import flags

from dstyle_tf import cli
from dstyle_tf.evaluation.stills import StillsConfig

_DEFAULTS = StillsConfig(input="", output="")


def define_flags():
    flags.DEFINE_string(
        "input", None,
        "A video file, an image file or skimage:NAME (a photo filmed into a synthetic clip).",
        required=True,
    )
    flags.DEFINE_multi_string(
        "model", [],
        "A model as label=path (repeatable; a row each): a .keras file, a training "
        "workdir, a SavedModel directory or a .tflite file.",
    )
    flags.DEFINE_string("output", None, "The picture to write (.jpg or .png).", required=True)
    flags.DEFINE_integer("frames", _DEFAULTS.frames, "Consecutive frames shown.", lower_bound=1)
    flags.DEFINE_integer("start", _DEFAULTS.start, "Index of the first frame shown.", lower_bound=0)
    flags.DEFINE_integer(
        "max_size", _DEFAULTS.max_size,
        "Longer side of the frames (a photo is downscaled before filming); 0 keeps it.",
        lower_bound=0,
    )
    flags.DEFINE_integer("cell_width", _DEFAULTS.cell_width, "Width of one still.", lower_bound=16)
    flags.DEFINE_float("gain", _DEFAULTS.gain, "Factor of the frame-to-frame change rows.",
                       lower_bound=0.0)
    flags.DEFINE_integer("seed", _DEFAULTS.seed, "Seed of a synthetic clip's motion and noise.")
    flags.DEFINE_integer("jpeg_quality", _DEFAULTS.jpeg_quality, "JPEG quality.",
                         lower_bound=1, upper_bound=95)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    from dstyle_tf.evaluation.stills import make_stills

    config = cli.config_from_flags(StillsConfig, flags.FLAGS, models=flags.FLAGS.model)
    cli.call(make_stills, config)
    print(f"Wrote {config.output}")


def run():
    """Entry point of `python -m dstyle_tf.stills` and its console script."""
    cli.run_command(sys.modules[__name__])
