r"""Johnson et al. against the structure-aware network, offline, in one command.

Trains configs/demo.py and configs/structure.py (same photos, seed, steps),
evaluates both on photos neither saw and draws a gallery (docs/results.md):

    python -m dstyle_tf.compare --workdir=runs/compare [--style=wave] \
        [--steps=1000] [--extra_content=/path/to/more/photos]

Running it again resumes the trainings and re-evaluates.
"""

import signal
import sys

from absl import app
from absl import flags

from dstyle_tf import cli
from dstyle_tf.evaluation.comparison import ComparisonConfig

_DEFAULTS = ComparisonConfig(workdir="")


def define_flags():
    flags.DEFINE_string("workdir", None, "Training runs, photos, evaluation and gallery.", required=True)
    flags.DEFINE_string("style", _DEFAULTS.style, "Bundled style name or style image path.")
    flags.DEFINE_integer("steps", _DEFAULTS.steps, "Training steps of both runs (0: the configs').", lower_bound=0)
    flags.DEFINE_string("extra_content", _DEFAULTS.extra_content, "Folder of more held-out photos to measure.")
    flags.DEFINE_integer("max_size", _DEFAULTS.max_size, "Longer side of the measured photos.", lower_bound=16)
    flags.DEFINE_integer("gallery_width", _DEFAULTS.gallery_width, "Gallery cell width.", lower_bound=32)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    from dstyle_tf.evaluation.comparison import TrainingInterrupted
    from dstyle_tf.evaluation.comparison import run_comparison
    from dstyle_tf.evaluation.report import markdown_table

    config = cli.config_from_flags(ComparisonConfig, flags.FLAGS)
    try:
        report = cli.call(run_comparison, config)
    except TrainingInterrupted as e:
        print(str(e), file=sys.stderr)
        sys.exit(128 + getattr(signal, e.signal_name))
    print(markdown_table(report))


def run():
    """Entry point of `python -m dstyle_tf.compare` and its console script."""
    cli.run_command(sys.modules[__name__])
