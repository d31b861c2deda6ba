"""The published GENEB harness, written as plainly as possible.

Five fits per regime, one task after another, exactly as the reference harness ran. It exists so
that tests can prove :mod:`stages.probe` gives identical numbers and benchmarks can measure the
speed-up; nothing in the evaluation path uses it.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef


def reference_probe(
    train_X: np.ndarray, train_y: np.ndarray, test_X: np.ndarray, test_y: np.ndarray,
    seeds: list[int], few_shot_k: list[int], max_iter: int = 1000,
) -> dict[str, dict[str, list[float]]]:
    """Regime -> metric -> five per-seed values, each seed a separate fit (full regime included)."""
    regimes: dict[str, int | None] = {"full": None, **{f"{k}shot": k for k in few_shot_k}}
    out: dict[str, dict[str, list[float]]] = {}
    for regime, k in regimes.items():
        values: dict[str, list[float]] = {"MCC": [], "Acc": [], "F1": []}
        for seed in seeds:
            if k is None:
                X, y = train_X, train_y
            else:
                rng = np.random.RandomState(seed)
                chosen = []
                for label in np.unique(train_y):
                    idx = np.where(train_y == label)[0]
                    chosen.extend(rng.choice(idx, size=min(k, len(idx)), replace=False))
                X, y = train_X[chosen], train_y[chosen]
            clf = LogisticRegression(max_iter=max_iter, random_state=seed)
            clf.fit(X, y)
            pred = clf.predict(test_X)
            values["MCC"].append(matthews_corrcoef(test_y, pred))
            values["Acc"].append(accuracy_score(test_y, pred))
            values["F1"].append(f1_score(test_y, pred, average="macro"))
        out[regime] = values
    return out
