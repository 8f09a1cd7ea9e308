"""--emulate_cpu: instruction sets hidden from CPUID, in a child process."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from dstyle_tf.benchmark import isa
from dstyle_tf.benchmark import machine

_FLAGS = machine.cpu_flags(masked=False)
needs_cpuid_fault = pytest.mark.skipif(
    "cpuid_fault" not in _FLAGS or "avx2" not in _FLAGS
    or not shutil.which(os.environ.get("CC", "cc")),
    reason="hiding instruction sets needs an AVX2 CPU with CPUID faulting and a C compiler")

_PROBE = """
import json
from numpy._core._multiarray_umath import __cpu_features__ as seen
from dstyle_tf.benchmark import isa, machine
print(json.dumps({"numpy": {k: seen[k] for k in ("AVX2", "FMA3", "AVX512F", "AVX512_SKX")},
                  "mask": isa.active_mask(), "isa": machine.cpu_isa(),
                  "simd": machine.simd_class(machine.cpu_flags())}))
"""


def _run(code, env, *options):
    return subprocess.run([sys.executable, *options, "-c", code], env=env,
                          capture_output=True, text=True, timeout=120)


def test_visible_flags_leave_out_what_the_mask_hides():
    flags = {"avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "amx_tile", "f16c"}
    assert isa.visible_flags(flags, "avx2") == {"avx2", "fma", "f16c"}
    assert isa.visible_flags(flags, None) == flags


@needs_cpuid_fault
def test_child_process_sees_an_avx2_cpu():
    env = isa.environment("avx2")
    # faulthandler installs its own SIGSEGV handler first: CPUID must still work.
    result = _run(_PROBE, env, "-X", "faulthandler")
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["numpy"]["AVX2"] and seen["numpy"]["FMA3"]
    assert not seen["numpy"]["AVX512F"] and not seen["numpy"]["AVX512_SKX"]
    assert seen["mask"] == "avx2"
    assert seen["isa"]["AVX2"] and not seen["isa"]["AVX-512"] and not seen["isa"]["AMX"]
    assert seen["simd"] == "AVX2"
    assert isa.active_mask() is None  # this process is untouched


@needs_cpuid_fault
def test_real_faults_still_crash_under_the_mask():
    result = _run("import ctypes; ctypes.string_at(0)", isa.environment("avx2"),
                  "-X", "faulthandler")
    assert result.returncode == -11
    assert "Segmentation fault" in result.stderr


def test_clear_errors_where_nothing_can_be_hidden(tmp_path, monkeypatch):
    with pytest.raises(isa.EmulationError, match="cpuid_fault"):
        isa.library(flags={"avx2"})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    with pytest.raises(isa.EmulationError, match="C compiler"):
        isa.library(flags={"avx2", "cpuid_fault"})
    with pytest.raises(isa.EmulationError, match="Unknown --emulate_cpu"):
        isa.environment("sse2")


@needs_cpuid_fault
def test_library_is_compiled_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = isa.library()
    assert path.startswith(str(tmp_path)) and os.path.exists(path)
    stamp = os.stat(path).st_mtime_ns
    assert isa.library() == path and os.stat(path).st_mtime_ns == stamp


@needs_cpuid_fault
def test_benchmark_cli_restarts_itself_under_the_mask(tmp_path):
    output = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "dstyle_tf.benchmark", "--emulate_cpu=avx2", "--quick",
         "--only=pipeline", f"--output={output}"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    conditions = json.loads(output.read_text())["conditions"]["machine"]
    assert conditions["isa_emulation"].startswith("avx2: CPUID hides avx512")
    assert conditions["cpu_isa"]["AVX2"] and not conditions["cpu_isa"]["AVX-512"]
    assert "emulated" in result.stdout
