"""k-mer frequency baseline: a strong, weight-free reference point.

Each sequence becomes the normalised counts of its overlapping k-mers over ``ACGT`` (4**k
dimensions); k-mers that contain ``N`` are skipped. Fully vectorised: all sequences of a chunk are
concatenated and counted with one ``numpy.bincount``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from stages.extractors.base import ExtractorSettings, reverse_complement

_CODES = np.full(256, -1, dtype=np.int64)
for _code, _base in enumerate(b"ACGT"):
    _CODES[_base] = _code
_CHUNK = 4096


def kmer_counts(sequences: Sequence[str], k: int) -> np.ndarray:
    """Raw overlapping k-mer counts, shape ``(n, 4**k)``; k-mers with non-ACGT bases are skipped."""
    n = len(sequences)
    out = np.zeros((n, 4**k), dtype=np.float32)
    for start in range(0, n, _CHUNK):
        chunk = sequences[start : start + _CHUNK]
        lengths = np.fromiter((len(s) for s in chunk), dtype=np.int64, count=len(chunk))
        codes = _CODES[np.frombuffer("".join(chunk).encode("ascii"), dtype=np.uint8)]
        owner = np.repeat(np.arange(len(chunk)), lengths)
        offset = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        position = np.arange(len(codes)) - np.repeat(offset, lengths)
        # position of the k-mer's first base; it must fit inside its own sequence
        valid = position <= np.repeat(lengths, lengths) - k
        index = np.zeros(len(codes), dtype=np.int64)
        bad = np.zeros(len(codes), dtype=bool)
        for j in range(k):  # k is small; this loops over k, not over sequences
            shifted = np.empty(len(codes), dtype=np.int64)
            shifted[: len(codes) - j] = codes[j:]
            shifted[len(codes) - j :] = -1
            bad |= shifted < 0
            index = index * 4 + np.maximum(shifted, 0)
        keep = valid & ~bad
        flat = owner[keep] * 4**k + index[keep]
        counts = np.bincount(flat, minlength=len(chunk) * 4**k)
        out[start : start + len(chunk)] = counts.reshape(len(chunk), 4**k)
    return out


class KmerExtractor:
    """Frequencies of overlapping k-mers; ``strand="both"`` adds the reverse complement's counts."""

    def __init__(self, model_id: str, settings: ExtractorSettings) -> None:
        self.model_id = model_id
        self.settings = settings
        self.k = int(settings.options.get("k", 4))
        if not 1 <= self.k <= 8:
            raise ValueError(f"{model_id}: k must be between 1 and 8, got {self.k}")

    def embed(self, sequences: Sequence[str]) -> np.ndarray:
        counts = kmer_counts(list(sequences), self.k)
        if self.settings.strand == "both":
            counts += kmer_counts(reverse_complement(sequences), self.k)
        totals = counts.sum(axis=1, keepdims=True)
        return counts / np.maximum(totals, 1.0)

    def identity(self) -> dict[str, Any]:
        return {"weights": "none (k-mer frequencies)", "k": self.k}

    def run_report(self) -> dict[str, Any]:
        return {}


def load(model_id: str, settings: ExtractorSettings, **_: Any) -> KmerExtractor:
    return KmerExtractor(model_id, settings)
