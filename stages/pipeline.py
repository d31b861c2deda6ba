"""The two per-model DVC stages behind ``geneb embed`` and ``geneb score``.

``dvc.yaml`` runs ``embed@<model>`` then ``score@<model>`` for each model of ``params.yaml``.
``embed`` writes ``embeddings/<suite>/<model>/<task>.npz`` through :func:`stages.embed.embed_suite`
(per-task cache keyed on data hashes, settings and weights) and additionally stamps the directory
with a hash of the extractor code, so a code change that DVC re-runs the stage for recomputes
every task instead of trusting files made by the old code. ``score`` only reads those files: it
never imports an extractor family module, so it runs where the model cannot.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stages import paths
from stages.engines.config import EngineConfig
from stages.io_utils import atomic_write_json

DEFAULT_PARAMS = paths.REPO_ROOT / "params.yaml"
CODE_STAMP = "_extractor_code.json"
SETTINGS_RECORD = "_settings.json"  # the declared settings the embeddings were made with
_MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


class PipelineError(ValueError):
    """``params.yaml`` or a stage's inputs are unusable; the message names the file and field."""


@dataclass(frozen=True)
class PipelineParams:
    suite: str
    models: dict[str, dict[str, Any]]  # model id -> settings overrides
    path: Path


def load_params(path: Path = DEFAULT_PARAMS) -> PipelineParams:
    """Read and validate ``params.yaml`` (suite name, models and their settings overrides)."""
    from stages.extractors.registry import RegistryError, apply_overrides, get_model_entry
    from stages.spec import default_spec

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise PipelineError(f"{path}: cannot read params: {exc}") from exc
    if not isinstance(raw, dict):
        raise PipelineError(f"{path}: expected a mapping with 'suite' and 'models'")
    suites = default_spec().suites
    suite = raw.get("suite")
    if suite not in suites:
        raise PipelineError(f"{path}: field 'suite': {suite!r} is not one of {sorted(suites)}")
    models = raw.get("models")
    if not isinstance(models, dict) or not models:
        raise PipelineError(f"{path}: field 'models': expected a non-empty mapping of model ids")
    parsed: dict[str, dict[str, Any]] = {}
    for model_id, body in models.items():
        where = f"{path}: field 'models.{model_id}'"
        if not isinstance(model_id, str) or not _MODEL_ID.match(model_id):
            raise PipelineError(f"{where}: model ids may use letters, digits, '-' and '_' only "
                                "(DVC addresses params as dotted paths)")
        body = {} if body is None else body
        if not isinstance(body, dict) or set(body) - {"settings"}:
            raise PipelineError(f"{where}: expected {{settings: {{...}}}}, got {body!r}")
        settings = body.get("settings") or {}
        if not isinstance(settings, dict):
            raise PipelineError(f"{where}.settings: expected a mapping, got {settings!r}")
        try:
            apply_overrides(get_model_entry(model_id).settings, settings)
        except (RegistryError, TypeError) as exc:
            raise PipelineError(f"{where}: {exc}") from exc
        parsed[model_id] = settings
    return PipelineParams(suite=suite, models=parsed, path=path)


