"""Pinned task data: import the full suite with DVC, verify it before embedding, publish it.

The full suite comes from the Hugging Face dataset git repository named in
``benchmark/benchmark_spec.json`` (``dataset.source`` at ``dataset.revision``)::

    dvc import <source> tasks -o data/full/tasks --rev <revision>

DVC records the commit (``rev_lock``) and the content hash of every file in
``data/full/tasks.dvc``. :func:`verify_suite_data` runs in the ``manifest`` stage (before any
model embeds a pinned suite) and stops with an error naming the file and field when the pin and
the spec disagree or the files on disk are not the ones the pin recorded. Lite data is in git;
its hashes are in ``dvc.lock`` as the ``manifest`` stage's dependency.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stages import paths
from stages.errors import GenebError
from stages.io_utils import atomic_write_text, file_md5
from stages.spec import BenchmarkSpec, Suite, default_spec

DATASET_PATH = "tasks"  # folder of the dataset repository that holds <task_id>/{train,test}.csv
SPLIT_FILES = ("train.csv", "test.csv")


class DataPinError(GenebError, ValueError):
    """Task data does not match its pin; the message names the file, field and remedy."""


@dataclass(frozen=True)
class ImportPin:
    path: Path  # the .dvc file
    url: str
    rev: str | None
    rev_lock: str
    md5: str  # DVC directory hash, "<md5>.dir"


def dir_md5(path: Path) -> tuple[str, dict[str, str]]:
    """DVC's hash of a directory (``<md5>.dir``) and the per-file md5s it is made of."""
    path = Path(path)
    files = {f.relative_to(path).as_posix(): file_md5(f)
             for f in sorted(path.rglob("*")) if f.is_file()}
    entries = [{"md5": md5, "relpath": rel} for rel, md5 in sorted(files.items())]
    blob = json.dumps(entries, sort_keys=True).encode("utf-8")
    return hashlib.md5(blob).hexdigest() + ".dir", files


def dvc_file_for(suite: Suite) -> Path:
    """Where ``dvc import`` keeps the pin of a suite's data: ``data/<suite>/tasks.dvc``."""
    return suite.data_dir.parent / f"{suite.data_dir.name}.dvc"


def read_pin(dvc_file: Path) -> ImportPin:
    """Parse a ``.dvc`` file written by ``dvc import``."""
    try:
        data = yaml.safe_load(Path(dvc_file).read_text(encoding="utf-8")) or {}
        repo = data["deps"][0]["repo"]
        out = data["outs"][0]
        return ImportPin(Path(dvc_file), repo["url"], repo.get("rev"), repo["rev_lock"], out["md5"])
    except (OSError, yaml.YAMLError, KeyError, IndexError, TypeError) as exc:
        raise DataPinError(f"{dvc_file}: not a `dvc import` file ({type(exc).__name__}: {exc}); "
                           "re-create it with `make full-data`") from exc


def _same_url(a: str, b: str) -> bool:
    def norm(url: str) -> str:
        url = url.rstrip("/")
        return url[:-4] if url.endswith(".git") else url
    return norm(a) == norm(b)


def _cached_manifest(repo_root: Path, md5: str) -> dict[str, str] | None:
    path = repo_root / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    try:
        return {e["relpath"]: e["md5"] for e in json.loads(path.read_text(encoding="utf-8"))}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _describe_drift(expected: dict[str, str] | None, actual: dict[str, str]) -> str:
    if expected is None:
        return "(the pinned file list is not in the local DVC cache, so no per-file detail)"
    changed = sorted(r for r in expected.keys() & actual.keys() if expected[r] != actual[r])
    missing = sorted(expected.keys() - actual.keys())
    extra = sorted(actual.keys() - expected.keys())
    parts = [f"{label}: {', '.join(items[:5])}{' ...' if len(items) > 5 else ''}"
             for label, items in (("changed", changed), ("missing", missing), ("extra", extra))
             if items]
    return "; ".join(parts)


def verify_suite_data(suite: Suite, spec: BenchmarkSpec | None = None,
                      require_pin: bool | None = None) -> str:
    """Check a suite's data against its ``dvc import`` pin; returns a one-line verdict.

    Raises :class:`DataPinError` when the pin's commit or URL differs from the spec's
    ``dataset`` pin, or when the files on disk differ from the hashes the pin recorded.
    ``require_pin`` (default: the suite is official) makes a missing ``.dvc`` file an error.
    """
    return check_suite_data(suite, spec, require_pin)[0]


