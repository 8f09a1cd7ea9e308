"""Training configs from files, changed by `key=value` overrides.

What `python -m dstyle_tf.train --config=configs/x.py --config.loss.style_weight=2`
does with flags, as functions a command can call with its own flags
(`python -m dstyle_tf.compare --structure_config=... --structure_override=...`):

    config = load_config("configs/structure.py", "wave")
    apply_overrides(config, ["loss.edge_weight=3e6", "train.jit_compile=true"])

A value parses by the type of the field it replaces, as ml_collections'
`config_flags` parses `--config.<key>=value`: floats and integers with absl's
parsers (`3e6`, `2`), booleans as true/false (1/0), tuples as Python
literals (`('relu1_2', 'relu2_2')`), strings as given, and a field holding
None as a Python literal (else a string). Unknown keys and values of the wrong type are `UserError`s.
"""

import ast
import importlib.util
import os

import ml_collections
from absl import flags
from ml_collections.config_flags import config_path
from ml_collections.config_flags import tuple_parser

from dstyle_tf.errors import UserError

_PARSERS = {
    bool: flags.BooleanParser(),
    int: flags.IntegerParser(),
    float: flags.FloatParser(),
    tuple: tuple_parser.TupleParser(),
}


def resolve_config_path(path):
    """`path` as given, else relative to the project root (so the default
    `configs/structure.py` works from any directory)."""
    if os.path.isfile(path) or os.path.isabs(path):
        return path
    import configs

    root = os.path.dirname(os.path.dirname(os.path.abspath(configs.__file__)))
    candidate = os.path.join(root, path)
    return candidate if os.path.isfile(candidate) else path


def load_config(path, arg=None):
    """`get_config(arg)` of a config file (`configs/*.py` or any path)."""
    resolved = resolve_config_path(path)
    if not os.path.isfile(resolved):
        raise UserError(f"config file {path!r}: no such file.")
    name = "_config_file_" + os.path.splitext(os.path.basename(resolved))[0]
    spec = importlib.util.spec_from_file_location(name, resolved)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "get_config"):
        raise UserError(f"config file {path!r} has no get_config().")
    return module.get_config(arg)


def parse_value(text, current):
    """`text` parsed as a value for a field that holds `current`."""
    parser = _PARSERS.get(type(current))
    if parser is not None:
        return parser.parse(text)
    if isinstance(current, str):
        return text
    try:
        return ast.literal_eval(text)
    except (SyntaxError, ValueError):
        return text


def apply_overrides(config, overrides, what="override"):
    """Sets each `key=value` of `overrides` in `config` (in place); returns it.

    Args:
        what: how the message of a bad override names it (a flag name).

    Raises:
        UserError: no `=`, an unknown key or section, or a value that does
            not parse as the field's type.
    """
    for override in overrides:
        key, separator, text = str(override).partition("=")
        key = key.strip()
        if not separator or not key:
            raise UserError(f"{what} {override!r}: expected key=value, e.g. loss.style_weight=2.")
        try:
            current = config_path.get_value(key, config)
        except (KeyError, IndexError, ValueError, AttributeError):
            raise UserError(f"{what} {override!r}: the config has no field {key!r}.") from None
        if isinstance(current, ml_collections.ConfigDict):
            raise UserError(f"{what} {override!r}: {key!r} is a section; name one of its fields.")
        try:
            config_path.set_value(key, config, parse_value(text, current))
        except (ValueError, TypeError):
            raise UserError(
                f"{what} {override!r}: {text!r} is not a {type(current).__name__} like {key}'s "
                f"{current!r}."
            ) from None
    return config


def flat_items(config, prefix=""):
    """{dotted key: value} of every field of a (nested) config."""
    items = {}
    for key, value in config.items():
        if isinstance(value, ml_collections.ConfigDict):
            items.update(flat_items(value, f"{prefix}{key}."))
        else:
            items[f"{prefix}{key}"] = value
    return items


def config_differences(a, b):
    """{dotted key: (a's value, b's value)} of the fields where two configs differ."""
    flat_a, flat_b = flat_items(a), flat_items(b)
    return {
        key: (flat_a.get(key), flat_b.get(key))
        for key in sorted(set(flat_a) | set(flat_b))
        if flat_a.get(key) != flat_b.get(key)
    }
