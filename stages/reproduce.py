"""``geneb reproduce``: re-run a registered model on some tasks and compare with its submission.

The re-run starts from the task CSVs: fresh embeddings (in a temporary directory, never the
cache), with the extractor settings the submission recorded, then both probes. The data files
must have the hashes the submission recorded. The embeddings are compared first: with the
checksum the submission recorded (``run_settings.embedding_sha256``), and, where the stored
embeddings are at hand (``embeddings/<suite>/<model>/`` after ``dvc pull``, or ``--embeddings``),
value by value within ``EMBEDDING_TOLERANCE``. Then the scores, by
:func:`stages.score_check.compare_to_submission`: exact numbers identical when the embeddings
are, protocol numbers within the machine noise floor. A match is the evidence behind a
``reproduced`` label (``--out`` writes it).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from stages import paths
from stages.embedding_files import TaskEmbeddings, read_embeddings
from stages.score_check import TOLERANCE, compare_to_submission
from stages.scoring import TaskScores, score_stored_task, suite_noise_floor
from stages.spec import BenchmarkSpec, default_spec
from stages.submission import Submission

# Largest |difference| of a re-embedded value from the stored one, relative to the largest
# |value| of the task. fp32 on CPUs: measured up to 1.4e-6 across torch's CPU kernels
# (docs/reproducibility.md); GPU kernels and half precision move more.
EMBEDDING_TOLERANCE = 1e-4


def choose_tasks(submission: Submission, tasks: Sequence[str] | None, spec: BenchmarkSpec
                 ) -> list[str]:
    """The requested tasks (default: all of the submission's), each checked to be in it."""
    available = submission.task_ids(spec)
    if not tasks:
        return list(available)
    unknown = [t for t in tasks if t not in available]
    if unknown:
        raise ValueError(f"{submission.model_id}: task(s) {unknown} are not in its submission "
                         f"(suite {submission.suite!r})")
    return list(tasks)


def check_data_hashes(submission: Submission, task_id: str, hashes: Mapping[str, str],
                      where: str) -> list[str]:
    """Problems when the data behind a re-run is not the data behind the submission."""
    recorded = submission.settings("data_md5").get(task_id)
    if recorded is None:
        return [f"{task_id}: the submission records no data_md5 (run_settings.data_md5); "
                "cannot tell whether the same data was used"]
    return [f"{task_id}: {split} md5 {hashes.get(split)} ({where}) differs from the submission's "
            f"{recorded[split]}" for split in sorted(recorded) if hashes.get(split) != recorded[split]]


def recorded_checksum(submission: Submission, task_id: str) -> str | None:
    return submission.settings("embedding_sha256").get(task_id)


def embedding_difference(fresh: TaskEmbeddings, stored: TaskEmbeddings) -> dict[str, float]:
    """Largest |difference| of the vectors, absolute and relative to the largest |value|."""
    worst = scale = 0.0
    for name in ("train_X", "test_X"):
        a, b = getattr(fresh, name), getattr(stored, name)
        if a.shape != b.shape:
            return {"max_abs_diff": float("inf"), "relative": float("inf")}
        worst = max(worst, float(np.max(np.abs(a.astype(np.float64) - b))))
        scale = max(scale, float(np.max(np.abs(b))))
    return {"max_abs_diff": worst, "relative": worst / scale if scale else worst}


def compare_embeddings(submission: Submission, task_id: str, fresh_path: Path, stored_dir: Path | None,
                       tolerance: float) -> tuple[dict[str, Any], list[str]]:
    """How the re-made embeddings of one task compare with the submitted ones, and problems."""
    fresh = read_embeddings(fresh_path)
    record: dict[str, Any] = {"checksum": fresh.meta["checksum"],
                              "recorded_checksum": recorded_checksum(submission, task_id)}
    record["identical"] = record["checksum"] == record["recorded_checksum"]
    stored_path = None if stored_dir is None else Path(stored_dir) / f"{task_id}.npz"
    if stored_path is not None and stored_path.is_file() and not record["identical"]:
        record.update(embedding_difference(fresh, read_embeddings(stored_path)), stored=str(stored_path))
        if record["relative"] > tolerance:
            return record, [f"{task_id}: re-made embeddings differ from {stored_path} by "
                            f"{record['relative']:.2e} (relative), above the tolerance {tolerance:g}"]
    return record, []


def reproduce(
    submission: Submission, tasks: Sequence[str] | None = None, tolerance: float = TOLERANCE,
    device: str | None = None, spec: BenchmarkSpec | None = None, stored_dir: Path | None = None,
    embedding_tolerance: float = EMBEDDING_TOLERANCE,
) -> dict[str, Any]:
    """Re-embed and re-score ``tasks`` with the registered model; compare with ``submission``."""
    from stages.embed import embed_task
    from stages.extractors.registry import get_model_entry, load_extractor
    from stages.taskdata import load_task

    spec = spec or default_spec()
    suite = spec.suite(submission.suite)
    chosen = choose_tasks(submission, tasks, spec)
    entry = get_model_entry(submission.model_id)
    if stored_dir is None:
        stored_dir = paths.REPO_ROOT / "embeddings" / suite.name / entry.model_id
    recorded = submission.settings("extractor")
    extractor = load_extractor(entry, recorded.get("declared_settings"), device=device)
    problems = []
    if recorded.get("weights") not in (None, extractor.identity()):
        problems.append(f"weights {extractor.identity()} differ from the submission's "
                        f"{recorded['weights']}")
    fresh: dict[str, TaskScores] = {}
    embeddings: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="geneb-reproduce-") as scratch:
        files = {task_id: Path(scratch) / f"{task_id}.npz" for task_id in chosen}
        for task_id in chosen:
            task = load_task(suite.data_dir, task_id)
            problems += check_data_hashes(submission, task_id, task.data_hashes, str(suite.data_dir))
            embed_task(extractor, task, Path(scratch))
            embeddings[task_id], found = compare_embeddings(submission, task_id, files[task_id],
                                                            stored_dir, embedding_tolerance)
            problems += found
            fresh[task_id] = score_stored_task(files[task_id], spec, perturbations=0)
        report = compare_to_submission(
            submission, {t: s.protocol for t, s in fresh.items()},
            {t: s.exact for t, s in fresh.items()},
            same_embeddings={t: e["identical"] for t, e in embeddings.items()},
            local_floor=lambda ids: suite_noise_floor({t: files[t] for t in ids},
                                                      {t: fresh[t] for t in ids}, spec),
            tolerance=tolerance, problems=problems, label="reproduced")
    report["embeddings"] = embeddings
    report["embedding_tolerance"] = embedding_tolerance
    return report
