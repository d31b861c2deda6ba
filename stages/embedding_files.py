"""The per-task embedding file: ``<out_dir>/<task_id>.npz``, its writer, reader and cache check.

Holds ``train_X, train_y, test_X, test_y`` (what the probe reads) plus a ``meta`` record: the cache
key (model id, weights identity, extractor settings, data hashes), the counters that follow from
data and settings, and a checksum of the arrays. A file's bytes depend only on its vectors and
meta: no timings, fixed zip timestamps, so embedding the same data with the same model and
settings twice, on any day, gives byte-identical files and a fresh ``dvc repro`` reproduces the
hashes in ``dvc.lock``. Files are written to a temporary name and renamed, so a killed run never
leaves a half-written file that a later run would trust.

Kept apart from the embedding driver (:mod:`stages.embed`): ``geneb score`` reads these files and
must not re-run when only the driver changes (``stages/code_manifest.py``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from stages.io_utils import atomic_write

log = logging.getLogger(__name__)
EMBEDDING_FORMAT = 2  # 2: deterministic bytes (no timings in meta, fixed zip timestamps)
ARRAYS: tuple[str, ...] = ("train_X", "train_y", "test_X", "test_y")
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the zip format's epoch: the same arrays give the same bytes


@dataclass(frozen=True)
class TaskEmbeddings:
    train_X: np.ndarray
    train_y: np.ndarray
    test_X: np.ndarray
    test_y: np.ndarray
    meta: dict[str, Any]


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _write_npz(handle: IO[bytes], arrays: dict[str, np.ndarray]) -> None:
    """``np.savez`` without its wall-clock zip timestamps (same layout: stored, zip64 members)."""
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            member = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
            with archive.open(member, "w", force_zip64=True) as out:
                np.lib.format.write_array(out, np.asanyarray(array), allow_pickle=False)


def save_embeddings(path: Path, embeddings: TaskEmbeddings) -> None:
    arrays = {name: getattr(embeddings, name) for name in ARRAYS}
    meta = {**embeddings.meta, "checksum": _checksum(arrays)}
    record = np.array(json.dumps(meta, sort_keys=True))
    atomic_write(path, lambda handle: _write_npz(handle, {"meta": record, **arrays}))


def read_embeddings(path: Path) -> TaskEmbeddings:
    """Read one task file and verify its checksum (a corrupt file raises ``ValueError``)."""
    with np.load(path, allow_pickle=False) as data:
        missing = [name for name in ARRAYS if name not in data.files]
        if missing:
            raise ValueError(f"{path}: missing array(s) {missing}; expected {', '.join(ARRAYS)}")
        arrays = {name: data[name] for name in ARRAYS}
        meta = json.loads(str(data["meta"])) if "meta" in data.files else {}
    if "checksum" in meta and meta["checksum"] != _checksum(arrays):
        raise ValueError(f"{path}: checksum mismatch (file corrupt or edited); delete it and "
                         "embed again")
    return TaskEmbeddings(meta=meta, **arrays)


def is_cached(path: Path, key: dict[str, Any]) -> bool:
    """Whether ``path`` holds embeddings made from the same data and settings.

    Reads only the small ``meta`` member, not the arrays: at full scale the check runs over
    gigabytes of embeddings on every stage run. The arrays' checksum is verified whenever they
    are read (:func:`read_embeddings`); a truncated file fails here already (no zip directory).
    """
    if not path.is_file():
        return False
    try:
        with np.load(path, allow_pickle=False) as data:
            if not set(ARRAYS) <= set(data.files) or "meta" not in data.files:
                return False
            meta = json.loads(str(data["meta"]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        log.warning("ignoring unreadable embeddings %s: %s", path, exc)
        return False
    return "checksum" in meta and meta.get("key") == key  # no checksum: not ours, never trusted


def latest_run_records(out_dir: Path) -> dict[str, dict[str, Any]]:
    """The run log's last record of each task (empty when there is no log, e.g. after a pull)."""
    path = run_log_path(out_dir)
    records: dict[str, dict[str, Any]] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return records
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a killed run
        if isinstance(record, dict) and "task_id" in record:
            records[record["task_id"]] = record
    return records


def run_log_path(out_dir: Path) -> Path:
    """``embeddings/<suite>/<model>.run.jsonl``: timings of embedded tasks, beside (not in) the
    DVC-tracked directory, so that they never change its hash."""
    out_dir = Path(out_dir)
    return out_dir.parent / f"{out_dir.name}.run.jsonl"
