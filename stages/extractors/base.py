"""The extractor contract a contributor implements for a new model.

An extractor is built by a ``load`` function (model id or local path, revision, device, dtype and
the declared settings) and has one job, ``embed``: a list of sequences in, a float32 array of
shape ``(n, d)`` out, one row per sequence in input order. Everything that changes the vector is
declared in :class:`ExtractorSettings` and written into every submission's run settings, so two
runs are comparable or visibly not.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from stages.errors import GenebError, excerpt

# Allowed values of the settings that take a name (the families read exactly these).
CHOICES: dict[str, tuple[str, ...]] = {
    "pooling": ("mean", "cls", "last"),
    "strand": ("forward", "both"),
    "dtype": ("float32", "auto", "bfloat16", "float16"),
    "padding_side": ("right", "left"),
    "special_tokens": ("exclude", "include"),
}
_POSITIVE_OR_NONE = ("max_length", "window_stride", "batch_size", "batch_tokens")


class SettingsError(GenebError, ValueError):
    """An extractor setting of the wrong type or outside its allowed values; names the field."""


def _shown(value: Any) -> str:
    return excerpt(repr(value), 60)


@dataclass(frozen=True)
class ExtractorSettings:
    """Settings that change the embedding. Defaults are GENEB's uniform policy."""

    pooling: str = "mean"  # mean over real tokens; "cls" or "last" only where declared
    layer: int = -1  # hidden layer index (-1: last)
    max_length: int | None = None  # tokens per window, specials included (None: the model's limit)
    window_stride: int | None = None  # content tokens between window starts (None: no overlap)
    strand: str = "forward"  # "forward" or "both" (mean of sequence and reverse complement)
    dtype: str = "float32"  # compute dtype; "auto" = bf16/fp16 on GPU, fp32 on CPU (resolved at load)
    padding_side: str = "right"  # declared per family; see docs/extractors.md
    special_tokens: str = "exclude"  # whether CLS/SEP/BOS/EOS enter the mean
    options: dict[str, Any] = field(default_factory=dict)  # family-specific (e.g. k for k-mers)
    # Speed only (RUNTIME_FIELDS): they never change the vector (tests prove batch invariance),
    # so they stay out of the cache key and the fingerprint; run_report records what was used.
    batch_size: int | None = None  # most windows per batch (None: the family's default)
    batch_tokens: int | None = None  # most padded tokens per batch (None: the family's default)

    def __post_init__(self) -> None:
        """Reject a wrong type or value where it is read (registry, params.yaml, --settings), so a
        bad setting never reaches a run, let alone its recorded results."""
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise SettingsError(f"setting '{name}': {_shown(getattr(self, name))} is not one "
                                    f"of {', '.join(allowed)}")
        if not _is_int(self.layer):
            raise SettingsError(f"setting 'layer': {_shown(self.layer)} is not an integer")
        for name in _POSITIVE_OR_NONE:
            value = getattr(self, name)
            if value is not None and not (_is_int(value) and value >= 1):
                raise SettingsError(f"setting '{name}': {_shown(value)} is not a positive integer "
                                    "or null")
        if not isinstance(self.options, dict):
            raise SettingsError(f"setting 'options': {_shown(self.options)} is not a mapping")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def vector_json(self) -> dict[str, Any]:
        """The settings that change the vector: what cache keys and submissions record."""
        return {k: v for k, v in self.to_json().items() if k not in RUNTIME_FIELDS}

    def fingerprint(self) -> str:
        """Stable hash of the vector settings, part of every embedding cache key."""
        blob = json.dumps(self.vector_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


RUNTIME_FIELDS = frozenset({"batch_size", "batch_tokens"})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@runtime_checkable
class Extractor(Protocol):
    """What the harness needs from a model."""

    model_id: str
    settings: ExtractorSettings

    def embed(self, sequences: Sequence[str]) -> np.ndarray:
        """One float32 row per sequence, in input order; never truncates silently.

        An extractor may also accept ``progress=callable``, called with the number of
        sequences finished so far in each step; the embed stage passes it when accepted.
        """
        ...

    def identity(self) -> dict[str, Any]:
        """What pins the weights: hub repo and revision, or a hash of local files."""
        ...

    def run_report(self) -> dict[str, Any]:
        """Counters worth recording with the results (e.g. how many sequences were windowed).

        Numbers are counters summed since load (see :func:`report_delta`); other values
        (e.g. a ``runtime`` dict with device and batch size) describe the run.
        """
        ...


def reverse_complement(sequences: Sequence[str]) -> list[str]:
    table = str.maketrans("ACGTN", "TGCAN")
    return [sequence.translate(table)[::-1] for sequence in sequences]


def check_embeddings(model_id: str, vectors: np.ndarray, n: int) -> np.ndarray:
    """Enforce the contract on whatever an extractor returned."""
    vectors = np.asarray(vectors)
    if vectors.ndim != 2 or vectors.shape[0] != n:
        raise ValueError(f"{model_id}: extractor returned shape {vectors.shape}, expected ({n}, d)")
    if not np.isfinite(vectors).all():
        raise ValueError(f"{model_id}: extractor returned NaN or infinite values")
    return vectors.astype(np.float32, copy=False)


def report_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What happened between two ``run_report()`` calls.

    Convention of ``run_report``: numbers are counters summed since load, anything else (a
    dict, a string) describes the run; so numbers are differenced and the rest kept as is.
    """
    def number(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    return {key: (value - before[key] if number(value) and number(before.get(key)) else value)
            for key, value in after.items()}
