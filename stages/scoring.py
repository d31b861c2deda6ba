"""Score embeddings: the protocol probe, the exact probe and the noise floor, per task and suite.

What ``geneb score`` / ``geneb run`` write into a submission and ``geneb probe`` prints, and what
``geneb verify`` / ``geneb reproduce`` recompute. Reads only embedding files
(:mod:`stages.embedding_files`); never imports an extractor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stages.embedding_files import read_embeddings
from stages.exact_probe import ExactRegimeResult, exact_probe_task
from stages.noise_floor import (
    FALLBACK_PERTURBATIONS,
    FALLBACK_SCALE,
    PERTURBATIONS,
    NoiseFloor,
    TaskMeans,
    machine_means,
    means,
    noise_floor,
    perturbation_count,
    perturbed_means,
)
from stages.probe import RegimeResult, probe_task
from stages.spec import BenchmarkSpec


@dataclass
class TaskScores:
    """One task: protocol and exact results per regime, the perturbed refits' means, file meta."""

    protocol: dict[str, RegimeResult]
    exact: dict[str, ExactRegimeResult]
    perturbed: list[TaskMeans] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    dtype: str = ""  # the embeddings' dtype: the one the protocol fits in


def score_arrays(train_X: np.ndarray, train_y: np.ndarray, test_X: np.ndarray, test_y: np.ndarray,
                 spec: BenchmarkSpec, where: str = "embeddings", perturbations: int = PERTURBATIONS,
                 ) -> TaskScores:
    """Both probes on one task's embeddings, plus ``perturbations`` perturbed protocol refits."""
    arrays = (train_X, train_y, test_X, test_y)
    protocol = probe_task(*arrays, spec.protocol, spec.regimes, where=where)
    exact = exact_probe_task(*arrays, spec.protocol, spec.regimes, where=where)
    perturbed = perturbed_means(*arrays, spec.protocol, spec.regimes, perturbations)
    return TaskScores(protocol, exact, perturbed, dtype=str(train_X.dtype))


def score_stored_task(path: Path, spec: BenchmarkSpec, perturbations: int = PERTURBATIONS
                      ) -> TaskScores:
    """:func:`score_arrays` on one stored task file, with the file's meta."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no embeddings for task {path.stem!r}; run the embed step")
    emb = read_embeddings(path)
    scores = score_arrays(emb.train_X, emb.train_y, emb.test_X, emb.test_y, spec, str(path),
                          perturbations)
    scores.meta = emb.meta
    return scores


@dataclass
class SuiteScores:
    """Every task's scores in suite order and the noise floor over all of them."""

    tasks: dict[str, TaskScores]
    noise: NoiseFloor | None

    def protocol(self) -> dict[str, dict[str, RegimeResult]]:
        return {task_id: scores.protocol for task_id, scores in self.tasks.items()}

    def exact(self) -> dict[str, dict[str, ExactRegimeResult]]:
        return {task_id: scores.exact for task_id, scores in self.tasks.items()}

    def data_hashes(self) -> dict[str, dict[str, str]]:
        return {task_id: scores.meta["key"]["data_md5"] for task_id, scores in self.tasks.items()}

    def checksums(self) -> dict[str, str]:
        return {task_id: scores.meta["checksum"] for task_id, scores in self.tasks.items()
                if "checksum" in scores.meta}

    def fit_dtype(self) -> str:
        return "/".join(sorted({scores.dtype for scores in self.tasks.values()}))


def suite_noise_floor(task_files: dict[str, Path], tasks: dict[str, TaskScores],
                      spec: BenchmarkSpec) -> NoiseFloor:
    """The noise floor of ``tasks``' protocol numbers: emulated machines (subprocesses over the
    files) and perturbed refits (run here for any task that has too few); with no machine to
    emulate, more refits and ``FALLBACK_SCALE``."""
    variants, skipped = machine_means(task_files)
    count = PERTURBATIONS if variants else FALLBACK_PERTURBATIONS
    for task_id, scores in tasks.items():
        if len(scores.perturbed) < count:
            emb = read_embeddings(task_files[task_id])
            scores.perturbed = perturbed_means(emb.train_X, emb.train_y, emb.test_X, emb.test_y,
                                               spec.protocol, spec.regimes, count)
    machines = bool(variants)
    for index in range(count):
        variants[f"perturbation {index + 1}"] = {task_id: scores.perturbed[index]
                                                 for task_id, scores in tasks.items()}
    recorded = {task_id: means(scores.protocol) for task_id, scores in tasks.items()}
    return noise_floor(recorded, variants, skipped, 1.0 if machines else FALLBACK_SCALE)


def score_suite(emb_dir: Path, task_ids: Sequence[str], spec: BenchmarkSpec,
                with_noise_floor: bool = True, progress: bool = True, n_jobs: int = 1
                ) -> SuiteScores:
    """Score every task file of ``emb_dir`` (``n_jobs`` processes over tasks)."""
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    files = {task_id: Path(emb_dir) / f"{task_id}.npz" for task_id in task_ids}
    perturbations = perturbation_count() if with_noise_floor else 0
    jobs = (delayed(score_stored_task)(path, spec, perturbations) for path in files.values())
    outputs = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    tasks = dict(zip(files, tqdm(outputs, total=len(files), desc="probe", unit="task",
                                 disable=not progress), strict=True))
    return SuiteScores(tasks, suite_noise_floor(files, tasks, spec) if with_noise_floor else None)
