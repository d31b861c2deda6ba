"""What a number depends on besides data and code: the BLAS, its kernel and threads, the CPU.

OpenBLAS (the BLAS of numpy's and scipy's wheels) picks a kernel per CPU at load time
(``Haswell`` on AVX2 machines, ``SkylakeX`` with AVX-512, ...) and sums in a kernel-specific
order, so float32 fits that stop early (the protocol probe) land on kernel-specific points.
``OPENBLAS_CORETYPE`` forces a kernel in a new process: :mod:`stages.noise_floor` uses
:func:`other_kernels` to emulate other machines on this one.
"""

from __future__ import annotations

import platform
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

# x86-64 kernels of OpenBLAS's DYNAMIC_ARCH builds and the CPU flags each one executes
# (forcing a kernel the CPU cannot run kills the process with SIGILL).
OPENBLAS_KERNELS: dict[str, tuple[str, ...]] = {
    "SkylakeX": ("avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl"),
    "Haswell": ("avx2", "fma"),
    "Sandybridge": ("avx",),
    "Prescott": ("pni",),  # SSE3; OpenBLAS reports this kernel as "Katmai"
}
_REPORTED_AS = {"Katmai": "Prescott"}


def blas_libraries() -> list[dict[str, Any]]:
    """Every BLAS loaded in this process (numpy's and scipy's), with vendor, kernel, threads."""
    import numpy  # noqa: F401  (load numpy's BLAS before asking)
    import scipy.linalg  # noqa: F401  (and scipy's)
    from threadpoolctl import threadpool_info

    return [{"library": Path(info["filepath"]).name, "vendor": info.get("internal_api"),
             "version": info.get("version"), "kernel": info.get("architecture"),
             "threads": info.get("num_threads")}
            for info in sorted(threadpool_info(), key=lambda i: Path(i["filepath"]).name)
            if info.get("user_api") == "blas"]


def current_kernel() -> str | None:
    """The OpenBLAS kernel this process runs (``None`` for another BLAS)."""
    kernels = [lib["kernel"] for lib in blas_libraries() if lib["vendor"] == "openblas"]
    return _REPORTED_AS.get(kernels[0], kernels[0]) if kernels and kernels[0] else None


def blas_threads() -> int:
    threads = [lib["threads"] for lib in blas_libraries() if lib["threads"]]
    return max(threads) if threads else 1


@lru_cache(maxsize=1)
def _cpu_flags() -> frozenset[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def supported_kernels() -> list[str]:
    """OpenBLAS kernels this CPU can run (empty where that cannot be told: not x86-64 Linux,
    or numpy's BLAS is not an OpenBLAS that can switch kernels)."""
    if platform.machine().lower() not in ("x86_64", "amd64") or current_kernel() is None:
        return []
    flags = _cpu_flags()
    return [name for name, needs in OPENBLAS_KERNELS.items() if all(f in flags for f in needs)]


def other_kernels() -> list[str]:
    """Supported kernels other than the one this process runs: other machines, emulated."""
    here = current_kernel()
    return [name for name in supported_kernels() if name != here]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def torch_cpu_capability() -> str | None:
    """The SIMD level torch's CPU kernels dispatch to (``AVX2``, ``AVX512``, ...), if loaded."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    try:
        return str(torch.backends.cpu.get_cpu_capability())
    except AttributeError:
        return None


def probe_machine() -> dict[str, Any]:
    """The facts the probe's numbers depend on, for a submission's ``run_settings``."""
    return {"cpu": cpu_model(), "arch": platform.machine(), "blas": blas_libraries()}
