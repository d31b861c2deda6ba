"""Model registry: model id -> extractor family, weights and declared settings.

The registry is data: the ``embed`` section of each ``benchmark/models/<model_id>.yaml``
(:mod:`stages.catalogue` reads and checks the files). This module builds a :class:`ModelEntry`
from it and imports the extractor family module, which must expose ``load(model_id, settings,
*, source, revision, device) -> Extractor``. It holds the embedding recipe only: what a model *is*
(display name, size, provenance) is the file's ``card`` (:mod:`stages.model_meta`), so editing a
card never invalidates an embedding.

Families are discovered, never listed (the lazy-registry pattern of lm-evaluation-harness): a
family is a module or package directly under ``stages/extractors`` whose source defines a
top-level ``load``. The shared helpers (``base``, ``batching``, ``hf``, this module) define none.
Nothing is imported to find them (:func:`discover_families` parses the source), and a family's
module is imported only when a model of that family is loaded, so adding
``stages/extractors/<family>.py`` needs no edit of any shared file.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from stages import catalogue
from stages.catalogue import CatalogueError
from stages.extractors.base import Extractor, ExtractorSettings, SettingsError

FAMILY_PACKAGE = "stages.extractors"  # where families live (tests point it at a scratch package)


class RegistryError(CatalogueError):
    """A model's embed section, its family or a settings override is missing or malformed."""


@dataclass(frozen=True)
class ModelEntry:
    """How to embed one model (its file's ``embed`` section); its card (display, params, ...) is
    ``model_meta.model_card``."""

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


def _binds_load(source: str) -> bool:
    """Whether a module's source binds ``load`` at top level (a def, an import or an assignment)."""
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "load":
            return True
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any(
                (alias.asname or alias.name) == "load" for alias in node.names):
            return True
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "load" for t in node.targets):
            return True
    return False


@lru_cache(maxsize=256)
def _is_family(source_file: Path, size: int, mtime_ns: int) -> bool:
    del size, mtime_ns  # the cache key: an edited module is parsed again
    try:
        return _binds_load(source_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError):
        return False  # not importable as a family either; load_extractor would say why


def discover_families(directory: Path) -> dict[str, Path]:
    """Family name -> its module file (or package folder) in ``directory``: every module or
    package there, not private (``_name``), whose source defines ``load``. Works on any copy of
    the package (the code manifests scan the checkout they describe)."""
    found: dict[str, Path] = {}
    for entry in sorted(Path(directory).iterdir()):
        name = entry.stem if entry.suffix == ".py" else entry.name
        source = entry / "__init__.py" if entry.is_dir() else entry
        if name.startswith("_") or not name.isidentifier() or source.suffix != ".py" \
                or not source.is_file():
            continue
        stat = source.stat()
        if _is_family(source, stat.st_size, stat.st_mtime_ns):
            found[name] = entry
    return found


def families() -> dict[str, str]:
    """Family name -> dotted module name, for the families of :data:`FAMILY_PACKAGE`."""
    spec = importlib.util.find_spec(FAMILY_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RegistryError(f"extractor package {FAMILY_PACKAGE} not found")
    directory = Path(next(iter(spec.submodule_search_locations)))
    return {name: f"{FAMILY_PACKAGE}.{name}" for name in discover_families(directory)}


def family_module(family: str) -> str:
    """The dotted module of a family; an unknown one is one line naming the known ones."""
    known = families()
    if family not in known:
        raise RegistryError(f"unknown extractor family {family!r}; known: {', '.join(sorted(known))} "
                            f"(a family is a module {FAMILY_PACKAGE}.<family> that defines load)")
    return known[family]


def _entry(model_id: str, directory: Path | None) -> ModelEntry | None:
    path = catalogue.model_path(model_id, directory)
    try:
        body = catalogue.section(model_id, "embed", directory)
    except CatalogueError as exc:  # the file breaks the schema: one line naming file and field
        raise RegistryError(str(exc)) from exc
    if body is None:
        return None
    where = catalogue.shown(path)
    body = dict(body)
    try:
        family_module(body["extractor"])
    except RegistryError as exc:
        raise RegistryError(f"{where}: embed.extractor: {exc}") from exc
    try:
        settings = make_settings(model_id, body.pop("settings", None))
    except (RegistryError, SettingsError) as exc:
        raise type(exc)(f"{where}: embed.settings: {exc}") from exc
    return ModelEntry(model_id=model_id, settings=settings, **body)


def registered_models(directory: Path | None = None) -> dict[str, ModelEntry]:
    """Every model with an ``embed`` section (default folder ``benchmark/models``)."""
    entries = {model_id: _entry(model_id, directory) for model_id in catalogue.model_ids(directory)}
    return {model_id: entry for model_id, entry in entries.items() if entry is not None}


def get_model_entry(model_id: str, directory: Path | None = None) -> ModelEntry:
    """One model's embedding recipe; only its own file is read."""
    path = catalogue.model_path(model_id, directory)
    if not catalogue.is_catalogued(model_id, directory):
        raise RegistryError(f"model {model_id!r} is not registered: no {catalogue.shown(path)}")
    entry = _entry(model_id, directory)
    if entry is None:
        raise RegistryError(f"model {model_id!r} is not registered: {catalogue.shown(path)} has "
                            "no embed section (extractor, source, revision, settings)")
    return entry


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
                  directory: Path | None = None) -> ResolvedModel:
    """The registered model with ``overrides`` applied and checked (unknown model: RegistryError;
    a bad setting: SettingsError naming it)."""
    entry = get_model_entry(model_id, directory)
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
    module = importlib.import_module(family_module(entry.extractor))
    return module.load(
        entry.model_id, settings, source=source or entry.source, revision=entry.revision,
        device=device,
    )
