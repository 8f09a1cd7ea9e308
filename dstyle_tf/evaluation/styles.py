"""Which style image each evaluated method is judged against.

`--style` lists style images, separated by commas: a path, a bundled
style's name (`dstyle_tf.styles`) or `name=path`. An entry's style name is
the name before "=", else the bundled name or the file's stem (as training
names styles: `wave.jpg` is "wave").

- A multi-style model is evaluated once per style it holds (methods
  `<label>/<style>`), each against the image of that style's name: the
  `--style` entry of that name, else the bundled painting of that name. A
  network trained on the bundled paintings needs no `--style` at all.
- A single-style model uses the only `--style` image; with several, the one
  named like the model's training style (`config.json` in its workdir or
  beside its `.keras` file), else like its label.
- `--optimize` runs once per `--style` image (labels `gatys/<style>` when
  there are several).

Example:
```python
styles = parse_style_specs("wave,scream=photos/munch.jpg")
# {"wave": ".../styles/wave.jpg", "scream": "photos/munch.jpg"}
```
"""

import json
import os

from dstyle_tf.errors import UserError
from dstyle_tf.styles import BUNDLED_STYLES
from dstyle_tf.styles import resolve_style_image


def style_name_of(value):
    """The style name of a `--style` value: a bundled name, else the file stem."""
    if value in BUNDLED_STYLES:
        return value
    return os.path.splitext(os.path.basename(os.path.normpath(value)))[0]


def parse_style_specs(text):
    """Style name -> image path of a `--style` value (see module doc).

    Raises:
        UserError: for an empty entry, a file that does not exist (nor is a
            bundled style) or a style name given twice.
    """
    styles = {}
    for entry in [] if not text else str(text).split(","):
        name, separator, value = entry.strip().rpartition("=")
        name, value = name.strip(), value.strip()
        if not value or (separator and not name):
            raise UserError(f"--style {text!r}: expected image paths or name=path, comma-separated.")
        path = resolve_style_image(value)
        if not os.path.isfile(path):
            raise UserError(f"--style {value!r}: no such file (nor a bundled style name).")
        name = name or style_name_of(value)
        if name in styles:
            raise UserError(f"--style: style {name!r} is given twice.")
        styles[name] = path
    return styles


def style_image_for(name, styles):
    """Path of the image of style `name`: the `--style` entry, else the bundled
    painting of that name, else None."""
    if name in styles:
        return styles[name]
    return resolve_style_image(name) if name in BUNDLED_STYLES else None


def training_style_name(path):
    """`style.name` of the training config beside a model (workdir or `.keras`), or None."""
    folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    try:
        with open(os.path.join(folder, "config.json")) as f:
            style = json.load(f).get("style")
    except (OSError, ValueError, AttributeError):
        return None
    return style.get("name") if isinstance(style, dict) else None


def single_style_name(label, path, styles):
    """The `--style` entry a single-style model is judged against (see module doc).

    Raises:
        UserError: when no entry, or no single fitting one, exists.
    """
    if len(styles) == 1:
        return next(iter(styles))
    what = f"--model {label}={path}"
    if not styles:
        raise UserError(f"{what}: holds one style; give its style image with --style.")
    for name in (training_style_name(path), label):
        if name in styles:
            return name
    raise UserError(
        f"{what}: which --style image is its style? None is named like its training style "
        f"or its label; --style has {', '.join(styles)}."
    )
