"""The conditions a measurement was taken under: machine, software, load."""

import os
import platform

_ENV_VARS = ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "OPENBLAS_CORETYPE", "TF_ENABLE_ONEDNN_OPTS")


def cpu_model():
    """The CPU's model name (from /proc/cpuinfo on Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# The SIMD extensions the convolution kernels (XNNPACK, oneDNN, Eigen) pick
# from: the same code differs several-fold between them.
_INSTRUCTION_SETS = (
    "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni",
    "avx512_bf16", "avx512_fp16", "amx_tile", "amx_int8", "amx_bf16", "asimd", "asimddp",
    "sve", "sve2", "i8mm", "bf16",
)


def instruction_sets():
    """The CPU's SIMD extensions relevant to these kernels (from the flags /
    Features of /proc/cpuinfo), in a fixed order; [] where unknown."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    present = set(line.split(":", 1)[1].split())
                    return [name for name in _INSTRUCTION_SETS if name in present]
    except OSError:
        pass
    return []


def simd_class(sets):
    """The widest integer-dot-product class among `instruction_sets()`: what
    XNNPACK's int8 kernels depend on most ("AVX-512 VNNI", "AVX-512", "AVX2",
    "ARM dot product", or "other")."""
    present = set(sets or ())
    for name, needed in (("AVX-512 VNNI", "avx512_vnni"), ("AVX-512", "avx512f"),
                         ("AVX2", "avx2"), ("ARM dot product", "asimddp")):
        if needed in present:
            return name
    return "other"


def load_average():
    """(1, 5, 15)-minute load averages, or None where unsupported."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def configure_threads(threads):
    """Sets TensorFlow's intra- and inter-op thread pools (before TF runs).

    Args:
        threads: int > 0, or 0 for every CPU the process may use.

    Returns:
        the thread count in force.
    """
    import tensorflow as tf

    threads = threads or len(os.sched_getaffinity(0))
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # TF already initialised: report what is in force.
        threads = tf.config.threading.get_intra_op_parallelism_threads() or threads
    return threads


def describe(threads):
    """Machine and software conditions as a JSON-ready dict."""
    import ai_edge_litert
    import keras
    import numpy as np
    import tensorflow as tf

    try:
        from importlib.metadata import version

        litert_version = version("ai-edge-litert")
    except Exception:  # Metadata missing in odd installs.
        litert_version = getattr(ai_edge_litert, "__version__", None)
    return {
        "cpu_model": cpu_model(),
        "instruction_sets": instruction_sets(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "threads": threads,
        "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "ai_edge_litert": litert_version,
        "numpy": np.__version__,
        "environment": {name: os.environ[name] for name in _ENV_VARS if name in os.environ},
        "load_average": load_average(),
    }
