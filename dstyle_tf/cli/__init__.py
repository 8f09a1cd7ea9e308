"""The command-line entry points, one module per command (flags and `main`
only; the work is done by the library): `train`, `stylize`, `evaluate`,
`compare`, `stills`, `optimize`. `python -m dstyle_tf.<command>` runs them
through the shims `dstyle_tf/<command>.py`.

This module holds what they share: configs built from flags, the exit codes
of the errors a user can fix, and `run_command`.
"""

import dataclasses
import sys

from absl import app
from absl import flags


def config_from_flags(config_class, values, **fields):
    """A dataclass config whose fields are the flags of the same names.

    Args:
        config_class: a dataclass (`StylizeConfig`, `OptimizeConfig`, ...).
        values: parsed flags (`absl.flags.FLAGS`) or any object with an
            attribute per field.
        **fields: values for fields that have no flag of their name.
    """
    names = [field.name for field in dataclasses.fields(config_class) if field.name not in fields]
    return config_class(**{name: getattr(values, name) for name in names}, **fields)


def call(fn, *args, **kwargs):
    """`fn(*args, **kwargs)`, turning the errors a user can fix into exits.

    A `UserError` prints `error: <message>` (one line) and exits 2; a
    non-finite loss (`NonFiniteLossError`) prints its message and exits 3.
    """
    from dstyle_tf.training.callbacks import NonFiniteLossError
    from dstyle_tf.errors import UserError

    try:
        return fn(*args, **kwargs)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except NonFiniteLossError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(3)


def run_command(command):
    """Runs `command.main` under absl, with `--help` listing the command's flags.

    absl's `--help` shows the docstring and lists the flags of the module
    that Python runs (`__main__`, `sys.argv[0]`): a shim (`python -m
    dstyle_tf.train`) or a console script. The command's docstring and
    flags are made that module's.

    Args:
        command: the command's module (`dstyle_tf.cli.train`, ...); its
            `define_flags()`, if it has one, is called first.
    """
    if hasattr(command, "define_flags"):
        command.define_flags()
    main_module = sys.modules.get("__main__")
    if main_module is not None and main_module is not command:
        main_module.__doc__ = command.__doc__
    for flag in flags.FLAGS.get_key_flags_for_module(command):
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)
    app.run(command.main)
