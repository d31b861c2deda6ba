"""Model cards (``benchmark/model_meta.json``): the one source of what each model is.

The model catalogue has two halves with no field in common: this file's card per model (display
name, size, link, pretraining data, provenance; the published GENEB format, extended) and the
embedding recipe in ``benchmark/model_registry.yaml`` (:mod:`stages.extractors.registry`).
Every registered model has a card (``tests/test_catalogue.py``). A run's submission ``meta``
(:func:`submission_meta`), the leaderboard's display name, parameter count and provenance, and
the validator's provenance checks all come from here, never from the submission files (three
published files carry parameter counts the authors later corrected).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

from stages import paths
from stages.errors import GenebError

# The published v1.0 fields, in the order of a submission's ``meta`` block.
PUBLISHED_FIELDS: tuple[str, ...] = ("display", "params", "url", "zero_shot", "training_data",
                                     "provenance", "submitted_by")
PROVENANCES: tuple[str, ...] = ("official", "verified", "reproduced", "self-reported")
# Only the maintainers grant these: a submission may claim them only where model_meta says so.
RESTRICTED_PROVENANCES: frozenset[str] = frozenset({"official", "verified"})


class ModelMetaError(GenebError, ValueError):
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
        return cls(model_id=model_id, **{k: meta[k] for k in PUBLISHED_FIELDS})

    def published(self) -> dict[str, Any]:
        """The card as a submission's ``meta`` block (the published fields, in their order)."""
        return {key: getattr(self, key) for key in PUBLISHED_FIELDS}


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


def model_card(model_id: str) -> ModelMeta:
    """The repository's card of one model; a clear error if it has none."""
    cards = default_model_meta()
    if model_id not in cards:
        raise ModelMetaError(f"{paths.MODEL_META_PATH}: no card for model {model_id!r}: add "
                             "one (display, params, url, zero_shot, training_data, provenance, "
                             "submitted_by)")
    return cards[model_id]


def submission_meta(model_id: str, *, provenance: str, submitted_by: str) -> dict[str, Any]:
    """A run's submission ``meta``: the model's card, with the run's own provenance claim and
    submitter (a re-run of a published model is not the authors' official result)."""
    card = model_card(model_id)
    return replace(card, provenance=provenance, submitted_by=submitted_by).published()
