"""The model catalogue: one file per model, ``benchmark/models/<model_id>.yaml``, the one reader.

A model file has two sections, checked against ``benchmark/schema/model.schema.json``: ``card``
(what the model is: display name, size, links, provenance; :mod:`stages.model_meta`) and an
optional ``embed`` (how GENEB embeds it: family, weights, declared settings;
:mod:`stages.extractors.registry`). One file per model, named by its id, so two pull requests that
each add a model touch different files and never conflict. Each section has its own digest
(:func:`section_sha256`): the code manifests hash ``embed`` for the embed step and ``card`` for
the score step, so editing a card re-scores that model and never re-embeds it.

Files are read lazily and cached by their size and modification time: a command that needs one
model opens that model's file only, and an edited file is read again.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from stages import paths
from stages.errors import GenebError

MODEL_SCHEMA = "model.schema.json"
SECTIONS: tuple[str, ...] = ("card", "embed")
MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser is ~10x faster


class CatalogueError(GenebError, ValueError):
    """A model file that is missing, unreadable or breaks the model schema; names file and field."""


def models_dir(directory: Path | None = None) -> Path:
    return Path(directory) if directory is not None else paths.MODELS_DIR


def model_path(model_id: str, directory: Path | None = None) -> Path:
    return models_dir(directory) / f"{model_id}.yaml"


def is_catalogued(model_id: str, directory: Path | None = None) -> bool:
    """Whether ``model_id`` is a well-formed id with a file (a malformed id never names a path)."""
    return bool(MODEL_ID.fullmatch(model_id)) and model_path(model_id, directory).is_file()


def model_ids(directory: Path | None = None) -> list[str]:
    """Every catalogued model id (the file stems), sorted."""
    return sorted(p.stem for p in models_dir(directory).glob("*.yaml"))


def shown(path: Path) -> str:
    """``path`` as an error names it: relative to the repository when inside it."""
    try:
        return Path(path).resolve().relative_to(paths.REPO_ROOT).as_posix()
    except (ValueError, GenebError):
        return str(path)


@lru_cache(maxsize=1)
def _validator(schema_path: Path) -> jsonschema.Draft202012Validator:
    """The model schema with its two section ``$ref``s inlined (resolving a ``$ref`` per file
    doubled the time to load the catalogue)."""
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    schema["properties"] = {name: schema["$defs"][name] for name in SECTIONS}
    return jsonschema.Draft202012Validator(schema)


def _where(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "<root>"


def _hint(error: jsonschema.ValidationError, schema: dict[str, Any]) -> str:
    """Where a field that is not allowed in one section belongs, when the other one takes it."""
    if error.validator != "additionalProperties" or len(error.absolute_path) != 1:
        return ""
    here = error.absolute_path[0]
    for other in SECTIONS:
        allowed = set(schema["properties"].get(other, {}).get("properties", {}))
        misplaced = sorted(set(error.instance) & allowed) if other != here else []
        if misplaced:
            return f" ({', '.join(misplaced)}: a field of the {other} section)"
    return ""


@lru_cache(maxsize=512)
def _read(path: Path, size: int, mtime_ns: int) -> dict[str, Any]:
    del size, mtime_ns  # the cache key: an edited file is read again
    name = shown(path)
    if not MODEL_ID.fullmatch(path.stem):
        raise CatalogueError(f"{name}: the file name must be <model_id>.yaml, a model id being "
                             "letters, digits, '.', '_' and '-' (at most 100, first a letter or "
                             "digit)")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CatalogueError(f"{name}: cannot read YAML: {' '.join(str(exc).split())}") from exc
    validator = _validator(paths.SCHEMA_DIR / MODEL_SCHEMA)
    if not validator.is_valid(data):
        errors = sorted(validator.iter_errors(data),
                        key=lambda e: (list(map(str, e.absolute_path)), e.message))
        raise CatalogueError(f"{name}: {_where(errors[0])}: {errors[0].message}"
                             f"{_hint(errors[0], validator.schema)}")
    return data


def read_model(path: Path) -> dict[str, Any]:
    """One model file, parsed and schema-checked (``{"card": {...}, "embed": {...}?}``)."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as exc:
        raise CatalogueError(f"{shown(path)}: no such model file") from exc
    return _read(path, stat.st_size, stat.st_mtime_ns)


def section(model_id: str, name: str, directory: Path | None = None) -> dict[str, Any] | None:
    """One section of a model's file; ``None`` when the file has no such section."""
    return read_model(model_path(model_id, directory)).get(name)


def section_sha256(path: Path, name: str) -> str:
    """Digest of one section's content (canonical JSON): comments and layout do not count, and
    the other section does not either."""
    body = read_model(path).get(name)
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
