"""Model metadata (``benchmark/model_meta.json``): the one loader of display names and provenance.

The leaderboard takes display name, parameter count and provenance from here rather than from the
submission files (three published files carry parameter counts the authors later corrected), and
the validator checks provenance claims against it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

from stages import paths

PROVENANCES: tuple[str, ...] = ("official", "verified", "reproduced", "self-reported")
# Only the maintainers grant these: a submission may claim them only where model_meta says so.
RESTRICTED_PROVENANCES: frozenset[str] = frozenset({"official", "verified"})


class ModelMetaError(ValueError):
    """``model_meta.json`` is malformed."""


@dataclass(frozen=True)
class ModelMeta:
    model_id: str
    display: str
    params: int
    url: str
    zero_shot: bool
    training_data: str
    provenance: str
    submitted_by: str
    architecture: str | None = None
    tokenization: str | None = None
    result_source: str = ""
    notes: str = ""
    card: str | None = None

    @classmethod
    def from_submission(cls, model_id: str, meta: dict[str, Any]) -> ModelMeta:
        """Fallback for a model not (yet) listed in model_meta: its submission's own ``meta``."""
        return cls(model_id=model_id, **{k: meta[k] for k in (
            "display", "params", "url", "zero_shot", "training_data", "provenance", "submitted_by")})


def load_model_meta(path: Path | None = None) -> dict[str, ModelMeta]:
    """Read and schema-check ``model_meta.json``; errors name the file and the field."""
    path = Path(path or paths.MODEL_META_PATH)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelMetaError(f"{path}: cannot read JSON: {exc}") from exc
    schema = json.loads((paths.SCHEMA_DIR / "model_meta.schema.json").read_text(encoding="utf-8"))
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(data), key=str)
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "<root>"
        raise ModelMetaError(f"{path}: {where}: {errors[0].message}")
    return {model_id: ModelMeta(model_id=model_id, **entry) for model_id, entry in data.items()}


@lru_cache(maxsize=1)
def default_model_meta() -> dict[str, ModelMeta]:
    """The repository's own model metadata, loaded once per process."""
    return load_model_meta()
