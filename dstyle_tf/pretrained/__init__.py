"""The trained networks that ship with the package: stylise right after install.

One network per bundled painting (`configs/pretrained.py`), each as package
data beside its provenance: `networks/<style>.keras` and `networks/<style>.provenance.json`
(the training command and config, the commit, the photos, the steps and wall
time, the loss network, the measured quality, a checksum and reference
outputs on a generated image).

    import dstyle_tf
    stylized = dstyle_tf.stylize_image(photo, style="wave")      # uint8 in, uint8 out
    blend = dstyle_tf.stylize_image("photo.jpg", style={"wave": 0.5, "the_scream": 0.5})

`python -m dstyle_tf.stylize --style=NAME` without `--model` uses them;
`python -m dstyle_tf.pretrained build` retrains and rewrites them
(`dstyle_tf.pretrained.build`).
"""

import functools
import hashlib
import json
import os

import numpy as np

from dstyle_tf.errors import UserError
from dstyle_tf.styles import BUNDLED_STYLES

NETWORKS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "networks")
# Another folder with the same files (rebuilt networks, tests) replaces it.
NETWORKS_DIR_VARIABLE = "DSTYLE_TF_PRETRAINED_DIR"
NETWORK_EXTENSION = ".keras"
PROVENANCE_EXTENSION = ".provenance.json"
# The generated image of the reference outputs recorded in the provenance.
REFERENCE_SIZE = 64
REFERENCE_POOL = 8  # recorded: the output averaged over 8×8 blocks


class PretrainedError(UserError):
    """The shipped networks are missing or their files cannot be read."""


def networks_dir():
    """The folder of the shipped files: $DSTYLE_TF_PRETRAINED_DIR, else the package's."""
    return os.environ.get(NETWORKS_DIR_VARIABLE) or NETWORKS_DIR


def shipped_styles(folder=None):
    """Names of the styles with a network and a provenance file in the folder:
    the bundled paintings first, in their order, then any others by name."""
    folder = folder or networks_dir()
    try:
        files = set(os.listdir(folder))
    except OSError:
        files = set()
    names = {
        name[: -len(NETWORK_EXTENSION)] for name in files
        if name.endswith(NETWORK_EXTENSION)
        and name[: -len(NETWORK_EXTENSION)] + PROVENANCE_EXTENSION in files
    }
    if not names:
        raise PretrainedError(
            f"no shipped networks in {folder}: reinstall dstyle_tf, rebuild them with "
            "`python -m dstyle_tf.pretrained build`, or pass --model."
        )
    return tuple([n for n in BUNDLED_STYLES if n in names] + sorted(names - set(BUNDLED_STYLES)))


def network_path(style, folder=None):
    """The `.keras` file of a shipped style."""
    return os.path.join(folder or networks_dir(), style + NETWORK_EXTENSION)


def provenance(style, folder=None):
    """The provenance of a shipped style's network (dict; see the module docstring)."""
    path = os.path.join(folder or networks_dir(), style + PROVENANCE_EXTENSION)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise PretrainedError(f"cannot read the provenance {path}: {e}") from None


