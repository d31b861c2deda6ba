"""The probe's confusion-matrix metrics are scikit-learn's, float for float (``==``, not approx)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

from stages.metrics import classification_scores, confusion_counts


def sklearn_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)  # "a single label was found"
        return {"MCC": float(matthews_corrcoef(y_true, y_pred)),
                "Acc": float(accuracy_score(y_true, y_pred)),
                "F1": float(f1_score(y_true, y_pred, average="macro"))}


CASES = {
    "balanced binary": (np.repeat([0, 1], 500), None),
    "three classes": (np.repeat([0, 1, 2], [300, 200, 100]), None),
    "nine classes, labels not 0..k": (np.repeat(np.arange(3, 21, 2), 40), None),
    "all predicted one class": (np.repeat([0, 1], 50), np.zeros(100, dtype=int)),
    "prediction has a label the truth lacks": (np.repeat([0, 1], 50), np.repeat([0, 2], 50)),
    "perfect": (np.repeat([0, 1, 2], 10), np.repeat([0, 1, 2], 10)),
    "all wrong": (np.repeat([0, 1], 10), np.repeat([1, 0], 10)),
    "one sample": (np.array([1]), np.array([1])),
}


@pytest.mark.parametrize("name", CASES)
def test_equal_to_sklearn(name):
    y_true, y_pred = CASES[name]
    rng = np.random.default_rng(len(name))
    if y_pred is None:  # a noisy classifier: 60% right, the rest uniform over the labels
        labels = np.unique(y_true)
        y_pred = np.where(rng.random(len(y_true)) < 0.6, y_true, rng.choice(labels, len(y_true)))
    assert classification_scores(y_true, y_pred) == sklearn_scores(y_true, y_pred)


def test_equal_to_sklearn_on_many_random_predictions():
    rng = np.random.default_rng(0)
    for _ in range(300):
        k = int(rng.integers(2, 6))
        n = int(rng.integers(1, 400))
        y_true, y_pred = rng.integers(0, k, n), rng.integers(0, k, n)
        assert classification_scores(y_true, y_pred) == sklearn_scores(y_true, y_pred)


def test_confusion_counts_rows_are_truth_columns_prediction():
    counts = confusion_counts(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 1]))
    assert counts.tolist() == [[1, 1, 0], [0, 1, 0], [0, 1, 0]]
