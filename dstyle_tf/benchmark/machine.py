"""The conditions a measurement was taken under: machine, software, load."""

import os
import platform

from dstyle_tf.benchmark import isa

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


# Instruction-set extensions that decide which float32 / int8 kernels XNNPACK
# and oneDNN can use: label -> /proc/cpuinfo flags of which any counts.
X86_ISA = {
    "AVX2": ("avx2",),
    "AVX-512": ("avx512f",),
    "VNNI": ("avx512_vnni", "avx_vnni"),  # int8 dot products
    "AMX": ("amx_tile",),
}
ARM_ISA = {
    "NEON": ("asimd", "neon"),
    "dotprod": ("asimddp",),  # int8 dot products
    "i8mm": ("i8mm",),
}


def cpu_flags(cpuinfo_text=None, masked=True):
    """The CPU's feature flags (first `flags`/`Features` line of /proc/cpuinfo).

    Read from this machine (no `cpuinfo_text`) under `--emulate_cpu`, the
    flags hidden from CPUID are left out (`masked=False` keeps them): the
    instruction sets the libraries see.
    """
    mask = isa.active_mask() if cpuinfo_text is None and masked else None
    return isa.visible_flags(isa.cpuinfo_flags(cpuinfo_text), mask)


def cpu_isa(flags=None, machine=None):
    """{label: bool}: AVX2, AVX-512, VNNI, AMX on x86; NEON, dotprod, i8mm on ARM."""
    flags = cpu_flags() if flags is None else flags
    machine = (machine or platform.machine()).lower()
    table = ARM_ISA if machine.startswith(("arm", "aarch")) else X86_ISA
    return {label: any(name in flags for name in names) for label, names in table.items()}


def isa_summary(isa):
    """One line, e.g. "AVX2 yes, AVX-512 no, VNNI no, AMX no"."""
    return ", ".join(f"{label} {'yes' if has else 'no'}" for label, has in isa.items())


def simd_class(sets):
    """The widest integer-dot-product class among CPU flags (`cpu_flags()`): what
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
        "cpu_isa": cpu_isa(),
        "simd_class": simd_class(cpu_flags()),
        "isa_emulation": isa.describe(isa.active_mask()),
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
