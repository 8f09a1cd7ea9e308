"""The static site: the page, the networks, the paintings and the runtime in
one folder that any static web server can serve.

    site/
      index.html, app.js, engine.js, images.js, pixels.js, style.css
      site.json                       what the page reads first (see `manifest`)
      models/<style>.tflite           float32, input images [1, S, S, 3]
      styles/<style>.jpg              a thumbnail of the painting
      vendor/litertjs/                core.js, wasm-utils.js, wasm/, LICENSE, NOTICE

The folder is written atomically (complete or not at all); an existing site
is replaced whole, anything else is refused.
"""

import os
import shutil

from dstyle_tf import __version__
from dstyle_tf import atomic
from dstyle_tf.errors import UserError
from dstyle_tf.styles import BUNDLED_STYLES
from dstyle_tf.styles import PAINTINGS
from dstyle_tf.styles import style_path
from dstyle_tf.web import models
from dstyle_tf.web import runtime

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
MANIFEST = "site.json"
DEFAULT_SIZE = 512
# Photos with more pixels are refused before they are decoded (a 10,000²
# photo needs 400 MB as RGBA); the page downscales the rest to its size.
MAX_PIXELS = 50_000_000
THUMBNAIL_SIDE = 160


class SiteError(UserError):
    """The site cannot be written where asked."""


def manifest(model_files, size, max_pixels=MAX_PIXELS):
    """The `site.json` payload: the input size, the photo size limit, each
    style (name, painting, files, the network's SHA-256) and the runtime's
    versions."""
    from dstyle_tf import pretrained

    styles = []
    for style, path in model_files.items():
        styles.append({
            "name": style,
            "painting": PAINTINGS.get(style, style),
            "model": f"models/{style}.tflite",
            "model_bytes": os.path.getsize(path),
            "thumbnail": f"styles/{style}.jpg" if style in BUNDLED_STYLES else None,
            "network_sha256": pretrained.file_sha256(pretrained.network_path(style)),
        })
    return {
        "size": size,
        "max_pixels": max_pixels,
        "styles": styles,
        "runtime": runtime.pinned_versions(),
        "built_with": {"dstyle_tf": __version__, "tensorflow": models.tensorflow_version()},
    }


def _is_replaceable(folder):
    """A missing or empty folder, or an earlier site."""
    if not os.path.exists(folder):
        return True
    if not os.path.isdir(folder):
        return False
    entries = os.listdir(folder)
    return not entries or MANIFEST in entries


def build_site(out_dir, size=DEFAULT_SIZE, styles=None):
    """Writes the static site into `out_dir` (see the module docstring).

    Args:
        out_dir: the folder to write (missing, empty, or an earlier site).
        size: the networks' square input size; photos are downscaled to it.
        styles: shipped styles to include (default: all).

    Returns:
        The manifest written as `site.json`.

    Raises:
        RuntimeMissingError: the LiteRT.js runtime is not installed.
        SiteError: `out_dir` holds something else.
        PretrainedError: an unknown style.
    """
    out_dir = os.path.abspath(out_dir)
    if not _is_replaceable(out_dir):
        raise SiteError(f"--out {out_dir} exists and is not a site written by this command: "
                        "choose a new or empty folder.")
    runtime_folder = runtime.require()
    model_files = models.shipped_files(styles, size)
    payload = manifest(model_files, size)
    with atomic.directory(out_dir, overwrite=True) as scratch:
        for name in sorted(os.listdir(STATIC_DIR)):
            shutil.copyfile(os.path.join(STATIC_DIR, name), os.path.join(scratch, name))
        os.makedirs(os.path.join(scratch, "models"))
        os.makedirs(os.path.join(scratch, "styles"))
        for entry in payload["styles"]:
            shutil.copyfile(model_files[entry["name"]], os.path.join(scratch, entry["model"]))
            if entry["thumbnail"]:
                _thumbnail(style_path(entry["name"]), os.path.join(scratch, entry["thumbnail"]))
        runtime.copy_into(scratch, runtime_folder)
        atomic.write_json(os.path.join(scratch, MANIFEST), payload)
    return payload


def _thumbnail(source, target):
    from dstyle_tf import image_io

    image = image_io.open_rgb(source)
    image_io.resize(image, *image_io.scaled_size(*image.size, THUMBNAIL_SIDE)).save(
        target, quality=85)