def file_sha256(path):
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def reference_image(size=REFERENCE_SIZE):
    """The generated photo-like image (size, size, 3) float32 of the
    reference outputs: colour ramps, a disc and stripes (edges, flat areas)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / (size - 1)
    disc = ((x - 0.35) ** 2 + (y - 0.4) ** 2 < 0.06).astype(np.float32)
    stripes = (np.sin(x * 40.0) > 0).astype(np.float32) * (y > 0.7)
    image = np.stack([255 * x, 255 * y, 255 * (1 - x) * (1 - disc)], axis=-1)
    image = image * (1 - 0.5 * stripes[..., None]) + 60 * disc[..., None]
    return np.clip(image, 0, 255).astype(np.float32)


def reference_output(stylizer):
    """A single-style stylizer's output on `reference_image()`, averaged over
    REFERENCE_POOL² blocks, as nested lists rounded to 0.01 (for the provenance)."""
    output = np.asarray(stylizer(reference_image()), np.float64)
    blocks = output.reshape(
        REFERENCE_SIZE // REFERENCE_POOL, REFERENCE_POOL,
        REFERENCE_SIZE // REFERENCE_POOL, REFERENCE_POOL, 3,
    ).mean(axis=(1, 3))
    return np.round(blocks, 2).tolist()


@functools.lru_cache(maxsize=4)
def _load(path, num_threads):
    from dstyle_tf.stylization.stylizers import load_stylizer as load

    return load(path, num_threads=num_threads)


@functools.lru_cache(maxsize=4)
def _load_set(folder, num_threads):
    from dstyle_tf.stylization.stylizers import StyleSetStylizer

    paths = {style: network_path(style, folder) for style in shipped_styles(folder)}
    return StyleSetStylizer(paths, num_threads=num_threads)


def load_stylizer(num_threads=None):
    """The shipped networks as one `Stylizer` with a style per network (a
    `StyleSetStylizer`: `--style`, blends and sheets work as for a
    multi-style model; each network loads on first use, once per process)."""
    return _load_set(networks_dir(), num_threads)


def describe(folder=None):
    """Lines for `--list_styles`: each style, its painting, quality and origin."""
    folder = folder or networks_dir()
    styles = shipped_styles(folder)
    lines = [f"Shipped styles ({folder}):"]
    for style in styles:
        record = provenance(style, folder)
        quality = record.get("quality", {})
        measured = ", ".join(
            f"{key} {quality[key]:.3g}" for key in ("gram_distance", "edge_f1")
            if isinstance(quality.get(key), (int, float))
        )
        lines.append(f"  {style:<16} {record.get('painting', '')}")
        lines.append(f"  {'':<16} {record.get('architecture', '')}; {record.get('steps', '?')} steps, "
                     f"{record.get('wall_time', '?')}; commit {record.get('commit', '?')}")
        if measured:
            lines.append(f"  {'':<16} held-out photos: {measured}")
    first = provenance(styles[0], folder)
    lines.append("")
    for key in ("command", "loss_network", "photos_summary", "machine"):
        if key in first:
            lines.append(f"{key}: {first[key]}")
    return lines


def _as_float_rgb(image):
    """(float32 (H, W, 3) in [0, 255], whether the caller gave 8-bit data)."""
    from PIL import Image

    from dstyle_tf import image_io

    if isinstance(image, (str, os.PathLike)):
        return image_io.load_image(image), True
    if isinstance(image, Image.Image):
        return np.asarray(image_io.to_rgb(image), np.float32), True
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=-1)
    if array.ndim != 3 or array.shape[-1] not in (3, 4) or min(array.shape[:2]) < 1:
        raise ValueError(
            f"image must be (H, W, 3) RGB, (H, W, 4) RGBA or (H, W) grey; got shape {array.shape}."
        )
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise ValueError(f"image must hold numbers; got dtype {array.dtype}.")
    eight_bit = array.dtype == np.uint8
    array = array[..., :3].astype(np.float32)
    if not np.all(np.isfinite(array)):
        raise ValueError("image holds NaN or infinite values.")
    return array, eight_bit


def stylize_image(image, style=None, *, strength=1.0, preserve_color=False, max_size=None,
                  model=None):
    """Stylises one image in one call, with the shipped network by default.

    Args:
        image: an array (H, W, 3) RGB, (H, W, 4) RGBA (alpha dropped) or
            (H, W) grey, uint8 or float in [0, 255]; a PIL image; or a path.
        style: a shipped style name ("starry_night", "wave", "the_scream",
            "composition_vii"), or a blend {name: weight, ...} (weights ≥ 0,
            divided by their sum). With `model`, the model's own style names;
            None for a single-style model.
        strength: 0 (the photo) … 1 (the full style), per pixel.
        preserve_color: keep the photo's colours (luminance-only transfer).
        max_size: downscale the image first so its longer side is at most this.
        model: optional path of any trained or exported model (`.keras`,
            workdir, SavedModel, `.tflite`) instead of the shipped network.

    Returns:
        (H, W, 3) uint8 for uint8 arrays, PIL images and paths, else float32
        in [0, 255] (H, W: after `max_size`).

    Raises:
        PretrainedError / StyleError (both ValueError or UserError): an
        unknown style, listing the valid ones; ValueError for a bad image.
    """
    from dstyle_tf import image_io
    from dstyle_tf.stylization import image as image_lib
    from dstyle_tf.stylization import stylizers

    photo, eight_bit = _as_float_rgb(image)
    if max_size:
        photo = _downscale(photo, max_size)
    stylizer = _load(os.fspath(model), None) if model is not None else load_stylizer()
    if isinstance(style, dict):
        text = ",".join(f"{name}:{weight}" for name, weight in style.items())
        weights = stylizers.choose_style_weights(stylizer.style_names, style_weights=text)
    else:
        weights = stylizers.choose_style_weights(stylizer.style_names, style=style)
    result = image_lib.stylize_image(
        photo, stylizer, style_weights=weights, strength=strength, preserve_color=preserve_color,
    )
    return image_io.to_uint8(result) if eight_bit else result


def _downscale(image, max_size):
    """`image` with its longer side at most `max_size` (Lanczos, per channel
    in float, so float inputs keep their precision)."""
    from PIL import Image

    from dstyle_tf import image_io

    height, width = image.shape[:2]
    size = image_io.scaled_size(width, height, max_size)
    if size == (width, height):
        return image
    channels = [
        np.asarray(image_io.resize(Image.fromarray(np.ascontiguousarray(image[..., c]), "F"), *size))
        for c in range(3)
    ]
    return np.stack(channels, axis=-1).astype(np.float32)
