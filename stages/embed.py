"""Embed a suite with one model into a directory of per-task files, incrementally.

A task whose file (:mod:`stages.embedding_files`) has the same cache key is not recomputed, so an
interrupted run resumes at the first unfinished task and adding a task embeds only that task. The
key is computed from the CSVs' md5s (the suite's manifest, :mod:`stages.manifest`), so deciding
that nothing needs embedding reads neither CSVs nor arrays. Timings and other facts of the machine
go to a run log beside the directory (:func:`append_run_log`), never into the files.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stages.embedding_files import (
    EMBEDDING_FORMAT,
    TaskEmbeddings,
    is_cached,
    read_embeddings,
    save_embeddings,
)
from stages.extractors.base import Extractor, check_embeddings, report_delta
from stages.spec import Suite
from stages.taskdata import TaskData, TaskDataError, load_task

# run_report() keys that describe the machine and the run, never the vectors: kept out of the files
MACHINE_REPORT_KEYS = frozenset({"seconds", "oom_backoffs", "runtime"})


def cache_key(extractor: Extractor, task_id: str, data_md5: Mapping[str, str]) -> dict[str, Any]:
    return {
        "format": EMBEDDING_FORMAT,
        "model_id": extractor.model_id,
        "weights": extractor.identity(),
        "settings": extractor.settings.vector_json(),  # batch size etc. never change the vector
        "task_id": task_id,
        "data_md5": dict(data_md5),
    }


def stored_key(extractor: Extractor, task_id: str, data_md5: Mapping[str, str]) -> dict[str, Any]:
    """The cache key exactly as it reads back from a stored file (tuples become lists, etc.)."""
    return json.loads(json.dumps(cache_key(extractor, task_id, data_md5)))


def split_report(report: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(counters that follow from data and settings, facts of this machine and run)."""
    stable = {k: v for k, v in report.items() if k not in MACHINE_REPORT_KEYS}
    machine = {k: v for k, v in report.items() if k in MACHINE_REPORT_KEYS}
    return stable, machine


def prune_stale(out_dir: Path, task_ids: set[str] | dict[str, Any]) -> None:
    """Remove task files outside ``task_ids`` so the directory holds exactly the suite's tasks."""
    for stale in Path(out_dir).glob("*.npz"):
        if stale.stem not in task_ids:
            stale.unlink()


def load_task_checked(suite: Suite, task_id: str, data_md5: Mapping[str, str]) -> TaskData:
    """Load a task whose CSVs must still have the md5s its cache key was computed from."""
    task = load_task(suite.data_dir, task_id)
    for split, expected in data_md5.items():
        actual = getattr(task, split).md5
        if actual != expected:
            raise TaskDataError(f"{getattr(task, split).path}: md5 {actual} differs from {expected} in "
                                "the suite's manifest: the data changed after the manifest was "
                                "written; run `dvc repro` (it re-runs the manifest stage first)")
    return task


def append_run_log(path: Path | None, record: dict[str, Any]) -> None:
    """One JSON line per embedded task: timings and machine facts that the files leave out."""
    if path is None:
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")


def run_record(task_id: str, model_id: str, sequences: int, seconds: float,
               machine: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"task_id": task_id, "model_id": model_id, "sequences": sequences,
            "seconds": round(seconds, 3), "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "sequences_per_second": round(sequences / seconds, 1) if seconds > 0 else None,
            **machine, **extra}


def _accepts_progress(extractor: Extractor) -> bool:
    try:
        return "progress" in inspect.signature(extractor.embed).parameters
    except (TypeError, ValueError):
        return False


def _compute(extractor: Extractor, task: TaskData, key: dict[str, Any], path: Path,
             progress: bool, run_log: Path | None) -> TaskEmbeddings:
    from tqdm.auto import tqdm

    started = time.perf_counter()
    before = extractor.run_report()
    n = len(task.train.sequences) + len(task.test.sequences)
    vectors = {}
    with tqdm(total=n, desc=task.task_id, unit="seq", leave=False,
              disable=not (progress and _accepts_progress(extractor))) as bar:
        for split in ("train", "test"):
            sequences = getattr(task, split).sequences
            kwargs = {"progress": bar.update} if _accepts_progress(extractor) else {}
            vectors[split] = check_embeddings(extractor.model_id, extractor.embed(sequences, **kwargs),
                                              len(sequences))
    seconds = time.perf_counter() - started
    stable, machine = split_report(report_delta(before, extractor.run_report()))
    embeddings = TaskEmbeddings(vectors["train"], task.train.labels, vectors["test"], task.test.labels,
                                {"key": key, "report": stable})
    save_embeddings(path, embeddings)
    append_run_log(run_log, run_record(task.task_id, extractor.model_id, n, seconds, machine))
    return embeddings


def embed_task(extractor: Extractor, task: TaskData, out_dir: Path, progress: bool = False,
               run_log: Path | None = None) -> tuple[TaskEmbeddings, bool]:
    """Embeddings of one loaded task, from the cache or freshly computed; the flag says which.

    ``progress`` shows a per-task bar in sequences/s when the extractor reports progress.
    """
    key = stored_key(extractor, task.task_id, task.data_hashes)
    path = Path(out_dir) / f"{task.task_id}.npz"
    if is_cached(path, key):
        return read_embeddings(path), True
    return _compute(extractor, task, key, path, progress, run_log), False


def embed_suite(extractor: Extractor, suite: Suite, out_dir: Path, progress: bool = True,
                data_md5: Mapping[str, Mapping[str, str]] | None = None,
                run_log: Path | None = None) -> dict[str, bool]:
    """Embed every task of the suite into ``out_dir``; returns task id -> whether it was cached.

    ``data_md5`` (task id -> split -> md5, from the suite's manifest) spares hashing the CSVs;
    only tasks that need embedding are read, and they must still match those hashes. Files of
    tasks outside the suite are removed so the directory is exactly the suite's.
    """
    from tqdm.auto import tqdm

    from stages.manifest import hash_suite_data

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    hashes = hash_suite_data(suite) if data_md5 is None else data_md5
    status: dict[str, bool] = {}
    bar = tqdm(suite.task_ids, desc=f"embed {extractor.model_id}", unit="task", disable=not progress)
    for task_id in bar:
        bar.set_postfix_str(task_id)
        key = stored_key(extractor, task_id, hashes[task_id])
        path = out_dir / f"{task_id}.npz"
        status[task_id] = is_cached(path, key)
        if not status[task_id]:
            task = load_task_checked(suite, task_id, hashes[task_id])
            _compute(extractor, task, key, path, progress, run_log)
    prune_stale(out_dir, status)
    return status
