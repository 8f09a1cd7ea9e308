"""What the absl entry points share: configs built from flags."""

import dataclasses


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
