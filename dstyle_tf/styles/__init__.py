"""Style images that ship with the package (public-domain paintings, ≤ 512 px).

Provenance of each file is in README.md beside this module.
"""

import os

_FOLDER = os.path.dirname(__file__)
BUNDLED_STYLES = ("starry_night", "wave", "the_scream", "composition_vii")
# The paintings, as README.md beside this module names them.
PAINTINGS = {
    "starry_night": "Vincent van Gogh, The Starry Night (1889)",
    "wave": "Katsushika Hokusai, The Great Wave off Kanagawa (c. 1831)",
    "the_scream": "Edvard Munch, The Scream (1893)",
    "composition_vii": "Wassily Kandinsky, Composition VII (1913)",
}


def style_path(name):
    """Path of a bundled style image, by name (e.g. `"starry_night"`)."""
    if name not in BUNDLED_STYLES:
        raise ValueError(
            f"No bundled style {name!r}; bundled: {', '.join(BUNDLED_STYLES)}."
        )
    return os.path.join(_FOLDER, f"{name}.jpg")


def resolve_style_image(value):
    """A style image argument: an existing path, else a bundled style's name."""
    path = os.path.expanduser(value)
    if not os.path.exists(path) and value in BUNDLED_STYLES:
        return style_path(value)
    return path


def style_list(value):
    """The style images of a config's `style.image`: one, or a comma list."""
    return [item.strip() for item in str(value).split(",") if item.strip()]


def style_name(value):
    """A style's name: a bundled style's own, else the image file's stem."""
    if value in BUNDLED_STYLES:
        return value
    return os.path.splitext(os.path.basename(value))[0]
