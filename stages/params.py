"""``params.yaml``, the one reader: what ``dvc repro`` evaluates (``suite``, ``models`` and their
settings overrides) and how ``geneb embed`` computes (``engine``).

Every field is checked here, once, and a bad one is one :class:`ParamsError` naming the file and
the field. ``dvc.yaml`` reads the file too (``vars``), for the stage templates only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stages import paths
from stages.engines.config import EngineConfig, engine_config
from stages.errors import GenebError

DEFAULT_PARAMS = paths.REPO_ROOT / "params.yaml"
_MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


class ParamsError(GenebError, ValueError):
    """``params.yaml`` (or ``--settings``) is unusable; the message names the file and field."""


@dataclass(frozen=True)
class Params:
    """The checked content of a ``params.yaml``."""

    path: Path
    suite: str
    models: Mapping[str, dict[str, Any]]  # model id -> settings overrides ({}: the registry's)
    engine: Mapping[str, Any]  # the ``engine`` section, valid for :func:`engine_config`

    def overrides(self, model_id: str) -> dict[str, Any] | None:
        """``models.<id>.settings`` (``None`` when empty)."""
        if model_id not in self.models:
            raise ParamsError(f"{self.path}: field 'models' has no entry {model_id!r}")
        return self.models[model_id] or None


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ParamsError(f"{path}: cannot read params: {exc}") from exc
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping with 'suite' and 'models'")
    return raw


def _engine(raw: dict[str, Any], path: Path) -> dict[str, Any]:
    section = raw.get("engine") or {}
    if not isinstance(section, Mapping):
        raise ParamsError(f"{path}: field 'engine' must be a mapping, got {type(section).__name__}")
    try:
        engine_config(section)
    except (ValueError, TypeError) as exc:  # EngineConfigError, or a value of the wrong type
        raise ParamsError(f"{path}: field 'engine': {exc}") from exc
    return dict(section)


def _model(path: Path, model_id: Any, body: Any) -> dict[str, Any]:
    """One ``models`` entry's settings overrides, checked against the registry."""
    from stages.extractors.base import SettingsError
    from stages.extractors.registry import RegistryError, resolve_model

    where = f"{path}: field 'models.{model_id}'"
    if not isinstance(model_id, str) or not _MODEL_ID.match(model_id):
        raise ParamsError(f"{where}: model ids may use letters, digits, '-' and '_' only "
                          "(DVC addresses params as dotted paths)")
    body = {} if body is None else body
    if not isinstance(body, dict) or set(body) - {"settings"}:
        raise ParamsError(f"{where}: expected {{settings: {{...}}}}, got {body!r}")
    settings = body.get("settings") or {}
    if not isinstance(settings, dict):
        raise ParamsError(f"{path}: field 'models.{model_id}.settings': expected a mapping, "
                          f"got {settings!r}")
    try:
        resolve_model(model_id, settings)
    except (SettingsError, TypeError) as exc:
        raise ParamsError(f"{path}: field 'models.{model_id}.settings': {exc}") from exc
    except RegistryError as exc:  # an unregistered model, or a setting no family has
        raise ParamsError(f"{where}: {exc}") from exc
    return settings


def load_params(path: Path = DEFAULT_PARAMS) -> Params:
    """Read and check the whole file: suite, models (registered, valid overrides) and engine."""
    from stages.spec import default_spec

    path = Path(path)
    raw = _read(path)
    suites = default_spec().suites
    suite = raw.get("suite")
    if suite not in suites:
        raise ParamsError(f"{path}: field 'suite': {suite!r} is not a suite; choose one of "
                          f"{', '.join(sorted(suites))} (benchmark/suites.json)")
    models = raw.get("models")
    if not isinstance(models, dict) or not models:
        raise ParamsError(f"{path}: field 'models': expected a non-empty mapping of model ids")
    parsed = {model_id: _model(path, model_id, body) for model_id, body in models.items()}
    return Params(path=path, suite=suite, models=parsed, engine=_engine(raw, path))


def check_suite_data(params: Params) -> None:
    """Stop with a clear line when the chosen suite's task data is not in this checkout (the full
    suite's comes from ``make full-data``), before DVC meets a missing dependency."""
    from stages.spec import default_spec

    suite = default_spec().suite(params.suite)
    if not suite.data_dir.is_dir():
        how = ("run `make full-data` first (a `dvc import` of the pinned dataset)"
               if suite.name == "full" else "build it first (see benchmark/suites.json)")
        raise ParamsError(f"{params.path}: field 'suite': the {suite.name!r} suite's task data is "
                          f"not here ({suite.data_dir} is missing); {how}")


def write_params(params: Params, path: Path | None = None) -> Path:
    """Write ``params`` as YAML (comments are not kept); returns the path written."""
    path = Path(path or params.path)
    body: dict[str, Any] = {"suite": params.suite,
                            "models": {m: {"settings": dict(s)} for m, s in params.models.items()}}
    if params.engine:
        body["engine"] = dict(params.engine)
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return path


def read_engine_section(path: Path | None = None) -> dict[str, Any]:
    """The checked ``engine`` section alone (empty when the file or the section is absent): what a
    command reads when it is given no ``--params``, so that other sections never stop it."""
    path = Path(path or DEFAULT_PARAMS)
    return _engine(_read(path), path) if path.is_file() else {}


def resolve_engine(name: str | None = None, address: str | None = None,
                   params_path: Path | None = None, **overrides: Any) -> EngineConfig:
    """params.yaml's ``engine`` section, then the CLI flags (``--engine``, ``--ray-address``)."""
    return engine_config(read_engine_section(params_path), name=name, address=address, **overrides)


def resolve_overrides(model_id: str, settings_json: str | None, params_path: Path | None
                      ) -> dict[str, Any] | None:
    """Settings overrides from ``--settings JSON`` or from ``params.yaml`` (``models.<id>``)."""
    if settings_json and params_path:
        raise ParamsError("give --settings or --params, not both")
    if settings_json:
        try:
            value = json.loads(settings_json)
        except json.JSONDecodeError as exc:
            raise ParamsError(f"--settings: not valid JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise ParamsError("--settings: expected a JSON object")
        from stages.extractors.base import SettingsError
        from stages.extractors.registry import RegistryError, resolve_model

        try:
            resolve_model(model_id, value)
        except (RegistryError, SettingsError, TypeError) as exc:
            raise ParamsError(f"--settings: {exc}") from exc
        return value
    if params_path:
        return load_params(params_path).overrides(model_id)
    return None
