r"""Trains one depth-aware style transfer network.

    python -m dstyle_tf.train --config=configs/smoke.py --workdir=/tmp/smoke
    python -m dstyle_tf.train --config=configs/paper.py:style.jpg \
        --workdir=runs/style --config.train.steps=20000

Any config field can be overridden with --config.<section>.<field>=value.
Running the same command again resumes from the last checkpoint.
"""

import os
import signal
import sys

from absl import app
from absl import flags
from ml_collections import config_flags

from dstyle_tf import cli

FLAGS = flags.FLAGS


def define_flags():
    """Flags of `python -m dstyle_tf.train` (defined when it runs, not on import)."""
    config_flags.DEFINE_config_file(
        "config", None, "Training config file (configs/*.py[:arg]).", lock_config=True
    )
    flags.DEFINE_string(
        "workdir", None, "Where checkpoints, TensorBoard logs and transform_net.keras go."
    )
    flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    from dstyle_tf.training import train

    result = cli.call(train, FLAGS.config, FLAGS.workdir)
    if result.interrupted:
        print(
            f"Stopped by {result.interrupted} at step {result.step}; a checkpoint "
            "was saved. Run the same command to resume.",
            file=sys.stderr,
        )
        sys.exit(128 + getattr(signal, result.interrupted))
    summary = ", ".join(f"{k}={v:.4g}" for k, v in sorted(result.losses.items()))
    print(f"Done at step {result.step}. {summary}")
    print(f"Model: {os.path.join(FLAGS.workdir, 'transform_net.keras')}")


def run():
    """Entry point of `python -m dstyle_tf.train` and its console script."""
    cli.run_command(sys.modules[__name__])
