"""What the absl entry points share: configs built from flags."""

import dataclasses
import sys


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
    from dstyle_tf.callbacks import NonFiniteLossError
    from dstyle_tf.errors import UserError

    try:
        return fn(*args, **kwargs)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except NonFiniteLossError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(3)