def resolve_overrides(model_id: str, settings_json: str | None, params_path: Path | None
                      ) -> dict[str, Any] | None:
    """Settings overrides from ``--settings JSON`` or from ``params.yaml`` (``models.<id>``)."""
    if settings_json and params_path:
        raise PipelineError("give --settings or --params, not both")
    if settings_json:
        try:
            value = json.loads(settings_json)
        except json.JSONDecodeError as exc:
            raise PipelineError(f"--settings: not valid JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise PipelineError("--settings: expected a JSON object")
        return value
    if params_path:
        params = load_params(params_path)
        if model_id not in params.models:
            raise PipelineError(f"{params_path}: field 'models' has no entry {model_id!r}")
        return params.models[model_id] or None
    return None


def _module_files(module: str, required: bool = True) -> list[Path]:
    """Source files of a module or package, located without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        if not required:
            return []
        raise PipelineError(f"extractor module {module} not found")
    origin = Path(spec.origin)
    return sorted(origin.parent.rglob("*.py")) if spec.submodule_search_locations else [origin]


def extractor_code_hash(family: str) -> dict[str, str]:
    """SHA-256 of the sources that turn sequences into vectors for one extractor family.

    Every ``.py`` under ``stages/extractors`` (the contract and shared helpers) except the other
    families' modules, plus the task-data reader. Editing one family's module therefore never
    invalidates another family's embeddings, while a shared helper change invalidates all.
    """
    from stages.extractors.registry import FAMILIES

    if family not in FAMILIES:
        raise PipelineError(f"unknown extractor family {family!r}; known: {sorted(FAMILIES)}")
    extractors_dir = paths.REPO_ROOT / "stages" / "extractors"
    others = {f for name, module in FAMILIES.items() if name != family
              for f in _module_files(module, required=False)}
    files = [f for f in sorted(extractors_dir.rglob("*.py")) if f not in others]
    files += _module_files(FAMILIES[family])  # in case it lives outside stages/extractors
    files.append(paths.REPO_ROOT / "stages" / "taskdata.py")
    digest = hashlib.sha256()
    for file in dict.fromkeys(files):
        rel = file.relative_to(paths.REPO_ROOT) if file.is_relative_to(paths.REPO_ROOT) else file
        digest.update(rel.as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    return {"family": family, "sha256": digest.hexdigest()}


def _check_code_stamp(out_dir: Path, stamp: dict[str, str]) -> bool:
    """Drop every task file made by different extractor code; returns whether any were dropped."""
    path = out_dir / CODE_STAMP
    try:
        old = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, json.JSONDecodeError):
        old = None
    stale = old != stamp and any(out_dir.glob("*.npz"))
    if stale:
        for file in out_dir.glob("*.npz"):
            file.unlink()
    return stale


def embed_stage(model_id: str, suite_name: str, out_dir: Path,
                overrides: dict[str, Any] | None = None, device: str | None = None,
                progress: bool = True, engine: EngineConfig | None = None,
                manifest: Path | None = None) -> dict[str, bool]:
    """``embed@<model>``: embed every task of the suite into ``out_dir``, reusing valid files.

    Returns task id -> whether it was reused. ``manifest`` (``data/<suite>/manifest.json``, written
    by the ``manifest`` stage after checking the data's pin) gives the data hashes; without it
    the pin is checked (:func:`stages.dvc_data.verify_suite_data`) and the CSVs hashed here.
    """
    from stages.embedding_files import run_log_path
    from stages.engines import embed_suite_with_engine
    from stages.extractors.registry import apply_overrides, get_model_entry
    from stages.spec import default_spec

    suite = default_spec().suite(suite_name)
    if manifest is not None:
        from stages.manifest import read_manifest

        data_md5 = read_manifest(manifest, suite)
    else:
        from stages.manifest import verified_hashes

        data_md5 = verified_hashes(suite)
    entry = get_model_entry(model_id)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = extractor_code_hash(entry.extractor)
    if _check_code_stamp(out_dir, stamp):
        print(f"{out_dir}: extractor code changed since these embeddings were made; recomputing")
    # engine local (default) or ray (params.yaml `engine`): the same files either way
    status = embed_suite_with_engine(model_id, suite, out_dir, overrides, device, engine, progress,
                                     data_md5=data_md5, run_log=run_log_path(out_dir))
    atomic_write_json(out_dir / CODE_STAMP, stamp)
    atomic_write_json(out_dir / SETTINGS_RECORD, {
        "model_id": model_id,
        "declared_settings": apply_overrides(entry.settings, overrides).to_json()})
    computed = [task_id for task_id, reused in status.items() if not reused]
    print(f"embed {model_id} on {suite_name}: {len(computed)} task(s) embedded, "
          f"{len(status) - len(computed)} reused -> {out_dir}")
    for task_id in computed:
        print(f"  embedded {task_id}")
    return status


def score_stage(model_id: str, suite_name: str, emb_dir: Path,
                overrides: dict[str, Any] | None = None, submission: Path | None = None,
                metrics: Path | None = None, progress: bool = True) -> dict:
    """``score@<model>``: probe stored embeddings, write the submission and the metrics file.

    Needs only the embeddings directory: no extractor module is imported, and without
    ``overrides`` the declared settings come from the directory's ``_settings.json``, so the stage
    never reads ``params.yaml`` (DVC re-runs it exactly when the embeddings change).
    """
    from stages.run import RunPaths, default_paths, write_probe_outputs

    emb_dir = Path(emb_dir)
    if not emb_dir.is_dir():
        raise PipelineError(f"{emb_dir}: no embeddings directory for {model_id!r}; run "
                            f"`dvc pull {emb_dir}` or `dvc repro embed@{model_id}`")
    declared = None if overrides is not None else _recorded_settings(emb_dir, model_id)
    default = default_paths(suite_name, model_id)
    out = RunPaths(emb_dir, Path(submission or default.submission),
                   Path(metrics or default.metrics))
    return write_probe_outputs(model_id, suite_name, emb_dir, out, overrides, progress,
                               declared_settings=declared)


def _recorded_settings(emb_dir: Path, model_id: str) -> dict[str, Any] | None:
    """The declared settings ``geneb embed`` recorded in ``emb_dir`` (``None``: not recorded)."""
    path = emb_dir / SETTINGS_RECORD
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        recorded_model, declared = record["model_id"], record["declared_settings"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise PipelineError(f"{path}: unreadable settings record ({exc}); re-run "
                            f"`dvc repro embed@{model_id}`") from exc
    if recorded_model != model_id:
        raise PipelineError(f"{path}: field 'model_id' is {recorded_model!r}, not {model_id!r}: "
                            "these are another model's embeddings")
    return declared
