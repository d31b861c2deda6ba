"""The vectorised k-mer counter equals a plain per-sequence count."""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest

from stages.extractors.base import ExtractorSettings
from stages.extractors.kmer import KmerExtractor, kmer_counts


def plain_counts(sequence: str, k: int) -> np.ndarray:
    index = {"".join(p): i for i, p in enumerate(product("ACGT", repeat=k))}
    counts = np.zeros(4**k)
    for start in range(len(sequence) - k + 1):
        word = sequence[start : start + k]
        if word in index:
            counts[index[word]] += 1
    return counts


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_counts_match_plain_loop(k):
    rng = np.random.default_rng(k)
    sequences = ["".join(rng.choice(list("ACGTN"), size=n, p=[0.24, 0.24, 0.24, 0.24, 0.04]))
                 for n in rng.integers(1, 40, size=60)]
    sequences += ["A" * k, "N" * (k + 2), "ACG"[: max(k - 1, 1)]]
    got = kmer_counts(sequences, k)
    expected = np.stack([plain_counts(s, k) for s in sequences])
    np.testing.assert_array_equal(got, expected)


def test_frequencies_and_strand():
    forward = KmerExtractor("kmer-2", ExtractorSettings(options={"k": 2}))
    both = KmerExtractor("kmer-2", ExtractorSettings(strand="both", options={"k": 2}))
    vectors = forward.embed(["ACGTAC", "NNNN"])
    assert vectors.dtype == np.float32 and vectors.shape == (2, 16)
    assert vectors[0].sum() == pytest.approx(1.0)
    assert vectors[1].sum() == 0.0  # no valid k-mer: a zero vector, not NaN
    # "AAAA" and its reverse complement "TTTT" give the same both-strand vector
    np.testing.assert_array_equal(both.embed(["AAAA"]), both.embed(["TTTT"]))


def test_invalid_k():
    with pytest.raises(ValueError, match="k must be between 1 and 8"):
        KmerExtractor("kmer-9", ExtractorSettings(options={"k": 9}))
