"""The GENEB linear probe, exactly as published (the *protocol* numbers).

``LogisticRegression(max_iter=1000, random_state=seed)`` with every other setting at its
scikit-learn default, fit on train (or a few-shot subset of it) and scored on the whole test
split, for each of the five seeds. Three facts make it fast without changing a number:

* lbfgs ignores ``random_state``, so the five full-regime fits are identical: fit once.
* few-shot subsets depend only on labels and seed, so they are drawn once per task.
* the three metrics come from one confusion matrix (:mod:`stages.metrics`, bit-identical to
  scikit-learn's functions, which re-validate the labels three times per fit).

``tests/test_probe_equivalence.py`` runs the plain five-fits-per-regime protocol on real data and
asserts identical numbers. lbfgs stops at ``tol=1e-4`` in the embeddings' own dtype (float32 for
every extractor), so where it stops depends on the CPU's BLAS kernel at rounding level: these
numbers carry a machine noise floor (:mod:`stages.noise_floor`); :mod:`stages.exact_probe`
solves the same problem to convergence for numbers that do not.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from stages.errors import GenebError
from stages.metrics import classification_scores
from stages.spec import METRICS, Protocol


class ProbeInputError(GenebError, ValueError):
    """Embeddings or labels handed to the probe are unusable."""


@dataclass
class RegimeResult:
    """Scores of one task under one regime: per-seed values, their mean and std, and how each
    fit ended (``n_iter``; ``converged`` is false when the solver hit ``max_iter`` or failed)."""

    per_seed: dict[str, list[float]]
    seeds: list[int]
    converged: list[bool] = field(default_factory=list)
    n_iter: list[int] = field(default_factory=list)

    @property
    def mean(self) -> dict[str, float]:
        return {metric: float(np.mean(values)) for metric, values in self.per_seed.items()}

    @property
    def std(self) -> dict[str, float]:
        return {metric: float(np.std(values)) for metric, values in self.per_seed.items()}

    def fit_record(self) -> dict[str, list]:
        """Per-seed facts about the fits, beside the scores in a submission's ``per_seed``."""
        return {"converged": self.converged, "n_iter": self.n_iter}

    def to_json(self) -> dict:
        return {**self.mean, "std": self.std, "per_seed": self.per_seed, "seeds": self.seeds,
                **self.fit_record()}