def check_suite_data(suite: Suite, spec: BenchmarkSpec | None = None,
                     require_pin: bool | None = None) -> tuple[str, dict[str, str]]:
    """:func:`verify_suite_data`, also returning the md5 of every file it hashed to check the
    pin (``<task>/<split>.csv`` -> md5; empty for data in git, which has no pin to check)."""
    spec = spec or default_spec()
    require_pin = suite.is_official if require_pin is None else require_pin
    dvc_file = dvc_file_for(suite)
    if not dvc_file.is_file():
        if require_pin:
            raise DataPinError(f"{dvc_file}: missing; suite {suite.name!r} must come from the "
                               f"pinned dataset {spec.dataset.repo_id}@{spec.dataset.revision}: "
                               "run `make full-data`")
        return f"suite {suite.name!r}: data in git ({suite.data_dir}); hashes in dvc.lock", {}
    pin = read_pin(dvc_file)
    if pin.rev_lock != spec.dataset.revision:
        raise DataPinError(
            f"{dvc_file}: field 'deps[0].repo.rev_lock' is {pin.rev_lock} but "
            f"benchmark/benchmark_spec.json field 'dataset.revision' pins {spec.dataset.revision}; "
            "refusing to evaluate different data. Restore the pin (`git checkout` the .dvc file) "
            "or, to move the benchmark to new data, change the spec and run `make full-data`")
    if not _same_url(pin.url, spec.dataset.source):
        raise DataPinError(f"{dvc_file}: field 'deps[0].repo.url' is {pin.url} but "
                           f"benchmark/benchmark_spec.json field 'dataset.source' is "
                           f"{spec.dataset.source}; run `make full-data`")
    if not suite.data_dir.is_dir():
        raise DataPinError(f"{suite.data_dir}: missing; fetch the pinned data with "
                           f"`dvc pull {dvc_file}` or `make full-data`")
    actual_md5, actual = dir_md5(suite.data_dir)
    if actual_md5 != pin.md5:
        detail = _describe_drift(_cached_manifest(paths.REPO_ROOT, pin.md5), actual)
        raise DataPinError(
            f"{suite.data_dir}: content hash {actual_md5} differs from {pin.md5} recorded in "
            f"{dvc_file} (commit {pin.rev_lock}) {detail}; refusing to evaluate different data. "
            f"Restore it with `dvc checkout {dvc_file}` (or `make full-data`)")
    missing = [t for t in suite.task_ids
               if not all(f"{t}/{name}" in actual for name in SPLIT_FILES)]
    if missing:
        raise DataPinError(f"{suite.data_dir}: pinned data lacks task(s) {missing[:5]} of suite "
                           f"{suite.name!r} ({len(missing)} in all)")
    return (f"suite {suite.name!r}: {suite.data_dir} matches {dvc_file} "
            f"({pin.url} @ {pin.rev_lock}, {pin.md5})"), actual


