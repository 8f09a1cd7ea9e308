"""Real photos that install offline, split into training and held-out sets.

A feed-forward network trained on a handful of photos generalises worse than
on many, and MS-COCO cannot be downloaded everywhere. Real photographs that do
install offline:

- scikit-image's sample photos (`skimage.data`, BSD-3-Clause; people, objects,
  a cat, a rocket, a motorcycle): `pip install scikit-image`;
- Debian's `mate-backgrounds` (12 nature photographs, GPL-2+) and
  `plasma-workspace-wallpapers` (11 photographs among abstract renders,
  GPL-2+): `apt-get install mate-backgrounds plasma-workspace-wallpapers`.

`write_photo_set(folder, "train")` fills a folder for
`--config.data.source=folder`; `"held_out"` writes the photos no shipped or
compared network is trained on (people, a cat, boats, a pier, a ladybird, a
forest path, cups, dunes: outlines, faces and horizons to keep).
"""

import glob
import os

import numpy as np
from PIL import Image

from dstyle_tf import image_io
from dstyle_tf.data import SKIMAGE_HELD_OUT_PHOTOS
from dstyle_tf.data import SKIMAGE_TRAIN_PHOTOS
from dstyle_tf.data import skimage_photo
from dstyle_tf.errors import UserError
from dstyle_tf.errors import check_choice

DEBIAN_PACKAGES = {
    "mate-backgrounds": "/usr/share/backgrounds/mate/nature/{name}.jpg",
    "plasma-workspace-wallpapers": "/usr/share/wallpapers/{name}/contents/images/*.jpg",
}
INSTALL_HINT = "apt-get install mate-backgrounds plasma-workspace-wallpapers"
LICENCES = {
    "scikit-image": "BSD-3-Clause",
    "mate-backgrounds": "GPL-2+",
    "plasma-workspace-wallpapers": "GPL-2+",
}
# (package, photo name); the plasma names are the photographs among its renders.
DEBIAN_PHOTOS = (
    *(("mate-backgrounds", n) for n in (
        "Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird",
        "RainDrops", "Storm", "TwoWings", "Wood", "YellowFlower")),
    *(("plasma-workspace-wallpapers", n) for n in (
        "BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow",
        "FallenLeaf", "Grey", "OneStandsOut", "Path", "Volna", "summer_1am")),
)
DEBIAN_HELD_OUT = ("EveningGlow", "ColdRipple", "LadyBird", "Path", "ColorfulCups", "Dune")
SPLITS = ("train", "held_out")


def debian_photo_path(package, name):
    """The largest file of a Debian photo, or None if it is not installed."""
    files = glob.glob(DEBIAN_PACKAGES[package].format(name=name))
    if not files:
        return None
    return max(files, key=lambda f: np.prod(Image.open(f).size))


def photo_names(split):
    """[(source, name)] of a split; source is "scikit-image" or a package."""
    check_choice("split", split, SPLITS, error=UserError)
    skimage = SKIMAGE_TRAIN_PHOTOS if split == "train" else SKIMAGE_HELD_OUT_PHOTOS
    debian = [
        (package, name) for package, name in DEBIAN_PHOTOS
        if (name in DEBIAN_HELD_OUT) == (split == "held_out")
    ]
    return [("scikit-image", name) for name in skimage] + debian


def write_photo_set(folder, split="train", max_size=1024, require_debian=True):
    """Writes a split's photos to `folder` as PNG files (longer side ≤ max_size).

    Existing files are kept, so a second call only adds what is missing.

    Args:
        require_debian: raise if the Debian packages are not installed;
            False writes scikit-image's photos alone.

    Returns:
        {file name: source} of the photos in the folder.
    """
    names = photo_names(split)
    paths = {(p, n): debian_photo_path(p, n) for p, n in names if p != "scikit-image"}
    missing = sorted({p for (p, _), path in paths.items() if path is None})
    if missing and require_debian:
        raise UserError(f"Debian photos not installed ({', '.join(missing)}): {INSTALL_HINT}")
    os.makedirs(folder, exist_ok=True)
    written = {}
    for source, name in names:
        if source in missing:
            continue
        target = os.path.join(folder, f"{name}.png")
        if not os.path.exists(target):
            if source == "scikit-image":
                image = Image.fromarray(skimage_photo(name))
            else:
                image = Image.open(paths[source, name]).convert("RGB")
            image.thumbnail((max_size, max_size), Image.LANCZOS)
            image_io.save_image(target, np.asarray(image, np.float32))
        written[f"{name}.png"] = source
    return written


def provenance(written):
    """Markdown lines naming each photo with its source and licence."""
    return [
        f"- `{name}`: {source} ({LICENCES[source]})" for name, source in sorted(written.items())
    ]
