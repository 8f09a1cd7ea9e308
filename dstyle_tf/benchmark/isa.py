"""Measuring as on a CPU with fewer instruction sets: AVX-512, AVX-VNNI and
AMX hidden from CPUID.

XNNPACK (through cpuinfo), oneDNN and numpy pick their kernels from CPUID.
`isa_mask.c`, loaded with LD_PRELOAD, makes the kernel fault on every CPUID
instruction of the process (Linux's CPUID faulting, `arch_prctl
(ARCH_SET_CPUID)`, on CPUs with the `cpuid_fault` flag) and answers it with
the real result minus the hidden extensions. The libraries then run the
kernels they run on an AVX2 + FMA CPU such as an AMD EPYC of the Zen 2/3
generations or a laptop without AVX-512, and
`python -m dstyle_tf.benchmark --emulate_cpu=avx2` measures those. What it
cannot change is the cores: their clock, caches and the throughput of each
AVX2 instruction stay this CPU's, so the figures show what an AVX2 kernel
choice costs here, not what an AVX2 machine measures.

The library is compiled from its source on first use (`cc`, one file) into
the user's cache folder.
"""

import hashlib
import os
import platform
import subprocess
import tempfile

from dstyle_tf.cache import cache_dir

MASKS = ("avx2",)
ENV_MASK = "DSTYLE_TF_ISA_MASK"
# /proc/cpuinfo flags the "avx2" mask hides (prefixes), as `isa_mask.c`
# clears their CPUID bits.
_HIDDEN = {"avx2": ("avx512", "avx_vnni", "avx_ifma", "avx10", "avx_ne_convert", "amx")}
_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "isa_mask.c")


class EmulationError(RuntimeError):
    """This machine cannot hide instruction sets (and why)."""


def cpuinfo_flags(cpuinfo_text=None):
    """The CPU's feature flags as the kernel lists them (first `flags` or
    `Features` line of /proc/cpuinfo, or of `cpuinfo_text`), nothing hidden;
    an empty set where there is no such file."""
    if cpuinfo_text is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as f:
                cpuinfo_text = f.read()
        except OSError:
            return set()
    for line in cpuinfo_text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def library(flags=None):
    """Path of the compiled `isa_mask.c` (compiled now if needed).

    Raises:
        EmulationError: not Linux on x86-64, no `cpuid_fault`, or no C compiler.
    """
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        raise EmulationError(
            f"--emulate_cpu needs Linux on x86-64 (this is {platform.system()} "
            f"{platform.machine()}).")
    if flags is None:
        flags = cpuinfo_flags()
    if "cpuid_fault" not in flags:
        raise EmulationError(
            "--emulate_cpu: this CPU or hypervisor cannot fault on CPUID (no 'cpuid_fault' "
            "in /proc/cpuinfo), so instruction sets cannot be hidden here.")
    with open(_SOURCE, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    path = os.path.join(cache_dir(), f"isa_mask-{digest}.so")
    if os.path.exists(path):
        return path
    os.makedirs(cache_dir(), exist_ok=True)
    compiler = os.environ.get("CC", "cc")
    with tempfile.TemporaryDirectory(dir=cache_dir()) as scratch:
        built = os.path.join(scratch, "isa_mask.so")
        try:
            result = subprocess.run(
                [compiler, "-O2", "-shared", "-fPIC", "-o", built, _SOURCE, "-ldl"],
                capture_output=True, text=True, check=False)
        except FileNotFoundError:
            raise EmulationError(
                f"--emulate_cpu compiles a small C library and needs a C compiler: "
                f"'{compiler}' was not found (install gcc, or set CC).") from None
        if result.returncode != 0:
            raise EmulationError(f"--emulate_cpu: compiling {_SOURCE} failed:\n{result.stderr}")
        os.replace(built, path)
    return path


def active_mask():
    """The mask in force in this process ("avx2"), or None.

    In force means the library is loaded (it refuses to start without
    CPUID faulting), not only that the variables are set.
    """
    try:
        with open("/proc/self/maps", encoding="utf-8") as f:
            loaded = any("isa_mask-" in line for line in f)
    except OSError:
        return None
    return os.environ.get(ENV_MASK, MASKS[0]) if loaded else None


def visible_flags(flags, mask=None):
    """`flags` less those `mask` hides (all of them without a mask)."""
    hidden = _HIDDEN.get(mask, ())
    return {flag for flag in flags if not flag.startswith(hidden)}


def environment(mask):
    """Variables that start a process under `mask` (LD_PRELOAD kept)."""
    if mask not in MASKS:
        raise EmulationError(f"Unknown --emulate_cpu {mask!r}; choose from {', '.join(MASKS)}.")
    preload = [library()] + [p for p in os.environ.get("LD_PRELOAD", "").split(":") if p]
    return {**os.environ, "LD_PRELOAD": ":".join(preload), ENV_MASK: mask}


def describe(mask):
    """One line on what the emulation changes and what it does not."""
    if not mask:
        return None
    hidden = ", ".join(_HIDDEN[mask])
    return (f"{mask}: CPUID hides {hidden}*, so libraries choose their AVX2 kernels; the "
            "cores (clock, caches, per-instruction throughput) are this CPU's")