def import_suite_data(suite_name: str = "full", url: str | None = None, rev: str | None = None,
                      repo: Path = Path("."), dvc: str | None = None) -> Path:
    """``dvc import`` the dataset's ``tasks`` folder at a pinned commit into the suite's data dir.

    Defaults come from the spec (``dataset.source``, ``dataset.revision``). Returns the ``.dvc``
    file, after checking that DVC recorded exactly the requested commit.
    """
    from stages.dvc_tool import dvc_exe

    spec = default_spec()
    suite = spec.suite(suite_name)
    url, rev = url or spec.dataset.source, rev or spec.dataset.revision
    repo = Path(repo).resolve()
    out = suite.data_dir.resolve().relative_to(paths.REPO_ROOT)
    (repo / out).parent.mkdir(parents=True, exist_ok=True)
    cmd = [dvc or dvc_exe(), "import", url, DATASET_PATH, "-o", out.as_posix(), "--rev", rev,
           "--force"]
    print("$ " + " ".join(cmd))
    proc = subprocess.run(cmd, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    print(proc.stdout, end="")
    if proc.returncode != 0:
        raise DataPinError(f"dvc import of {url} path {DATASET_PATH!r} at {rev} failed "
                           f"(exit {proc.returncode}); see the DVC output above")
    dvc_file = repo / f"{out.as_posix()}.dvc"
    pin = read_pin(dvc_file)
    if pin.rev_lock != rev and not pin.rev_lock.startswith(rev):
        raise DataPinError(f"{dvc_file}: DVC pinned {pin.rev_lock}, not the requested {rev}")
    return dvc_file


def dataset_readme(spec: BenchmarkSpec, rows: dict[str, dict[str, Any]]) -> str:
    """README.md of the dataset repository: the viewer's ``configs`` (one subset per task,
    named by its label) and a table of tasks with row counts and file hashes."""
    configs = [{"config_name": task.label,
                "data_files": [{"split": split, "path": f"{DATASET_PATH}/{task.id}/{split}.csv"}
                               for split in ("train", "test")]}
               for task in spec.tasks if task.id in rows]
    header = yaml.safe_dump({"pretty_name": "GENEB tasks", "configs": configs},
                            sort_keys=False, allow_unicode=True)
    lines = ["---", header.rstrip(), "---", "", "# GENEB task data", "",
             f"The {len(rows)} tasks of {spec.name}, one subset per task: "
             f"`{DATASET_PATH}/<task_id>/{{train,test}}.csv` with columns `text,label`.",
             "Pin a commit of this repository; never evaluate on a moving branch.", "",
             "| task | subset | category | train rows | test rows | train md5 | test md5 |",
             "|---|---|---|---|---|---|---|"]
    for task in spec.tasks:
        if task.id in rows:
            r = rows[task.id]
            lines.append(f"| {task.id} | {task.label} | {task.category} | {r['train_rows']} | "
                         f"{r['test_rows']} | `{r['train_md5']}` | `{r['test_md5']}` |")
    return "\n".join(lines) + "\n"


def stage_dataset(source: Path, staging: Path, spec: BenchmarkSpec | None = None) -> dict:
    """Validate every task under ``source`` and lay out the upload tree in ``staging``.

    ``source`` must hold exactly the spec's tasks as ``<task_id>/{train,test}.csv``; all are
    checked by the harness's own rules (``geneb check-data``) before anything is staged, so
    nothing malformed is ever published and a bad task leaves no half-staged tree.
    """
    from stages.check_data import check_tasks

    spec = spec or default_spec()
    source, staging = Path(source), Path(staging)
    if staging.is_dir() and any(staging.iterdir()):
        raise DataPinError(f"{staging}: staging folder is not empty; its files would be uploaded")
    present = {p.name for p in source.iterdir() if p.is_dir()} if source.is_dir() else set()
    unknown = sorted(present - set(spec.task_ids))
    missing = [t for t in spec.task_ids if t not in present]
    if unknown or missing:
        raise DataPinError(f"{source}: task folders must match benchmark_spec.json: "
                           f"missing {missing[:5]} ({len(missing)}), unknown {unknown[:5]}")
    check = check_tasks(source, spec.task_ids)
    check.raise_if_problems()
    rows = check.clean
    for task_id in spec.task_ids:
        target = staging / DATASET_PATH / task_id
        target.mkdir(parents=True, exist_ok=True)
        for name in SPLIT_FILES:
            shutil.copyfile(source / task_id / name, target / name)
    atomic_write_text(staging / "README.md", dataset_readme(spec, rows))
    return rows


def publish_dataset(source: Path, repo_id: str | None = None, *, dry_run: bool = False,
                    staging: Path | None = None, message: str = "GENEB task data",
                    api: Any = None, spec: BenchmarkSpec | None = None) -> str | None:
    """Upload ``source`` as a new commit of the dataset repo; returns (and prints) its revision.

    Files under ``tasks/`` that are not in ``source`` are deleted in the same commit, so the new
    revision holds exactly the validated tree. ``api`` defaults to ``huggingface_hub.HfApi()``
    (credentials from ``HF_TOKEN`` or ``huggingface-cli login``).
    """
    spec = spec or default_spec()
    repo_id = repo_id or spec.dataset.repo_id
    with tempfile.TemporaryDirectory(prefix="geneb-publish-") as tmp:
        tree = Path(staging) if staging else Path(tmp)
        rows = stage_dataset(source, tree, spec)
        print(f"staged {len(rows)} tasks + README.md in {tree}")
        if dry_run:
            print(f"dry run: nothing uploaded to {repo_id}")
            return None
        if api is None:
            from huggingface_hub import HfApi
            api = HfApi()
        info = api.upload_folder(repo_id=repo_id, repo_type="dataset", folder_path=str(tree),
                                 commit_message=message,
                                 delete_patterns=[f"{DATASET_PATH}/**", "README.md"])
    revision = getattr(info, "oid", None)
    if not revision:
        raise DataPinError(f"upload to {repo_id} returned no commit id ({info!r})")
    print(f"published {repo_id} revision {revision}\n"
          f"pin it: benchmark/benchmark_spec.json field 'dataset.revision' = \"{revision}\", "
          "then run `make full-data` and commit data/full/tasks.dvc")
    return revision
