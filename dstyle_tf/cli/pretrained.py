r"""The network that ships with the package: list its styles, or rebuild it.

    python -m dstyle_tf.pretrained list
    apt-get install mate-backgrounds plasma-workspace-wallpapers   # once
    python -m dstyle_tf.pretrained build [--workdir=runs/pretrained_build] [--steps=N]

`build` writes the offline photos, trains `configs/pretrained.py:<style>` for
each style (reusing finished runs in the work directory, resuming interrupted
ones), measures every network on the held-out photos next to a
`--baseline_steps` `optimize` result, and rewrites
`dstyle_tf/pretrained/networks/` (`<style>.keras` and its provenance
`<style>.provenance.json`) of this checkout (`--output` elsewhere). See
`dstyle_tf.pretrained.build`.
"""

import sys

from absl import app
from absl import flags

from dstyle_tf import cli

_ACTIONS = ("list", "build")


def define_flags():
    from dstyle_tf.pretrained.build import BuildConfig

    defaults = BuildConfig()
    flags.DEFINE_string("workdir", defaults.workdir,
                        "build: photos, training run and evaluations (reused when run again).")
    flags.DEFINE_string("output", defaults.output,
                        "build: folder for the networks and their provenance (default: the package's).")
    flags.DEFINE_string("styles", defaults.styles, "build: comma-separated bundled styles.")
    flags.DEFINE_integer("steps", defaults.steps, "build: training steps (0: the config's).",
                         lower_bound=0)
    flags.DEFINE_integer("bounded_steps", defaults.bounded_steps,
                         "build: steps of the bounded-activation (ReLU6) fine-tune for int8 "
                         "export (0: none).", lower_bound=0)
    flags.DEFINE_integer("baseline_steps", defaults.baseline_steps,
                         "build: steps of the optimize baseline (0: none).", lower_bound=0)
    flags.DEFINE_integer("baseline_photos", defaults.baseline_photos,
                         "build: held-out photos the baseline runs on.", lower_bound=0)


def main(argv):
    if len(argv) != 2 or argv[1] not in _ACTIONS:
        raise app.UsageError(f"Give one action: {' or '.join(_ACTIONS)}.")
    from dstyle_tf import pretrained

    if argv[1] == "list":
        print("\n".join(cli.call(pretrained.describe)))
        return
    from dstyle_tf.pretrained.build import BuildConfig
    from dstyle_tf.pretrained.build import build
    from dstyle_tf.pretrained.build import command_line

    values = flags.FLAGS
    config = cli.config_from_flags(BuildConfig, values, command=command_line())
    cli.call(build, config)


def run():
    """Entry point of `python -m dstyle_tf.pretrained` and its console script."""
    cli.run_command(sys.modules[__name__])
