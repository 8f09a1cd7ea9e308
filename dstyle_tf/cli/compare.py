r"""Johnson et al. against the structure-aware network, offline, in one command.

Trains configs/demo.py and the structure-aware config (same photos, crops,
steps; once per seed), evaluates every network on photos neither saw,
compares the two per photo and seed (mean differences with 95% intervals,
Gram-distance ratio, the claim's verdict: comparison.md) and draws a gallery
(docs/results.md, docs/evaluation.md):

    python -m dstyle_tf.compare --workdir=runs/compare [--style=wave] \
        [--steps=1000] [--seeds=0,1] [--extra_content=/path/to/more/photos] \
        [--structure_override=loss.style_weight=2 ...]

Running it again resumes the trainings and re-evaluates.
"""

import signal
import sys

from absl import app
from absl import flags

from dstyle_tf import cli
from dstyle_tf.evaluation.comparison import PHOTO_SETS
from dstyle_tf.evaluation.comparison import ComparisonConfig

_DEFAULTS = ComparisonConfig(workdir="")


def define_flags():
    flags.DEFINE_string("workdir", None, "Training runs, photos, evaluation, comparison and gallery.",
                        required=True)
    flags.DEFINE_string("style", _DEFAULTS.style, "Bundled style name or style image path.")
    flags.DEFINE_integer("steps", _DEFAULTS.steps, "Training steps of both runs (0: the configs').", lower_bound=0)
    flags.DEFINE_string("seeds", _DEFAULTS.seeds, "Comma-separated training seeds; each network is "
                        "trained once per seed, in <workdir>/<label>/seed<k>.")
    flags.DEFINE_enum("photos", _DEFAULTS.photos, PHOTO_SETS, "held_out: the held-out photo set "
                      "(scikit-image's and Debian photographs); none: only --extra_content.")
    flags.DEFINE_string("extra_content", _DEFAULTS.extra_content, "Folder of more held-out photos to measure.")
    flags.DEFINE_integer("max_size", _DEFAULTS.max_size, "Longer side of the measured photos.", lower_bound=16)
    flags.DEFINE_integer("gallery_width", _DEFAULTS.gallery_width, "Gallery cell width.", lower_bound=32)
    flags.DEFINE_string("structure_config", _DEFAULTS.structure_config,
                        "Config file of the structure-aware network (Johnson's: configs/demo.py).")
    flags.DEFINE_multi_string("structure_override", _DEFAULTS.structure_override,
                              "key=value override of the structure-aware config, e.g. "
                              "loss.style_weight=2 (repeatable).")
    flags.DEFINE_multi_string("johnson_override", _DEFAULTS.johnson_override,
                              "key=value override of Johnson's config (repeatable).")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    from dstyle_tf.evaluation.comparison import TrainingInterrupted
    from dstyle_tf.evaluation.comparison import run_comparison
    from dstyle_tf.evaluation.report import markdown_table

    config = cli.config_from_flags(ComparisonConfig, flags.FLAGS)
    try:
        result = cli.call(run_comparison, config)
    except TrainingInterrupted as e:
        print(str(e), file=sys.stderr)
        sys.exit(128 + getattr(signal, e.signal_name))
    print(markdown_table(result.report))
    print(result.markdown)


def run():
    """Entry point of `python -m dstyle_tf.compare` and its console script."""
    cli.run_command(sys.modules[__name__])
