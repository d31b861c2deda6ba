"""The exact probe solves the protocol's problem to a certified optimum, on the protocol's rows."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import kmer_arrays
from sklearn.linear_model import LogisticRegression

from stages.exact_probe import EXACT_TOL, TIE_BAND, exact_probe_task, fit_exact, gradient_max, predict_many
from stages.probe import few_shot_indices, probe_task


def blobs(n: int, d: int, classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    X = rng.normal(size=(classes, d))[y] * 0.6 + rng.normal(size=(n, d))
    return X.astype(np.float32), y


def sklearn_optimum(X: np.ndarray, y: np.ndarray) -> LogisticRegression:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LogisticRegression(solver="newton-cholesky", tol=1e-15, max_iter=500).fit(
            X.astype(np.float64), y)


@pytest.mark.parametrize("n, d, classes", [(600, 30, 2), (40, 200, 2), (2, 64, 2), (500, 20, 3),
                                           (12, 50, 4)])
def test_reaches_scikit_learns_optimum(n, d, classes):
    """Same objective as LogisticRegression(C=1): same coefficients, gradient below tolerance;
    also when fewer rows than dimensions (row-space fit) and for multinomial."""
    X, y = blobs(n, d, classes)
    fit = fit_exact(X, y)
    reference = sklearn_optimum(X, y)
    assert fit.converged and fit.grad_max <= EXACT_TOL * max(1.0, float(np.abs(X).max()))
    scale = np.abs(reference.coef_).max()
    assert np.abs(fit.coef - reference.coef_).max() <= 1e-9 * scale
    if classes == 2:  # multinomial intercepts are defined up to a common shift
        assert fit.intercept[0] == pytest.approx(reference.intercept_[0], abs=1e-9 * scale)
    assert gradient_max(X, y, fit.classes, fit.coef, fit.intercept) == pytest.approx(fit.grad_max, abs=1e-15)
    pred, ties, _ = predict_many([fit], X)[0]
    assert ties == 0 and (pred == reference.predict(X.astype(np.float64))).all()


def test_float64_embeddings_take_the_same_path():
    X, y = blobs(300, 16, 2, seed=3)
    a, b = fit_exact(X, y), fit_exact(X.astype(np.float64), y)
    assert np.abs(a.coef - b.coef).max() < 1e-12 and a.converged and b.converged


def test_a_decision_on_the_boundary_is_decided_by_the_tie_rule():
    """Two training points of equal norm: a test row sharing no feature with them has decision
    exactly 0 in exact arithmetic. Its rounding-noise sign must not decide it: it goes to the
    first class, as scikit-learn decides an exact tie, and is counted."""
    X = np.zeros((2, 8), dtype=np.float32)
    X[0, :2] = X[1, 2:4] = 0.5
    fit = fit_exact(X, np.array([0, 1]))
    test = np.zeros((3, 8), dtype=np.float32)
    test[0, 4:] = 0.25   # shares nothing: on the boundary
    test[1, :2] = 0.5    # like the class-0 point
    test[2, 2:4] = 0.5   # like the class-1 point
    pred, ties, low = predict_many([fit], test)[0]
    assert pred.tolist() == [0, 0, 1] and ties == 1 and low > 1e3 * TIE_BAND
    flipped = type(fit)(fit.coef, fit.intercept + np.copysign(1e-18, -fit.intercept),
                        fit.classes, fit.n_iter, fit.grad_max, fit.tol, fit.solver)
    assert predict_many([flipped], test)[0][0].tolist() == [0, 0, 1]


@pytest.fixture(scope="module", params=["leannmlindsey_GUE_mouse_3", "leannmlindsey_GUE_prom_core_tata"])
def kmer4(request, lite):
    return kmer_arrays(lite, request.param)


def test_real_lite_task_every_fit_certified(kmer4, spec):
    results = exact_probe_task(*kmer4, spec.protocol, spec.regimes)
    assert set(results) == {"full", "10shot", "1shot"}
    scale = max(1.0, float(np.abs(kmer4[0]).max()))
    for regime, result in results.items():
        assert result.seeds == list(spec.protocol.seeds)
        assert all(result.converged) and max(result.grad_max) <= EXACT_TOL * scale, regime
        assert all(len(v) == 5 for v in result.per_seed.values())
        assert all(m > TIE_BAND for m in result.min_margin)
    full = results["full"].per_seed["MCC"]
    assert len(set(full)) == 1  # one seed-free fit, as the protocol's full regime


def test_same_rows_as_the_protocol(kmer4, spec):
    """The exact probe fits exactly the protocol's few-shot rows: identical rows, so two probes
    differ only in where the solver stops. A fit on other rows would give other numbers."""
    train_X, train_y, test_X, test_y = kmer4
    seed = spec.protocol.seeds[1]
    rows = few_shot_indices(train_y, 10, seed)
    fit = fit_exact(train_X[rows], train_y[rows])
    exact = exact_probe_task(*kmer4, spec.protocol, ("10shot",))["10shot"]
    pred = predict_many([fit], test_X)[0][0]
    assert exact.per_seed["Acc"][1] == float(np.mean(pred == test_y))
    other = fit_exact(train_X[rows[::-1][:-1]], train_y[rows[::-1][:-1]])
    assert np.abs(other.coef - fit.coef).max() > 1e-6
    protocol = probe_task(*kmer4, spec.protocol, ("10shot",))["10shot"]
    assert protocol.seeds == exact.seeds
