"""Peak memory (max RSS) of stylizing large images with tiling, in a child.

Each image is stylized by `python -m dstyle_tf.stylize` in its own process
(the way users run it); the child's maximum resident set size comes from
`os.wait4`, which reports that one child's resource usage. A small image run
first gives the baseline (Python, TensorFlow and the model, no tiles).
The child is started from a small intermediary process, not from the
benchmark itself: Linux carries the parent's RSS into a child's max RSS.
"""

import os
import subprocess
import sys
import tempfile
import time

from PIL import Image

from dstyle_tf import data as data_lib
from dstyle_tf import image_io
from dstyle_tf.benchmark import machine


def write_test_image(path, size):
    """A photo-like size×size PNG (lossless, so decoding is cheap and exact)."""
    image = data_lib.synthetic_images(1, size, seed=size)[0]
    Image.fromarray(image_io.to_uint8(image)).save(path)
    return path


# Runs argv[1:] and prints that child's ru_maxrss (KB). On Linux a child's
# max RSS starts from the RSS of the process it was exec'd from, so measuring
# directly from a large benchmark process would report the benchmark's own
# RSS; this small intermediary keeps the measurement to the child.
_MEASURE = (
    "import os, subprocess, sys\n"
    "child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
    "_, status, usage = os.wait4(child.pid, 0)\n"
    "print(usage.ru_maxrss, os.waitstatus_to_exitcode(status))\n"
)


def child_peak_rss(command, env=None):
    """(max RSS in bytes, wall seconds, exit status, stderr tail) of `command`."""
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command], capture_output=True, env=env, check=False
    )
    elapsed = time.perf_counter() - start
    try:
        max_rss_kb, code = (int(v) for v in result.stdout.split()[-2:])
    except ValueError:
        max_rss_kb, code = 0, result.returncode or 1
    # ru_maxrss is in kilobytes on Linux.
    return max_rss_kb * 1024, elapsed, code, result.stderr.decode()[-2000:]


def run(model, sizes, tile_size=1024, tile_overlap=128, baseline_size=64, log=print):
    """Max RSS of `python -m dstyle_tf.stylize` on each size×size image.

    Args:
        model: the Keras network (saved to a temporary .keras file).
        sizes: image sides, e.g. (1024, 4096).
        tile_size, tile_overlap: stylize's tiling flags.
        baseline_size: side of an untiled small image run first (None: skip).

    Returns:
        dict with one row per size (bytes, GB, seconds) and the baseline.
    """
    rows = []
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    with tempfile.TemporaryDirectory(prefix="dstyle_bench_mem_") as scratch:
        model_path = os.path.join(scratch, "transform_net.keras")
        model.save(model_path)
        runs = ([baseline_size] if baseline_size else []) + list(sizes)
        for index, size in enumerate(runs):
            image = write_test_image(os.path.join(scratch, f"in_{size}.png"), size)
            output = os.path.join(scratch, f"out_{size}.png")
            command = [
                sys.executable, "-m", "dstyle_tf.stylize", f"--model={model_path}",
                f"--input={image}", f"--output={output}", f"--tile_size={tile_size}",
                f"--tile_overlap={tile_overlap}",
                # A multi-style network is run with its first style.
                *(["--style=0"] if getattr(model, "num_styles", 1) > 1 else []),
            ]
            log(f"memory: stylizing {size}x{size} in a child process")
            load = machine.load_average()
            rss, seconds, code, stderr = child_peak_rss(command, env)
            if code != 0:
                raise RuntimeError(f"stylize failed on {size}x{size} (exit {code}):\n{stderr}")
            rows.append({
                "size": size,
                "baseline": bool(baseline_size) and index == 0,
                "tile_size": tile_size,
                "tile_overlap": tile_overlap,
                "max_rss_bytes": rss,
                "max_rss_gb": rss / 1e9,
                "wall_s": seconds,
                "load_average_before": load,
                "command": " ".join(command[1:]).replace(scratch, "$TMP"),
            })
    return {"results": rows, "method": "ru_maxrss of the stylize process (os.wait4 in a small intermediary)"}
