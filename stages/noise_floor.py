"""The machine noise floor of the protocol numbers: how far they move when only the machine does.

The published protocol's lbfgs stops at ``tol=1e-4`` in float32, at a point that depends on
rounding: another CPU (another BLAS kernel, another thread count) gives the same embeddings
slightly different task means. Two kinds of *variant* show how far, both refitting the protocol
on the same embeddings:

* **machines** (OpenBLAS only): the protocol re-run in a subprocess under every other OpenBLAS
  kernel this CPU can execute (``OPENBLAS_CORETYPE``) and under another BLAS thread count;
* **perturbations** (any BLAS): refits on the embeddings with every value moved by at most one
  float32 ulp, the columns and each fit's rows in another order: the same problem, rounded and
  summed differently, which is what another machine does to it. ``PERTURBATIONS`` of them
  beside emulated machines, ``FALLBACK_PERTURBATIONS`` where no machine can be emulated.

The floor of a task, regime and metric is the largest ``|variant mean - recorded mean|`` over
all variants; with perturbations only, ``FALLBACK_SCALE`` times that. ``docs/reproducibility.md``
measures how well the perturbations alone bound the kernel spread on real data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stages.errors import GenebError
from stages.machine import blas_threads, current_kernel, other_kernels
from stages.probe import RegimeResult, probe_task
from stages.spec import Protocol

PERTURBATIONS = 4  # beside the emulated machines
FALLBACK_PERTURBATIONS = 8  # where no machine can be emulated (not OpenBLAS, not x86-64)
# Eight refits alone fell short of the kernel spread in 7 of 117 real task x regime cells, by up
# to 2.14x; scaled by this they bound all 117, and 38 of 39 held-out cells (3.5x short on the
# 39th): docs/reproducibility.md. A floor from perturbations only is scaled by it.
FALLBACK_SCALE = 2.5
JITTER = 2.0**-24  # relative jitter: every value moves by at most one float32 ulp
TaskMeans = dict[str, dict[str, float]]  # regime -> metric -> task mean


class NoiseFloorError(GenebError, RuntimeError):
    """A machine variant's subprocess failed."""


@dataclass
class NoiseFloor:
    """Per regime, task and metric: the largest move of the task mean over the variants."""

    variants: list[str]
    results: dict[str, dict[str, dict[str, float]]]  # regime -> task -> metric -> floor
    skipped: dict[str, str] = field(default_factory=dict)  # variant -> why it did not run
    scale: float = 1.0  # FALLBACK_SCALE when no machine could be emulated

    @property
    def method(self) -> str:
        kinds = sorted({name.split()[0] for name in self.variants})
        method = "+".join(kinds) if kinds else "none"
        return method if self.scale == 1.0 else f"{method} x{self.scale:g}"

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "variants": self.variants, "skipped": self.skipped,
                "results": self.results}


def means(results: Mapping[str, RegimeResult]) -> TaskMeans:
    return {regime: result.mean for regime, result in results.items()}


