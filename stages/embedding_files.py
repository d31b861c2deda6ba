"""An embedding folder: per-task files ``<out_dir>/<task_id>.npz`` (writer, reader, cache check)
and two sidecar files that say how the folder was made (:data:`CODE_STAMP`, :data:`SETTINGS_RECORD`).

Holds ``train_X, train_y, test_X, test_y`` (what the probe reads) plus a ``meta`` record: the cache
key (model id, weights identity, extractor settings, data hashes), the counters that follow from
data and settings, and a checksum of the arrays. A file's bytes depend only on its vectors and
meta: no timings, fixed zip timestamps, so embedding the same data with the same model and
settings twice, on any day, gives byte-identical files and a fresh ``dvc repro`` reproduces the
hashes in ``dvc.lock``. Files are written to a temporary name and renamed, so a killed run never
leaves a half-written file that a later run would trust.

The sidecars: the stamp of the extractor code the files were made with (a folder made by other
code is recomputed as a whole, since its cache keys do not cover code) and the declared settings
(what ``geneb score`` records without reading ``params.yaml``). ``geneb run`` and ``geneb embed``
write both, so either command reuses the other's folder and DVC sees the same directory hash.

Kept apart from the embedding driver (:mod:`stages.embed`): ``geneb score`` reads these files and
must not re-run when only the driver changes (``stages/code_manifest.py``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from stages.errors import GenebError, excerpt
from stages.io_utils import atomic_write, atomic_write_json

log = logging.getLogger(__name__)
EMBEDDING_FORMAT = 2  # 2: deterministic bytes (no timings in meta, fixed zip timestamps)
ARRAYS: tuple[str, ...] = ("train_X", "train_y", "test_X", "test_y")
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the zip format's epoch: the same arrays give the same bytes
CODE_STAMP = "_extractor_code.json"  # stages.code_hash.extractor_code_hash of the making code
SETTINGS_RECORD = "_settings.json"  # the model id and declared settings the files were made with


class EmbeddingFolderError(GenebError, ValueError):
    """A sidecar file of an embedding folder is unreadable or belongs to another model."""


class EmbeddingFileError(GenebError, ValueError):
    """A task's ``.npz`` file is unreadable: not an archive, truncated, or an unusable array."""


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


def _unreadable(exc: BaseException) -> str:
    """The reason an archive or array could not be read, short: never the data itself."""
    return excerpt(str(exc) or type(exc).__name__)


def _read_member(data: Any, path: Path, name: str) -> np.ndarray:
    """One array of an open archive; an object array (``allow_pickle`` stays off) or a damaged
    member is a one-line error naming the file and the array."""
    try:
        return data[name]
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise EmbeddingFileError(f"{path}: array {name!r} holds Python objects (dtype object); "
                                     "GENEB never unpickles: save numeric arrays") from None
        raise EmbeddingFileError(f"{path}: array {name!r} is unreadable ({_unreadable(exc)})"
                                 ) from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise EmbeddingFileError(f"{path}: array {name!r} is unreadable, the file is truncated or "
                                 f"corrupt ({_unreadable(exc)})") from None


def _read_meta(data: Any, path: Path) -> dict[str, Any]:
    """The ``meta`` record: a JSON object stored as a 0-d string array (absent: empty)."""
    if "meta" not in data.files:
        return {}
    record = _read_member(data, path, "meta")
    try:
        meta = json.loads(str(record)) if record.shape == () and record.dtype.kind == "U" else None
    except ValueError:
        meta = None
    if not isinstance(meta, dict):
        raise EmbeddingFileError(f"{path}: array 'meta' is not a JSON record (dtype "
                                 f"{record.dtype}, shape {record.shape})")
    return meta


def read_embeddings(path: Path) -> TaskEmbeddings:
    """Read one task file and verify its checksum.

    The file may come from anywhere (``geneb probe``): anything unreadable (not an ``.npz``,
    truncated, object arrays, a missing array, a bad ``meta``) is an :class:`EmbeddingFileError`
    naming the file and the array, never a traceback or the data; nothing is ever unpickled.
    """
    try:
        data = np.load(path, allow_pickle=False)
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise EmbeddingFileError(f"{path}: cannot read ({exc.strerror})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise EmbeddingFileError(f"{path}: truncated or corrupt .npz archive ({_unreadable(exc)})"
                                 ) from None
    except ValueError:  # numpy's "pickled data" guess: neither a zip nor an .npy header
        raise EmbeddingFileError(f"{path}: not an .npz archive (numpy.savez output holding "
                                 f"{', '.join(ARRAYS)})") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise EmbeddingFileError(f"{path}: holds one .npy array, not an .npz archive of "
                                 f"{', '.join(ARRAYS)} (save them with numpy.savez)")
    with data:
        missing = [name for name in ARRAYS if name not in data.files]
        if missing:
            raise EmbeddingFileError(f"{path}: missing array(s) {missing}; expected "
                                     f"{', '.join(ARRAYS)}")
        arrays = {name: _read_member(data, path, name) for name in ARRAYS}
        meta = _read_meta(data, path)
    if "checksum" in meta and meta["checksum"] != _checksum(arrays):
        raise EmbeddingFileError(f"{path}: checksum mismatch (file corrupt or edited); delete it "
                                 "and embed again")
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


def _drop_if_code_changed(out_dir: Path, stamp: dict[str, str]) -> bool:
    """Delete every task file made by other extractor code; returns whether any were deleted."""
    path = Path(out_dir) / CODE_STAMP
    try:
        old = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, json.JSONDecodeError):
        old = None
    stale = old != stamp and any(Path(out_dir).glob("*.npz"))
    if stale:
        for file in Path(out_dir).glob("*.npz"):
            file.unlink()
    return stale


def prepare_folder(out_dir: Path, stamp: dict[str, str], model_id: str,
                   declared_settings: dict[str, Any]) -> bool:
    """Make ``out_dir`` ready for a run that may resume a killed one; returns whether task files
    made by other extractor code were dropped.

    Removes the temporary files a killed write leaves (they would change DVC's directory hash),
    drops files made by other code, then records the code stamp and the declared settings
    *before* any task is embedded: a run killed after some tasks leaves a folder whose finished
    files are trusted by the next run, whether that is ``geneb run``, ``geneb embed`` or
    ``dvc repro``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for partial in out_dir.glob(".*.tmp"):
        partial.unlink()
    dropped = _drop_if_code_changed(out_dir, stamp)
    atomic_write_json(out_dir / CODE_STAMP, stamp)
    atomic_write_json(out_dir / SETTINGS_RECORD,
                      {"model_id": model_id, "declared_settings": declared_settings})
    return dropped


def read_settings_record(out_dir: Path, model_id: str) -> dict[str, Any] | None:
    """The declared settings recorded for ``model_id`` (``None``: the folder records none)."""
    path = Path(out_dir) / SETTINGS_RECORD
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        recorded_model, declared = record["model_id"], record["declared_settings"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise EmbeddingFolderError(f"{path}: unreadable settings record ({exc})") from exc
    if recorded_model != model_id:
        raise EmbeddingFolderError(f"{path}: field 'model_id' is {recorded_model!r}, not "
                                   f"{model_id!r}: these are another model's embeddings")
    if not isinstance(declared, dict):
        raise EmbeddingFolderError(f"{path}: field 'declared_settings' is not a mapping")
    return declared
