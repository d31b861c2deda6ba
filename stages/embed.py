"""Embed a suite with one model into a directory of per-task files, incrementally.

``<out_dir>/<task_id>.npz`` holds ``train_X, train_y, test_X, test_y`` (the format ``geneb probe``
reads) plus a ``meta`` record: the cache key (model id, weights identity, extractor settings,
data hashes) and a checksum of the arrays. A task whose file has the same key and a good
checksum is not recomputed, so an interrupted run resumes at the first unfinished task and adding
a task embeds only that task. Files are written to a temporary name and renamed, so a killed run
never leaves a half-written file that a later run would trust.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stages.extractors.base import Extractor, check_embeddings, report_delta
from stages.io_utils import atomic_write
from stages.spec import Suite
from stages.taskdata import TaskData, load_task

log = logging.getLogger(__name__)
EMBEDDING_FORMAT = 1
ARRAYS: tuple[str, ...] = ("train_X", "train_y", "test_X", "test_y")


@dataclass(frozen=True)
class TaskEmbeddings:
    train_X: np.ndarray
    train_y: np.ndarray
    test_X: np.ndarray
    test_y: np.ndarray
    meta: dict[str, Any]


def cache_key(extractor: Extractor, task: TaskData) -> dict[str, Any]:
    return {
        "format": EMBEDDING_FORMAT,
        "model_id": extractor.model_id,
        "weights": extractor.identity(),
        "settings": extractor.settings.vector_json(),  # batch size etc. never change the vector
        "task_id": task.task_id,
        "data_md5": task.data_hashes,
    }


def stored_key(extractor: Extractor, task: TaskData) -> dict[str, Any]:
    """The cache key exactly as it reads back from a stored file (tuples become lists, etc.)."""
    return json.loads(json.dumps(cache_key(extractor, task)))


def prune_stale(out_dir: Path, task_ids: set[str] | dict[str, Any]) -> None:
    """Remove task files outside ``task_ids`` so the directory holds exactly the suite's tasks."""
    for stale in Path(out_dir).glob("*.npz"):
        if stale.stem not in task_ids:
            stale.unlink()


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def save_embeddings(path: Path, embeddings: TaskEmbeddings) -> None:
    arrays = {name: getattr(embeddings, name) for name in ARRAYS}
    meta = {**embeddings.meta, "checksum": _checksum(arrays)}
    atomic_write(path, lambda handle: np.savez(handle, meta=np.array(json.dumps(meta, sort_keys=True)),
                                               **arrays))


def read_embeddings(path: Path) -> TaskEmbeddings:
    """Read one task file and verify its checksum (a corrupt file raises ``ValueError``)."""
    with np.load(path, allow_pickle=False) as data:
        missing = [name for name in ARRAYS if name not in data.files]
        if missing:
            raise ValueError(f"{path}: missing array(s) {missing}; expected {', '.join(ARRAYS)}")
        arrays = {name: data[name] for name in ARRAYS}
        meta = json.loads(str(data["meta"])) if "meta" in data.files else {}
    if "checksum" in meta and meta["checksum"] != _checksum(arrays):
        raise ValueError(f"{path}: checksum mismatch (file corrupt or edited)")
    return TaskEmbeddings(meta=meta, **arrays)


def cached(path: Path, key: dict[str, Any]) -> TaskEmbeddings | None:
    """The stored embeddings if they were made from the same data and settings, else ``None``."""
    if not path.is_file():
        return None
    try:
        stored = read_embeddings(path)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        log.warning("ignoring unreadable embeddings %s: %s", path, exc)
        return None
    if "checksum" not in stored.meta:  # not written by save_embeddings: never trusted
        return None
    return stored if stored.meta.get("key") == key else None


def _accepts_progress(extractor: Extractor) -> bool:
    try:
        return "progress" in inspect.signature(extractor.embed).parameters
    except (TypeError, ValueError):
        return False


def embed_task(extractor: Extractor, task: TaskData, out_dir: Path,
               progress: bool = False) -> tuple[TaskEmbeddings, bool]:
    """Embeddings of one task, from the cache or freshly computed; the flag says which.

    ``progress`` shows a per-task bar in sequences/s when the extractor reports progress.
    """
    from tqdm.auto import tqdm

    key = stored_key(extractor, task)
    path = Path(out_dir) / f"{task.task_id}.npz"
    hit = cached(path, key)
    if hit is not None:
        return hit, True
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
    meta = {"key": key, "seconds": round(seconds, 3),
            "report": report_delta(before, extractor.run_report()),
            "sequences_per_second": round(n / seconds, 1) if seconds > 0 else None}
    embeddings = TaskEmbeddings(vectors["train"], task.train.labels, vectors["test"], task.test.labels, meta)
    save_embeddings(path, embeddings)
    return embeddings, False


def embed_suite(extractor: Extractor, suite: Suite, out_dir: Path, progress: bool = True) -> dict[str, bool]:
    """Embed every task of the suite into ``out_dir``; returns task id -> whether it was cached.

    Files of tasks outside the suite are removed so the directory is exactly the suite's.
    """
    from tqdm.auto import tqdm

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    status: dict[str, bool] = {}
    bar = tqdm(suite.task_ids, desc=f"embed {extractor.model_id}", unit="task", disable=not progress)
    for task_id in bar:
        bar.set_postfix_str(task_id)
        _, status[task_id] = embed_task(extractor, load_task(suite.data_dir, task_id), out_dir, progress)
    prune_stale(out_dir, status)
    return status
