"""The page's networks: float32 TFLite files of the shipped networks, built
once per network and input size and kept in the user's cache.

LiteRT.js 2.5.3 runs only the shapes a model was converted with (a
dynamic-size file is refused: "TensorBuffer ranked tensor type
Float32[1, 96, 80, 3] does not match expected ranked tensor type
Float32[1, -1, -1, 3]"), so each file takes one square size; the page pads a
photo up to it the way `Stylizer.__call__` pads for a fixed-size `.tflite`.

A file is named after its network's SHA-256, the size and the TensorFlow
version that converted it, so a rebuilt network or another converter makes
a new file, and it is written atomically after it matched the Keras network.
"""

import importlib.metadata
import os

from dstyle_tf import atomic
from dstyle_tf import pretrained
from dstyle_tf.cache import cache_dir

# Worst PSNR against the Keras network that a built file must reach (float32
# conversions measure 85-93 dB; docs/results.md).
FLOAT32_FLOOR_DB = 60.0


def tensorflow_version():
    """The installed TensorFlow's version (it names the converted files)."""
    try:
        return importlib.metadata.version("tensorflow")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def cached_path(network, size):
    """Where the float32 TFLite file of `network` (a `.keras` path) at
    `size`² is kept: `<cache>/web/models/<name>-<sha256[:16]>-<size>-tf<version>.tflite`."""
    name = os.path.splitext(os.path.basename(network))[0]
    digest = pretrained.file_sha256(network)[:16]
    return cache_dir("web", "models", f"{name}-{digest}-{size}-tf{tensorflow_version()}.tflite")


def tflite_file(network, size):
    """The float32 TFLite file of a `.keras` network at `size`², built now
    if the cache has none (conversion, then a check against Keras).

    Raises:
        export.exporter.VerificationError: the file does not match the
            network (nothing is kept).
    """
    path = cached_path(network, size)
    if os.path.isfile(path):
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    print(f"Converting {os.path.basename(network)} to float32 TFLite at {size}² (once) ...",
          flush=True)
    with atomic.replacing(path, suffix=".tflite") as temporary:
        _convert(network, size, temporary)
    return path


def _convert(network, size, path):
    import tempfile

    from export import exporter
    from export import tflite

    model = exporter.load_keras_model(network)
    with tempfile.TemporaryDirectory() as scratch:
        tflite.frozen_saved_model(model, scratch, (size, size))
        flatbuffer = tflite.convert(scratch, "float32")
    with open(path, "wb") as f:
        f.write(flatbuffer)
    checks = tflite.verify(path, model, [pretrained.reference_image(size)], timing_runs=0)
    if checks["psnr_db_worst"] < FLOAT32_FLOOR_DB:
        raise exporter.VerificationError(
            f"{network}: its float32 TFLite file at {size}² is {checks['psnr_db_worst']:.1f} dB "
            f"from the network (floor {FLOAT32_FLOOR_DB:.0f} dB); nothing was kept.")


def shipped_files(styles=None, size=512):
    """{style: float32 TFLite path} of the shipped networks (all, or `styles`).

    Raises:
        PretrainedError: an unknown style (listing the shipped ones) or no
            shipped networks.
    """
    shipped = pretrained.shipped_styles()
    styles = list(styles or shipped)
    unknown = [style for style in styles if style not in shipped]
    if unknown:
        raise pretrained.PretrainedError(
            f"no shipped network for {', '.join(unknown)}; the shipped styles are "
            f"{', '.join(shipped)}.")
    return {style: tflite_file(pretrained.network_path(style), size) for style in styles}
