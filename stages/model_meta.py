"""Model cards (the ``card`` section of ``benchmark/models/<model_id>.yaml``): the one source of
what each model is.

A model's file has two sections with no field in common: its card (display name, size, links,
pretraining data, provenance; the published GENEB format, extended) and the embedding recipe
``embed`` (:mod:`stages.extractors.registry`); :mod:`stages.catalogue` reads and checks the files.
Every registered model has a card (the schema requires it). A run's submission ``meta``
(:func:`submission_meta`), the leaderboard's display name, parameter count and provenance, and
the validator's provenance checks all come from here, never from the submission files (three
published files carry parameter counts the authors later corrected).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from stages import catalogue
from stages.catalogue import CatalogueError

# The published v1.0 fields, in the order of a submission's ``meta`` block.
PUBLISHED_FIELDS: tuple[str, ...] = ("display", "params", "url", "zero_shot", "training_data",
                                     "provenance", "submitted_by")
PROVENANCES: tuple[str, ...] = ("official", "verified", "reproduced", "self-reported")
# Only the maintainers grant these: a submission may claim them only where the card says so.
RESTRICTED_PROVENANCES: frozenset[str] = frozenset({"official", "verified"})


class ModelMetaError(CatalogueError):
    """A model's card is missing or malformed."""


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
    paper: str = ""  # the model's paper ("" where there is none)

    @classmethod
    def from_submission(cls, model_id: str, meta: dict[str, Any]) -> ModelMeta:
        """Fallback for a model not (yet) catalogued: its submission's own ``meta``."""
        return cls(model_id=model_id, **{k: meta[k] for k in PUBLISHED_FIELDS})

    def published(self) -> dict[str, Any]:
        """The card as a submission's ``meta`` block (the published fields, in their order)."""
        return {key: getattr(self, key) for key in PUBLISHED_FIELDS}


def _card(model_id: str, directory: Path | None) -> ModelMeta:
    try:
        return ModelMeta(model_id=model_id, **catalogue.section(model_id, "card", directory))
    except CatalogueError as exc:
        raise ModelMetaError(str(exc)) from exc


def load_model_meta(directory: Path | None = None) -> dict[str, ModelMeta]:
    """Every model's card, read from ``directory`` (default ``benchmark/models``) and
    schema-checked; errors name the file and the field (``benchmark/models/x.yaml: card.params:
    ...``)."""
    return {model_id: _card(model_id, directory) for model_id in catalogue.model_ids(directory)}


@lru_cache(maxsize=1)
def default_model_meta() -> dict[str, ModelMeta]:
    """The repository's own model cards, loaded once per process."""
    return load_model_meta()


def model_card(model_id: str) -> ModelMeta:
    """The repository's card of one model (only its file is read); a clear error if it has none."""
    path = catalogue.model_path(model_id)
    if not catalogue.is_catalogued(model_id):
        raise ModelMetaError(f"{catalogue.shown(path)}: no card for model {model_id!r}: add the "
                             "file with a card section (display, params, url, zero_shot, "
                             "training_data, provenance, submitted_by; see CONTRIBUTING.md)")
    return _card(model_id, None)


def submission_meta(model_id: str, *, provenance: str, submitted_by: str) -> dict[str, Any]:
    """A run's submission ``meta``: the model's card, with the run's own provenance claim and
    submitter (a re-run of a published model is not the authors' official result)."""
    card = model_card(model_id)
    return replace(card, provenance=provenance, submitted_by=submitted_by).published()
