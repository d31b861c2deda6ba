"""MCC, accuracy and macro-F1 from one confusion matrix, bit-identical to scikit-learn's.

The probe scores every fit on the whole test split; scikit-learn's three metric functions each
re-validate the labels and cost about 5 ms together, more than a few-shot fit itself. Here the
confusion matrix is counted once with ``numpy.bincount`` and each metric follows scikit-learn's
own arithmetic (``matthews_corrcoef``, ``accuracy_score``, ``f1_score(average="macro")`` with
``zero_division`` giving 0), so every float is the same: ``tests/test_metrics.py`` checks ``==``
against scikit-learn on binary, multi-class and degenerate predictions.
"""

from __future__ import annotations

import numpy as np


def confusion_counts(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Counts over the sorted union of labels (rows: true, columns: predicted), as int64."""
    labels, codes = np.unique(np.concatenate([y_true, y_pred]), return_inverse=True)
    k = len(labels)
    true_codes, pred_codes = codes[: len(y_true)], codes[len(y_true):]
    return np.bincount(true_codes * k + pred_codes, minlength=k * k).reshape(k, k)


def scores_from_counts(counts: np.ndarray) -> dict[str, float]:
    """``MCC`` (multi-class form), ``Acc`` and macro ``F1`` of a confusion matrix."""
    t_sum = counts.sum(axis=1, dtype=np.float64)
    p_sum = counts.sum(axis=0, dtype=np.float64)
    n_correct = np.trace(counts, dtype=np.float64)
    n_samples = p_sum.sum()
    cov_ytyp = n_correct * n_samples - np.dot(t_sum, p_sum)
    cov_ypyp = n_samples**2 - np.dot(p_sum, p_sum)
    cov_ytyt = n_samples**2 - np.dot(t_sum, t_sum)
    product = cov_ypyp * cov_ytyt
    mcc = 0.0 if product == 0 else float(cov_ytyp / np.sqrt(product))

    tp = np.diagonal(counts).astype(np.float64)
    denominator = 1.0 * t_sum + p_sum  # F-beta with beta = 1: 2 tp / (true + predicted)
    empty = denominator == 0
    f1 = (2.0 * tp) / np.where(empty, 1.0, denominator)
    f1[empty] = 0.0
    return {"MCC": mcc, "Acc": float(n_correct / n_samples), "F1": float(np.mean(f1))}


def classification_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MCC, accuracy and macro-F1 of predictions, exactly as scikit-learn computes them."""
    return scores_from_counts(confusion_counts(np.asarray(y_true), np.asarray(y_pred)))
