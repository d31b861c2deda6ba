"""The GENEB linear probe, exactly as published.

``LogisticRegression(max_iter=1000, random_state=seed)`` with every other setting at its
scikit-learn default, fit on train (or a few-shot subset of it) and scored on the whole test
split, for each of the five seeds. Two facts make it fast without changing a number:

* lbfgs ignores ``random_state``, so the five full-regime fits are identical: fit once.
* few-shot subsets depend only on labels and seed, so they are drawn once per task.

``tests/test_probe_equivalence.py`` runs the plain five-fits-per-regime protocol on real data and
asserts identical numbers.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

from stages.spec import METRICS, Protocol


class ProbeInputError(ValueError):
    """Embeddings or labels handed to the probe are unusable."""


@dataclass
class RegimeResult:
    """Scores of one task under one regime: the per-seed values and their mean and std."""

    per_seed: dict[str, list[float]]
    seeds: list[int]
    converged: list[bool] = field(default_factory=list)

    @property
    def mean(self) -> dict[str, float]:
        return {metric: float(np.mean(values)) for metric, values in self.per_seed.items()}

    @property
    def std(self) -> dict[str, float]:
        return {metric: float(np.std(values)) for metric, values in self.per_seed.items()}

    def to_json(self) -> dict:
        return {**self.mean, "std": self.std, "per_seed": self.per_seed, "seeds": self.seeds,
                "converged": self.converged}


def few_shot_indices(train_labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    """The published few-shot draw: a fresh ``RandomState(seed)``, classes in sorted order."""
    rng = np.random.RandomState(seed)
    parts = []
    for label in np.unique(train_labels):
        members = np.where(train_labels == label)[0]
        parts.append(rng.choice(members, size=min(k, len(members)), replace=False))
    return np.concatenate(parts)


def score(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MCC (multi-class form), accuracy and macro-F1."""
    return {
        "MCC": float(matthews_corrcoef(y_true, y_pred)),
        "Acc": float(accuracy_score(y_true, y_pred)),
        "F1": float(f1_score(y_true, y_pred, average="macro")),
    }


def fit_and_score(
    train_X: np.ndarray, train_y: np.ndarray, test_X: np.ndarray, test_y: np.ndarray,
    seed: int, max_iter: int,
) -> tuple[dict[str, float], bool]:
    """One published-protocol fit; returns the scores and whether lbfgs converged."""
    model = LogisticRegression(max_iter=max_iter, random_state=seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(train_X, train_y)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return score(test_y, model.predict(test_X)), converged


def check_inputs(train_X: np.ndarray, train_y: np.ndarray, test_X: np.ndarray, test_y: np.ndarray,
                 where: str = "embeddings") -> None:
    """Reject what would make the probe silently wrong: shapes, NaN/inf, label mismatches."""
    for name, X, y in (("train", train_X, train_y), ("test", test_X, test_y)):
        if X.ndim != 2:
            raise ProbeInputError(f"{where}: {name}_X must be 2-D (n, d), got shape {X.shape}")
        if y.ndim != 1:
            raise ProbeInputError(f"{where}: {name}_y must be 1-D, got shape {y.shape}")
        if len(X) != len(y):
            raise ProbeInputError(f"{where}: {name}_X has {len(X)} rows but {name}_y has {len(y)}")
        if len(X) == 0:
            raise ProbeInputError(f"{where}: {name}_X is empty")
        if not np.issubdtype(y.dtype, np.integer):
            raise ProbeInputError(f"{where}: {name}_y must hold integer labels, got {y.dtype}")
        bad = ~np.isfinite(X)
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
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
    where: str = "embeddings",
) -> dict[str, RegimeResult]:
    """Run the whole protocol on one task's embeddings."""
    check_inputs(train_X, train_y, test_X, test_y, where)
    seeds = list(protocol.seeds)
    results: dict[str, RegimeResult] = {}
    for regime in regimes:
        k = protocol.regime_k(regime)
        per_seed: dict[str, list[float]] = {metric: [] for metric in METRICS}
        converged: list[bool] = []
        if k is None:
            scores, ok = fit_and_score(train_X, train_y, test_X, test_y, seeds[0], protocol.max_iter)
            runs = [(scores, ok)] * len(seeds)
        else:
            runs = []
            for seed in seeds:
                rows = few_shot_indices(train_y, k, seed)
                runs.append(fit_and_score(train_X[rows], train_y[rows], test_X, test_y,
                                          seed, protocol.max_iter))
        for scores, ok in runs:
            for metric in METRICS:
                per_seed[metric].append(scores[metric])
            converged.append(ok)
        results[regime] = RegimeResult(per_seed=per_seed, seeds=seeds, converged=converged)
    return results
