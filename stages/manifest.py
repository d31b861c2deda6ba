"""The data manifest of a suite: the md5 of every task CSV, computed once per data change.

The ``manifest`` DVC stage writes ``data/<suite>/manifest.json`` after checking the data against
its pin; every ``embed@<model>`` stage depends on that one small file instead of the whole task
directory. DVC then hashes the task directory once per ``dvc status`` instead of once per model,
and ``geneb embed`` decides which tasks are already embedded from these hashes without reading a
single CSV. A CSV that does get embedded is checked against its manifest hash first
(:func:`stages.embed.load_task_checked`), so a manifest that is out of date can never make a
model embed different data than the hashes it records.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from stages.errors import GenebError
from stages.io_utils import atomic_write_json, file_md5
from stages.spec import Suite
from stages.taskdata import SPLITS, TaskDataError

MANIFEST_FORMAT = 1
DataHashes = Mapping[str, Mapping[str, str]]  # task id -> split -> md5 of the CSV's bytes


class ManifestError(GenebError, ValueError):
    """A manifest is missing, malformed or for other data; the message names the file and field."""


def hash_suite_data(suite: Suite, known: Mapping[str, str] | None = None) -> dict[str, dict[str, str]]:
    """md5 of each task's ``train.csv`` and ``test.csv`` (file bytes, as DVC hashes them).

    ``known`` (``<task>/<split>.csv`` -> md5, already computed for these very files) is used
    instead of reading a file again.
    """
    known = known or {}
    hashes: dict[str, dict[str, str]] = {}
    for task_id in suite.task_ids:
        hashes[task_id] = {}
        for split in SPLITS:
            path = suite.data_dir / task_id / f"{split}.csv"
            if not path.is_file():
                raise TaskDataError(f"{path}: split file is missing (task {task_id!r} of suite "
                                    f"{suite.name!r})")
            hashes[task_id][split] = known.get(f"{task_id}/{split}.csv") or file_md5(path)
    return hashes


def verified_hashes(suite: Suite) -> dict[str, dict[str, str]]:
    """Check the suite's data against its pin, then hash every task CSV, each file read once."""
    from stages.dvc_data import check_suite_data

    _, pinned_files = check_suite_data(suite)
    return hash_suite_data(suite, known=pinned_files)


def write_manifest(suite: Suite, path: Path) -> dict:
    """Verify the suite's data against its pin, hash every task CSV, write ``path`` atomically."""
    manifest = {"format": MANIFEST_FORMAT, "suite": suite.name,
                "data_dir": suite.data_dir.name, "tasks": verified_hashes(suite)}
    atomic_write_json(Path(path), manifest)
    return manifest


def read_manifest(path: Path, suite: Suite) -> dict[str, dict[str, str]]:
    """The per-task hashes of ``path``, checked to be this suite's manifest."""
    path = Path(path)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ManifestError(f"{path}: missing; run `dvc repro manifest` (or `geneb manifest "
                            f"--suite {suite.name} --out {path}`)") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise ManifestError(f"{path}: not a readable manifest: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise ManifestError(f"{path}: field 'format': expected {MANIFEST_FORMAT}; re-create it with "
                            "`dvc repro manifest`")
    if manifest.get("suite") != suite.name:
        raise ManifestError(f"{path}: field 'suite' is {manifest.get('suite')!r}, not "
                            f"{suite.name!r}")
    tasks = manifest.get("tasks")
    missing = [t for t in suite.task_ids if not isinstance(tasks, dict) or t not in tasks]
    if missing:
        raise ManifestError(f"{path}: field 'tasks' lacks {missing[:5]} ({len(missing)} of suite "
                            f"{suite.name!r}); run `dvc repro manifest`")
    for task_id in suite.task_ids:
        if not isinstance(tasks[task_id], dict) or set(tasks[task_id]) != set(SPLITS):
            raise ManifestError(f"{path}: field 'tasks.{task_id}': expected md5s of {SPLITS}")
    return {task_id: dict(tasks[task_id]) for task_id in suite.task_ids}