def few_shot_indices(train_labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    """The published few-shot draw: a fresh ``RandomState(seed)``, classes in sorted order."""
    rng = np.random.RandomState(seed)
    parts = []
    for label in np.unique(train_labels):
        members = np.where(train_labels == label)[0]
        parts.append(rng.choice(members, size=min(k, len(members)), replace=False))
    return np.concatenate(parts)


def regime_rows(train_labels: np.ndarray, protocol: Protocol, regime: str, seed: int
                ) -> np.ndarray | None:
    """The training rows one fit of ``regime`` uses; ``None`` for the full regime (all rows,
    passed without a copy)."""
    k = protocol.regime_k(regime)
    return None if k is None else few_shot_indices(train_labels, k, seed)


def fit_and_score(
    train_X: np.ndarray, train_y: np.ndarray, test_X: np.ndarray, test_y: np.ndarray,
    seed: int, max_iter: int,
) -> tuple[dict[str, float], bool, int]:
    """One published-protocol fit: the scores, whether lbfgs converged, its iteration count."""
    model = LogisticRegression(max_iter=max_iter, random_state=seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(train_X, train_y)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return classification_scores(test_y, model.predict(test_X)), converged, int(model.n_iter_.max())


def _first_non_finite_row(X: np.ndarray, block_rows: int = 1024) -> int | None:
    """The first row holding NaN or infinity, checked a block at a time (no n x d mask)."""
    if not np.issubdtype(X.dtype, np.floating):
        return None
    for start in range(0, len(X), block_rows):
        bad = ~np.isfinite(X[start:start + block_rows]).all(axis=1)
        if bad.any():
            return start + int(np.argmax(bad))
    return None


_REAL_KINDS = "biuf"  # numpy dtype kinds the probe fits on: bool, signed, unsigned, float


def check_inputs(train_X: np.ndarray, train_y: np.ndarray, test_X: np.ndarray, test_y: np.ndarray,
                 where: str = "embeddings") -> None:
    """Reject what would make the probe silently wrong: shapes, NaN/inf, label mismatches."""
    for name, X, y in (("train", train_X, train_y), ("test", test_X, test_y)):
        if X.ndim != 2:
            raise ProbeInputError(f"{where}: {name}_X must be 2-D (n, d), got shape {X.shape}")
        if X.dtype.kind not in _REAL_KINDS:  # strings, complex, dates: the dtype, never the data
            raise ProbeInputError(f"{where}: {name}_X must hold real numbers, got dtype {X.dtype}")
        if X.shape[1] == 0:
            raise ProbeInputError(f"{where}: {name}_X has no columns (shape {X.shape})")
        if y.ndim != 1:
            raise ProbeInputError(f"{where}: {name}_y must be 1-D, got shape {y.shape}")
        if len(X) != len(y):
            raise ProbeInputError(f"{where}: {name}_X has {len(X)} rows but {name}_y has {len(y)}")
        if len(X) == 0:
            raise ProbeInputError(f"{where}: {name}_X is empty")
        if not np.issubdtype(y.dtype, np.integer):
            raise ProbeInputError(f"{where}: {name}_y must hold integer labels, got {y.dtype}")
        row = _first_non_finite_row(X)
        if row is not None:
            raise ProbeInputError(f"{where}: {name}_X row {row} holds NaN or infinity")
    if train_X.shape[1] != test_X.shape[1]:
        raise ProbeInputError(
            f"{where}: train_X has {train_X.shape[1]} dimensions but test_X has {test_X.shape[1]}"
        )
    classes = np.unique(train_y)
    if len(classes) < 2:
        raise ProbeInputError(f"{where}: train_y holds a single class {classes.tolist()}")
    unseen = np.setdiff1d(np.unique(test_y), classes)
    if unseen.size:
        raise ProbeInputError(f"{where}: test_y has classes {unseen.tolist()} absent from train_y")


def probe_task(
    train_X: np.ndarray, train_y: np.ndarray, test_X: np.ndarray, test_y: np.ndarray,
    protocol: Protocol, regimes: tuple[str, ...] = ("full", "10shot", "1shot"),
    where: str = "embeddings", row_order: np.random.Generator | None = None,
) -> dict[str, RegimeResult]:
    """Run the whole protocol on one task's embeddings.

    ``row_order`` (the noise floor's refits only) feeds each fit the same rows in a shuffled
    order: the same problem, summed in another order, as another machine would.
    """
    check_inputs(train_X, train_y, test_X, test_y, where)
    seeds = list(protocol.seeds)
    results: dict[str, RegimeResult] = {}
    for regime in regimes:
        fit_seeds = seeds[:1] if protocol.regime_k(regime) is None else seeds  # lbfgs: seed-free
        runs = []
        for seed in fit_seeds:
            rows = regime_rows(train_y, protocol, regime, seed)
            if row_order is not None:
                rows = row_order.permutation(len(train_y) if rows is None else rows)
            X, y = (train_X, train_y) if rows is None else (train_X[rows], train_y[rows])
            runs.append(fit_and_score(X, y, test_X, test_y, seed, protocol.max_iter))
        if len(runs) == 1:
            runs = runs * len(seeds)
        results[regime] = RegimeResult(
            per_seed={metric: [scores[metric] for scores, _, _ in runs] for metric in METRICS},
            seeds=seeds, converged=[ok for _, ok, _ in runs], n_iter=[it for _, _, it in runs])
    return results
