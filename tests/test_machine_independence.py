"""No number depends on the BLAS kernel the committed results were made with.

OpenBLAS picks its kernel per CPU; ``OPENBLAS_CORETYPE`` makes a process run another one, so
other machines can be emulated here. Two checks, each in subprocesses:

* the number-pinning tests (:mod:`test_pinned_numbers`, :mod:`test_probe_equivalence`) pass
  under two other kernels, as they do under this machine's own in the main run;
* the exact probe gives identical scores (``==``) under every kernel this CPU can run, with 1 and
  2 BLAS threads, on real lite embeddings of kmer-4 (all 13 tasks) and HyenaDNA-tiny (3 tasks).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stages import paths
from stages.machine import current_kernel, supported_kernels

EXACT_WORKER = """
import json, sys
from pathlib import Path
from stages.embedding_files import read_embeddings
from stages.exact_probe import exact_probe_task
from stages.machine import blas_threads, current_kernel
from stages.spec import default_spec
spec = default_spec()
out = {"kernel": current_kernel(), "threads": blas_threads(), "tasks": {}}
for path in sys.argv[1:]:
    e = read_embeddings(Path(path))
    results = exact_probe_task(e.train_X, e.train_y, e.test_X, e.test_y, spec.protocol, spec.regimes)
    key = Path(path).parent.name + "/" + Path(path).name
    out["tasks"][key] = {r: {**x.per_seed, "ties": x.ties} for r, x in results.items()}
print(json.dumps(out))
"""


def kernels_or_skip(count: int) -> list[str]:
    if current_kernel() is None:
        pytest.skip("numpy's BLAS is not OpenBLAS: kernels cannot be switched")
    kernels = supported_kernels()
    assert len(kernels) >= count, f"this CPU runs only {kernels}"
    return kernels


def run(args: list[str], env: dict[str, str], timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=paths.REPO_ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
@pytest.mark.parametrize("kernel", ["Sandybridge", "Prescott"])
def test_number_pinning_tests_pass_under_another_kernel(kernel):
    """Sandybridge and Prescott run on every x86-64 CPU with AVX; the main run covers the
    machine's own kernel (Haswell, SkylakeX, Zen...)."""
    if kernel not in kernels_or_skip(2):
        pytest.skip(f"this CPU cannot run the {kernel} kernel")
    proc = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                "tests/test_pinned_numbers.py", "tests/test_probe_equivalence.py"],
               {"OPENBLAS_CORETYPE": kernel})
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout


@pytest.fixture(scope="module")
def lite_embedding_files(tmp_path_factory, lite) -> list[Path]:
    """kmer-4 for every lite task, HyenaDNA-tiny (real weights from anticapt) for three."""
    from stages.embed import embed_task
    from stages.extractors.registry import get_model_entry, load_extractor
    from stages.taskdata import load_task

    root = tmp_path_factory.mktemp("machine")
    files = []
    plan = [("kmer-4", lite.task_ids)]
    try:
        import anticapt  # noqa: F401

        plan.append(("hyenadna-tiny-1k-anticapt", lite.task_ids[2:11:4]))
    except ImportError:
        if os.environ.get("CI"):
            raise
    for model_id, task_ids in plan:
        extractor = load_extractor(get_model_entry(model_id), device="cpu")
        for task_id in task_ids:
            embed_task(extractor, load_task(lite.data_dir, task_id), root / model_id)
            files.append(root / model_id / f"{task_id}.npz")
    return files


@pytest.mark.slow
def test_exact_probe_is_identical_under_every_kernel_and_thread_count(lite_embedding_files):
    outputs = {}
    for kernel in kernels_or_skip(2):
        for threads in ("1", "2"):
            proc = run([sys.executable, "-c", EXACT_WORKER, *map(str, lite_embedding_files)],
                       {"OPENBLAS_CORETYPE": kernel, "OPENBLAS_NUM_THREADS": threads})
            assert proc.returncode == 0, proc.stderr[-3000:]
            result = json.loads(proc.stdout)
            assert (result["kernel"], str(result["threads"])) == (kernel, threads)
            outputs[(kernel, threads)] = result["tasks"]
    first = next(iter(outputs.values()))
    assert len(first) == len(lite_embedding_files)
    for config, tasks in outputs.items():
        assert tasks == first, f"exact probe numbers differ under {config}"
