"""The exact probe: the protocol's logistic regression, solved in float64 to convergence.

Same problem as the published protocol (scikit-learn's ``LogisticRegression`` objective with
``C=1``: mean log-loss plus ``||W||^2 / (2 C n)``, intercepts unpenalised, multinomial for more
than two classes), same rows, seeds and few-shot draws. The protocol's lbfgs stops at
``tol=1e-4`` in float32, at a point that depends on the CPU's BLAS kernel; here every fit is
driven to ``max |gradient| <= EXACT_TOL * max(1, max|x|)`` in float64. The optimum is unique,
so every machine lands on it to within ~1e-13 and the predictions, hence MCC, accuracy and F1,
are identical under any BLAS kernel or thread count.

What convergence cannot settle is a test row whose decision value is, mathematically, zero or
within rounding of it: its sign is noise. Rows within a relative ``TIE_BAND`` of the boundary
are therefore decided by a fixed rule (:func:`predict_many`), and each fit records how many
there were (``ties``) and the smallest relative margin among the rest (``min_margin``): the
distance of every other prediction from that band.

Solver (chosen for speed; correctness rests on the float64 gradient certificate, ``grad_max``):

* two classes: damped Newton. Loss and gradient are float64, one cached row block at a time (no
  float64 copy of the training matrix). The Hessian ``X^T diag(p(1-p)) X`` only steers the step,
  so it is accumulated with ``syrk`` in the embeddings' own dtype and reused while chord steps
  converge fast enough; early steps use float32 products. See :func:`_newton_binary`.
* more than two classes: scikit-learn's ``newton-cholesky`` (``newton-cg`` when the
  multinomial Hessian would be too large), float64 inputs, the same tolerance.
* fewer rows than dimensions (every few-shot fit): the solution lies in the row space of ``X``
  (representer theorem), so the fit runs on ``n`` coordinates ``X = R^T Q^T`` (``X^T = QR``),
  ``w = Q u``: the same optimum at a fraction of the cost.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
from scipy.linalg import blas
from scipy.special import expit, softmax

from stages.metrics import classification_scores
from stages.probe import RegimeResult, check_inputs, regime_rows
from stages.spec import METRICS, Protocol

PROTOCOL_C = 1.0  # scikit-learn's default, which the published protocol used
EXACT_TOL = 1e-14  # max |gradient| of scikit-learn's objective, relative to max(1, max|x|)
TIE_BAND = 1e-11  # relative decision margin below which a test row lies on the boundary
MAX_NEWTON_STEPS = 100
_BLOCK_VALUES = 1 << 20  # values per row block: 8 MB in float64, stays in cache
_DENSE_HESSIAN_LIMIT = 4096  # multinomial: newton-cholesky up to this many coefficients


@dataclass(frozen=True)
class ExactFit:
    """One converged fit: coefficients in the original feature space and its certificate."""

    coef: np.ndarray  # (1, d) for two classes (positive class = classes[1]), else (K, d)
    intercept: np.ndarray
    classes: np.ndarray
    n_iter: int
    grad_max: float  # max |gradient| of scikit-learn's objective at ``coef, intercept``
    tol: float
    solver: str

    @property
    def converged(self) -> bool:
        return self.grad_max <= self.tol


@dataclass
class ExactRegimeResult(RegimeResult):
    """:class:`RegimeResult` plus each fit's certificate and near-tie count."""

    grad_max: list[float] = field(default_factory=list)
    ties: list[int] = field(default_factory=list)
    min_margin: list[float] = field(default_factory=list)

    def fit_record(self) -> dict[str, list]:
        return {**super().fit_record(), "grad_max": self.grad_max, "ties": self.ties,
                "min_margin": self.min_margin}


