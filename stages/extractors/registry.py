"""Model registry: model id -> extractor family, weights and declared settings.

The registry is data (``benchmark/model_registry.yaml``); this module only reads it and imports
the extractor family module, which must expose ``load(model_id, settings, *, source, revision,
device) -> Extractor``. It holds the embedding recipe only: what a model *is* (display name,
size, provenance) is its card in ``benchmark/model_meta.json`` (:mod:`stages.model_meta`), so
editing a card never invalidates an embedding.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from stages import paths
from stages.errors import GenebError
from stages.extractors.base import Extractor, ExtractorSettings, SettingsError

REGISTRY_PATH = paths.BENCHMARK_DIR / "model_registry.yaml"

FAMILIES: dict[str, str] = {
    "kmer": "stages.extractors.kmer",
    "hf_masked_lm": "stages.extractors.hf_masked_lm",
    "hf_causal": "stages.extractors.hf_causal",
    "hyena": "stages.extractors.hyena",
    "caduceus": "stages.extractors.caduceus",
    "external": "stages.extractors.external",
}


class RegistryError(GenebError, ValueError):
    """The registry or a settings override is malformed."""


@dataclass(frozen=True)
class ModelEntry:
    """How to embed one model; its card (display, params, ...) is ``model_meta.model_card``."""

    model_id: str
    extractor: str
    settings: ExtractorSettings
    source: str | None = None  # hub repo id or local path
    revision: str | None = None
    published_run: str = ""
    extractor_notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


_SETTING_NAMES = {f.name for f in fields(ExtractorSettings)}


def make_settings(model_id: str, values: dict[str, Any] | None) -> ExtractorSettings:
    values = dict(values or {})
    unknown = sorted(set(values) - _SETTING_NAMES)
    if unknown:
        raise RegistryError(f"{model_id}: unknown extractor setting(s) {unknown}")
    return ExtractorSettings(**values)


def apply_overrides(settings: ExtractorSettings, overrides: dict[str, Any] | None) -> ExtractorSettings:
    """Settings from params.yaml or the CLI; ``options`` merge key by key."""
    if not overrides:
        return settings
    overrides = dict(overrides)
    unknown = sorted(set(overrides) - _SETTING_NAMES)
    if unknown:
        raise RegistryError(f"unknown extractor setting(s) {unknown}")
    options = {**settings.options, **overrides.pop("options", {})}
    return replace(settings, options=options, **overrides)


@lru_cache(maxsize=4)
def _load_registry(path: Path) -> dict[str, ModelEntry]:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    entries = {}
    known_keys = {f.name for f in fields(ModelEntry)} - {"model_id", "settings"}
    for model_id, body in (raw.get("models") or {}).items():
        body = dict(body)
        if body.get("extractor") not in FAMILIES:
            raise RegistryError(f"{path}: model {model_id!r}: unknown extractor {body.get('extractor')!r}")
        settings = make_settings(model_id, body.pop("settings", None))
        unknown = sorted(set(body) - known_keys)
        if unknown:
            raise RegistryError(f"{path}: model {model_id!r}: unknown field(s) {unknown} (display "
                                "name, size and provenance belong in benchmark/model_meta.json)")
        entries[model_id] = ModelEntry(model_id=model_id, settings=settings, **body)
    return entries


def registered_models(path: Path = REGISTRY_PATH) -> dict[str, ModelEntry]:
    return dict(_load_registry(Path(path)))


def get_model_entry(model_id: str, path: Path = REGISTRY_PATH) -> ModelEntry:
    entries = _load_registry(Path(path))
    if model_id not in entries:
        raise RegistryError(f"model {model_id!r} is not registered in {path}")
    return entries[model_id]


@dataclass(frozen=True)
class ResolvedModel:
    """A registry entry with one run's settings overrides applied, resolved once where a command
    starts (``geneb run``, ``geneb embed``, ``geneb score``) and passed down to every step."""

    entry: ModelEntry
    overrides: dict[str, Any] | None  # as given: params.yaml, --settings, or an embedding record
    settings: ExtractorSettings  # the effective declared settings

    @property
    def model_id(self) -> str:
        return self.entry.model_id


# Family-specific ``options``: the names a family reads and the values it accepts. A family not
# listed here checks its own options when it loads.
FAMILY_OPTIONS: dict[str, dict[str, range]] = {"kmer": {"k": range(1, 9)}}  # 4**8 = 65,536 dims


def check_family_settings(family: str, settings: ExtractorSettings) -> None:
    """Reject ``options`` the family does not read or values it cannot use (SettingsError)."""
    allowed = FAMILY_OPTIONS.get(family)
    if allowed is None:
        return
    for name, value in settings.options.items():
        if name not in allowed:
            raise SettingsError(f"setting 'options.{name}': not an option of the {family} family "
                                f"(it reads {', '.join(allowed)})")
        valid = allowed[name]
        if not (isinstance(value, int) and not isinstance(value, bool) and value in valid):
            raise SettingsError(f"setting 'options.{name}': {value!r} is not an integer from "
                                f"{valid.start} to {valid.stop - 1}")


def resolve_model(model_id: str, overrides: dict[str, Any] | None = None,
                  path: Path = REGISTRY_PATH) -> ResolvedModel:
    """The registered model with ``overrides`` applied and checked (unknown model: RegistryError;
    a bad setting: SettingsError naming it)."""
    entry = get_model_entry(model_id, path)
    settings = apply_overrides(entry.settings, overrides)
    check_family_settings(entry.extractor, settings)
    return ResolvedModel(entry, overrides or None, settings)


def load_extractor(
    entry: ModelEntry,
    overrides: dict[str, Any] | None = None,
    *,
    device: str | None = None,
    source: str | None = None,
) -> Extractor:
    """Import the entry's family module and build its extractor with the effective settings."""
    settings = apply_overrides(entry.settings, overrides)
    check_family_settings(entry.extractor, settings)
    module = importlib.import_module(FAMILIES[entry.extractor])
    return module.load(
        entry.model_id, settings, source=source or entry.source, revision=entry.revision,
        device=device,
    )