def _perturbed(X: np.ndarray, columns: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``X`` with its columns reordered and every value scaled by ``1 + u``, ``|u| <= JITTER``
    (about one float32 ulp), one row block at a time (no float64 copy of the whole matrix)."""
    out = np.empty(X.shape, dtype=X.dtype)
    step = max(1, (1 << 20) // max(X.shape[1], 1))
    for start in range(0, len(X), step):
        block = X[start:start + step][:, columns].astype(np.float64)
        block *= 1.0 + rng.uniform(-JITTER, JITTER, size=block.shape)
        out[start:start + step] = block
    return out


def perturbed_means(train_X: np.ndarray, train_y: np.ndarray, test_X: np.ndarray,
                    test_y: np.ndarray, protocol: Protocol, regimes: tuple[str, ...],
                    count: int = PERTURBATIONS) -> list[TaskMeans]:
    """The protocol's task means on ``count`` perturbations of one task's embeddings (seeded:
    the same perturbations on every machine)."""
    out = []
    for index in range(1, count + 1):
        rng = np.random.default_rng(index)
        columns = rng.permutation(train_X.shape[1])
        results = probe_task(_perturbed(train_X, columns, rng), train_y,
                             _perturbed(test_X, columns, rng), test_y, protocol, regimes,
                             row_order=rng)
        out.append(means(results))
    return out


def machine_variants() -> dict[str, dict[str, str]]:
    """Name -> environment of each emulated machine: other kernels, another thread count."""
    threads = blas_threads()
    kernel = current_kernel()
    if kernel is None:
        return {}
    variants = {f"kernel {name}": {"OPENBLAS_CORETYPE": name, "OPENBLAS_NUM_THREADS": str(threads)}
                for name in other_kernels()}
    other = 1 if threads > 1 else 2
    variants[f"threads {other}"] = {"OPENBLAS_CORETYPE": kernel, "OPENBLAS_NUM_THREADS": str(other)}
    return variants


def perturbation_count() -> int:
    """Refits to run: ``PERTURBATIONS`` beside emulated machines, more where there are none
    (docs/reproducibility.md measures how well each count bounds the kernel spread)."""
    return PERTURBATIONS if machine_variants() else FALLBACK_PERTURBATIONS


def run_variant(task_files: Sequence[Path], env: Mapping[str, str], timeout: float = 3600
                ) -> dict[str, Any]:
    """The protocol's task means for each file (``tasks``: path -> means), computed in a
    subprocess with ``env`` set, and the ``kernel`` and ``threads`` that process ran."""
    proc = subprocess.run([sys.executable, "-m", "stages.noise_floor", *map(str, task_files)],
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        raise NoiseFloorError(f"exit {proc.returncode}: {tail[0]}")
    return json.loads(proc.stdout)


def machine_means(task_files: Mapping[str, Path]) -> tuple[dict[str, dict[str, TaskMeans]],
                                                          dict[str, str]]:
    """Task means under every machine variant; returns (variant -> task -> means, skipped)."""
    found, skipped = {}, {}
    for name, env in machine_variants().items():
        try:
            ran = run_variant(list(task_files.values()), env)
        except (NoiseFloorError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
            skipped[name] = str(exc)
            continue
        if (ran["kernel"], str(ran["threads"])) != (env["OPENBLAS_CORETYPE"],
                                                    env["OPENBLAS_NUM_THREADS"]):
            skipped[name] = f"not honoured: the subprocess ran {ran['kernel']} x{ran['threads']}"
            continue
        found[name] = {task_id: ran["tasks"][str(path)] for task_id, path in task_files.items()}
    return found, skipped


def noise_floor(recorded: Mapping[str, TaskMeans], variants: Mapping[str, Mapping[str, TaskMeans]],
                skipped: Mapping[str, str] | None = None, scale: float = 1.0) -> NoiseFloor:
    """``recorded``: task -> means of the run being reported; ``variants``: name -> the same.
    The floor is ``scale`` times the largest move."""
    results: dict[str, dict[str, dict[str, float]]] = {}
    for task_id, task_means in recorded.items():
        for regime, metrics in task_means.items():
            results.setdefault(regime, {})[task_id] = {
                metric: scale * max((abs(variant[task_id][regime][metric] - value)
                                     for variant in variants.values()), default=0.0)
                for metric, value in metrics.items()}
    return NoiseFloor(sorted(variants), results, dict(skipped or {}), scale)


def _worker(paths: list[str]) -> None:
    """``python -m stages.noise_floor FILE...``: task means of each embedding file, as JSON."""
    from stages.embedding_files import read_embeddings
    from stages.spec import default_spec

    spec = default_spec()
    tasks = {}
    for path in paths:
        emb = read_embeddings(Path(path))
        tasks[path] = means(probe_task(emb.train_X, emb.train_y, emb.test_X, emb.test_y,
                                       spec.protocol, spec.regimes, where=path))
    print(json.dumps({"kernel": current_kernel(), "threads": blas_threads(), "tasks": tasks}))


if __name__ == "__main__":
    _worker(sys.argv[1:])