def _row_blocks(n_rows: int, n_cols: int) -> Iterator[slice]:
    step = max(1, _BLOCK_VALUES // max(n_cols, 1))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def _as_float64(array: np.ndarray) -> np.ndarray:
    return np.asarray(array, dtype=np.float64)


def _block_buffer(X: np.ndarray) -> np.ndarray | None:
    """A float64 buffer for one row block of float32 ``X`` (``None`` when ``X`` is float64)."""
    if X.dtype == np.float64:
        return None
    return np.empty((min(len(X), max(1, _BLOCK_VALUES // max(X.shape[1], 1))), X.shape[1]))


def _float64_blocks(X: np.ndarray, buffer: np.ndarray | None = None
                    ) -> Iterator[tuple[slice, np.ndarray]]:
    """Row blocks of ``X`` in float64, cast into one buffer that a whole fit reuses: a float64
    pass over float32 embeddings costs no n x d copy, and no fresh memory (on a virtual machine,
    faulting in fresh pages costs more than the pass itself)."""
    if X.dtype == np.float64:
        for rows in _row_blocks(*X.shape):
            yield rows, X[rows]
        return
    buffer = _block_buffer(X) if buffer is None else buffer
    for rows in _row_blocks(*X.shape):
        block = buffer[: rows.stop - rows.start]
        np.copyto(block, X[rows])
        yield rows, block


def _binary_loss_grad(X: np.ndarray, y01: np.ndarray, theta: np.ndarray, lam: float,
                      precise: bool = True, buffer: np.ndarray | None = None
                      ) -> tuple[float, np.ndarray, np.ndarray]:
    """Sum-scaled objective ``sum(log-loss) + lam/2 ||w||^2``, its gradient and the logits.

    ``precise``: float64 throughout, one cached row block at a time. Otherwise the two
    products run in the embeddings' float32 (half the memory traffic, no casts): good enough
    to steer while the gradient is still large, never used to certify.
    """
    d = X.shape[1]
    w, b = theta[:d], theta[d]
    grad = np.zeros(d + 1)
    if not precise:
        logits = (X @ w.astype(X.dtype)).astype(np.float64) + b
        residual = expit(logits) - y01
        grad[:d] = residual.astype(X.dtype) @ X
        grad[d] = residual.sum()
        loss = float(np.sum(np.logaddexp(0.0, logits) - y01 * logits))
    else:
        logits = np.empty(len(X))
        loss = 0.0
        for rows, block in _float64_blocks(X, buffer):
            z = block @ w + b
            logits[rows] = z
            loss += float(np.sum(np.logaddexp(0.0, z) - y01[rows] * z))
            residual = expit(z) - y01[rows]
            grad[:d] += residual @ block
            grad[d] += residual.sum()
    loss += 0.5 * lam * float(w @ w)
    grad[:d] += lam * w
    return loss, grad, logits


def _binary_hessian(X: np.ndarray, logits: np.ndarray, lam: float, in_float64: bool = False
                    ) -> np.ndarray:
    """Lower triangle of the sum-scaled Hessian (intercept last).

    Accumulated in place by ``syrk`` one row block at a time, in float32 for float32
    embeddings: it only steers the Newton step (the gradient certifies the result). The loop
    calls scipy's BLAS only: numpy and scipy each bring an OpenBLAS, and alternating between
    the two makes their spinning worker threads fight over the cores (measured: 2.5x slower).
    """
    d = X.shape[1]
    weight = expit(logits)
    weight *= 1.0 - weight
    dtype = np.float64 if in_float64 else X.dtype
    syrk = blas.dsyrk if dtype == np.float64 else blas.ssyrk
    root = np.sqrt(weight).astype(dtype)
    gram = np.zeros((d, d), dtype=dtype, order="F")
    scaled = np.empty((min(len(X), max(1, _BLOCK_VALUES // max(d, 1))), d), dtype=dtype)
    for rows in _row_blocks(*X.shape):
        block = scaled[: rows.stop - rows.start]
        np.multiply(X[rows], root[rows, None], out=block)
        gram = syrk(1.0, block.T, beta=1.0, c=gram, lower=1, overwrite_c=1)
    hessian = np.zeros((d + 1, d + 1))
    hessian[:d, :d] = gram
    hessian[d, :d] = weight.astype(X.dtype) @ X
    hessian[d, d] = weight.sum()
    hessian[np.diag_indices(d)] += lam
    return hessian


def _factor(X: np.ndarray, logits: np.ndarray, lam: float) -> tuple:
    try:
        return scipy.linalg.cho_factor(_binary_hessian(X, logits, lam), lower=True,
                                       check_finite=False)
    except np.linalg.LinAlgError:  # float32 rounding broke positive definiteness: redo in float64
        return scipy.linalg.cho_factor(_binary_hessian(X, logits, lam, in_float64=True),
                                       lower=True, check_finite=False)


def _refresh_pays(decrement_ratio: float, grad_max: float, tol: float, d: int) -> bool:
    """Whether a new Hessian (about ``3 + d/64`` passes' worth of time, measured on float32
    embeddings) beats continuing with the old one at the contraction it now achieves."""
    rate = np.sqrt(max(decrement_ratio, 0.0))
    if rate >= 0.5:
        return True
    if rate == 0.0 or grad_max <= tol:
        return False
    return np.log(tol / grad_max) / np.log(rate) > 3 + d / 64


def _newton_binary(X: np.ndarray, y01: np.ndarray, lam: float, tol_sum: float
                   ) -> tuple[np.ndarray, int, float]:
    """Minimise the sum-scaled objective; returns theta, Newton steps and max |gradient|.

    The Hessian factor is kept while chord steps with it converge fast enough to beat a
    refresh (:func:`_refresh_pays`), and refreshed after a damped step. Float32 embeddings are first stepped
    with float32 products, while full steps keep halving the gradient and it is above a
    thousandth of where it started; from then on every evaluation is float64.
    """
    theta = np.zeros(X.shape[1] + 1)
    precise = X.dtype != np.float32
    buffer = _block_buffer(X)
    loss, grad, logits = _binary_loss_grad(X, y01, theta, lam, precise, buffer)
    switch_below = 1e-3 * np.max(np.abs(grad))
    factor, fresh, steps, decrement = None, False, 0, np.inf
    while (not precise or np.max(np.abs(grad)) > tol_sum) and steps < MAX_NEWTON_STEPS:
        if not precise and np.max(np.abs(grad)) <= switch_below:
            precise = True
            loss, grad, logits = _binary_loss_grad(X, y01, theta, lam, buffer=buffer)
        step = None if factor is None else -scipy.linalg.cho_solve(factor, grad, check_finite=False)
        if step is None or (not fresh and _refresh_pays(-float(grad @ step) / decrement,
                                                        np.max(np.abs(grad)), tol_sum, X.shape[1])):
            factor, fresh = _factor(X, logits, lam), True
            step = -scipy.linalg.cho_solve(factor, grad, check_finite=False)
        slope, t = float(grad @ step), 1.0
        while t > 1e-10:
            trial = _binary_loss_grad(X, y01, theta + t * step, lam, precise, buffer)
            tiny = abs(trial[0] - loss) <= 64 * np.finfo(float).eps * abs(loss)
            if trial[0] <= loss + 1e-4 * t * slope or (
                    tiny and np.max(np.abs(trial[1])) < np.max(np.abs(grad))):
                break
            t *= 0.5
            if not precise:  # float32 rounding, not the curvature, is the likely obstacle
                break
        else:
            if fresh:  # no progress even with an up-to-date Hessian: the rounding floor
                break
            factor = None
            continue
        if not precise and (t < 1.0 or np.max(np.abs(trial[1])) > 0.5 * np.max(np.abs(grad))):
            switch_below = np.inf  # float32 stopped paying off: discard the step, go float64
            continue
        theta = theta + t * step
        loss, grad, logits = trial
        steps, decrement, fresh = steps + 1, -slope, False
        if t < 1.0:
            factor = None  # a damped step: the Hessian no longer describes the curvature
    return theta, steps, float(np.max(np.abs(grad)))


def _fit_multinomial(Z: np.ndarray, y: np.ndarray, n_classes: int, tol: float
                     ) -> tuple[np.ndarray, np.ndarray, int, str]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    solver = ("newton-cholesky" if n_classes * (Z.shape[1] + 1) <= _DENSE_HESSIAN_LIMIT
              else "newton-cg")
    model = LogisticRegression(C=PROTOCOL_C, solver=solver, tol=tol, max_iter=MAX_NEWTON_STEPS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # reported through grad_max instead
        model.fit(_as_float64(Z), y)
    return model.coef_, model.intercept_, int(model.n_iter_.max()), f"scikit-learn {solver}"


def gradient_max(X: np.ndarray, y: np.ndarray, classes: np.ndarray, coef: np.ndarray,
                 intercept: np.ndarray, C: float = PROTOCOL_C) -> float:
    """max |gradient| of scikit-learn's objective (mean loss) at ``coef, intercept``, in float64."""
    n = len(X)
    grad_w, grad_b = np.zeros_like(coef), np.zeros_like(intercept)
    for rows, block in _float64_blocks(X):
        logits = block @ coef.T + intercept
        if len(classes) == 2:
            residual = expit(logits) - (y[rows] == classes[1])[:, None]
        else:
            residual = softmax(logits, axis=1) - (y[rows][:, None] == classes[None, :])
        grad_w += residual.T @ block
        grad_b += residual.sum(axis=0)
    grad_w = grad_w / n + coef / (C * n)
    return float(max(np.max(np.abs(grad_w)), np.max(np.abs(grad_b / n))))


def fit_exact(X: np.ndarray, y: np.ndarray, C: float = PROTOCOL_C) -> ExactFit:
    """Fit the protocol's L2 logistic regression to a certified optimum (see the module doc)."""
    if X.dtype not in (np.float32, np.float64):
        X = _as_float64(X)
    classes = np.unique(y)
    n, d = X.shape
    tol = EXACT_TOL * max(1.0, float(X.max()), float(-X.min()))
    basis = None
    Z = X
    if n < d:
        q, r = np.linalg.qr(_as_float64(X).T)  # X^T = Q R, so X = R^T Q^T and w = Q u
        Z, basis = r.T, q
    if len(classes) == 2:
        theta, n_iter, grad_sum = _newton_binary(Z, (y == classes[1]).astype(np.float64),
                                                 1.0 / C, tol * n)
        coef, intercept, solver = theta[None, :-1], theta[-1:], "newton"
        grad = grad_sum / n
    else:
        coef, intercept, n_iter, solver = _fit_multinomial(Z, y, len(classes), tol)
        grad = None
    if basis is not None:
        coef = coef @ basis.T
        solver += " on the row space"
        grad = None
    if grad is None:
        grad = gradient_max(X, y, classes, coef, intercept, C)
    return ExactFit(coef, intercept, classes, n_iter, grad, tol, solver)


def predict_many(fits: list[ExactFit], test_X: np.ndarray
                 ) -> list[tuple[np.ndarray, int, float]]:
    """Each fit's predictions, tie count and smallest decided margin, in one pass over the test set.

    A decision ``x.w + b`` within ``TIE_BAND`` of the boundary, relative to
    ``||x|| ||w|| + |b|`` (the size the solution's and rounding's errors scale with: a row
    orthogonal to ``w`` still sees any error in ``w``), is taken to lie on it and is decided as
    scikit-learn decides an exact tie: the first of the tied classes. Such rows are common in
    few-shot fits on sparse features: a test sequence sharing no k-mer with the two 1-shot
    training sequences sits exactly on the boundary when their k-mer vectors have equal norms,
    and without the rule its label would be the sign of the machine's rounding. On real data the
    relative margins of such rows stay below 1e-13 and all others lie above 1e-10
    (docs/reproducibility.md).
    """
    coef = np.concatenate([fit.coef for fit in fits])
    intercept = np.concatenate([fit.intercept for fit in fits])
    decision = np.empty((len(test_X), len(coef)))
    row_norm = np.empty(len(test_X))
    for rows, block in _float64_blocks(test_X):
        decision[rows] = block @ coef.T + intercept
        row_norm[rows] = np.linalg.norm(block, axis=1)
    out, column = [], 0
    for fit in fits:
        width = len(fit.coef)
        dec = decision[:, column:column + width]
        column += width
        scale = row_norm * np.linalg.norm(fit.coef, axis=1).max() + np.abs(fit.intercept).max()
        scale = np.maximum(scale * (1 if width == 1 else 2), np.finfo(float).tiny)
        if width == 1:
            margin = np.abs(dec[:, 0]) / scale
            tie = margin < TIE_BAND
            pred = fit.classes[((dec[:, 0] > 0) & ~tie).astype(int)]
        else:
            runner_up, best = np.sort(dec, axis=1)[:, -2:].T
            margin = (best - runner_up) / scale
            tie = margin < TIE_BAND
            pred = fit.classes[np.argmax(dec >= (best - TIE_BAND * scale)[:, None], axis=1)]
        decided = margin[~tie]
        out.append((pred, int(tie.sum()), float(decided.min()) if decided.size else 0.0))
    return out


def exact_probe_task(
    train_X: np.ndarray, train_y: np.ndarray, test_X: np.ndarray, test_y: np.ndarray,
    protocol: Protocol, regimes: tuple[str, ...] = ("full", "10shot", "1shot"),
    where: str = "embeddings",
) -> dict[str, ExactRegimeResult]:
    """The exact probe on one task: per regime and seed, scores and fit certificates."""
    check_inputs(train_X, train_y, test_X, test_y, where)
    seeds = list(protocol.seeds)
    plan: list[tuple[str, ExactFit]] = []
    for regime in regimes:
        fit_seeds = seeds[:1] if protocol.regime_k(regime) is None else seeds  # seed-free fit
        for seed in fit_seeds:
            rows = regime_rows(train_y, protocol, regime, seed)
            X, y = (train_X, train_y) if rows is None else (train_X[rows], train_y[rows])
            plan.append((regime, fit_exact(X, y)))
    predictions = predict_many([fit for _, fit in plan], test_X)
    results: dict[str, ExactRegimeResult] = {}
    for regime in regimes:
        runs = [(fit, *pred) for (name, fit), pred in zip(plan, predictions, strict=True)
                if name == regime]
        if len(runs) == 1:
            runs = runs * len(seeds)
        scores = [classification_scores(test_y, pred) for _, pred, _, _ in runs]
        results[regime] = ExactRegimeResult(
            per_seed={metric: [s[metric] for s in scores] for metric in METRICS}, seeds=seeds,
            converged=[fit.converged for fit, *_ in runs], n_iter=[fit.n_iter for fit, *_ in runs],
            grad_max=[fit.grad_max for fit, *_ in runs], ties=[ties for *_, ties, _ in runs],
            min_margin=[low for *_, low in runs])
    return results
