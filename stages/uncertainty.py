"""How sure a score or a ranking is: seed intervals and bootstrap rank intervals.

Two sources of uncertainty, two methods (docs/uncertainty.md has the reasoning):

* **Seed intervals** (few-shot regimes). Each task's five per-seed scores give a Student-t 95%
  interval, ``mean ± t(0.975, n-1) · sd / sqrt(n)`` with the sample sd (``ddof=1``). Category and
  Macro intervals use the *per-seed aggregate*: seed ``i``'s Category/Macro is computed from every
  task's seed-``i`` score (by :mod:`stages.aggregate`, the one place means are taken), and the same
  t-interval is taken over those five values. Seeds are shared across tasks, so this keeps their
  correlation instead of assuming independent tasks. The full regime is deterministic (lbfgs
  ignores the seed), so its intervals have zero width.
* **Rank intervals** (any regime). A stratified bootstrap over tasks: each of ``n_resamples``
  replicates draws, within every category, as many tasks as the category has, with replacement;
  recomputes every model's Macro (mean of category means) and ranks the models (rank 1 = best,
  ties share the best rank). The 95% rank interval is the 2.5th and 97.5th percentile
  (``inverted_cdf``) of a model's ranks. Defaults: 1000 resamples, seed 20260.

Published submissions carry only per-task means (no per-seed scores; three are rounded to four
decimals): seed intervals cannot be computed for them, and their rank intervals reflect task
sampling only, not seed noise. :data:`PUBLISHED_LIMITS` says so wherever it matters.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from stages.aggregate import summarize_regime
from stages.errors import GenebError
from stages.spec import BenchmarkSpec
from stages.submission import Submission

LEVEL = 0.95
N_RESAMPLES = 1000
BOOTSTRAP_SEED = 20260
PUBLISHED_LIMITS = (
    "published submissions carry only per-task means over seeds (three are rounded to 4 decimals): "
    "seed intervals need the per-seed scores of a `geneb run` submission, and rank intervals of "
    "published models reflect which tasks were sampled, not seed-to-seed noise"
)


class NoPerSeedScores(GenebError, ValueError):
    """The submission has no per-seed scores (e.g. a published, means-only file)."""


@dataclass(frozen=True)
class Interval:
    """A mean with a two-sided interval; ``lo``/``hi`` are ``None`` when ``n < 2``."""

    mean: float
    lo: float | None
    hi: float | None
    n: int

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class RankInterval:
    """A model's rank by ``score`` (its Macro) and the bounds of its bootstrap rank interval."""

    rank: int
    lo: int
    hi: int
    score: float

    def label(self) -> str:
        """``"3 (2-6)"``, the leaderboard's display form."""
        return f"{self.rank} ({self.lo}-{self.hi})"


def t_interval(values: Sequence[float], level: float = LEVEL) -> Interval:
    """Student-t interval of the mean of ``values`` (sample sd, ``n - 1`` degrees of freedom)."""
    data = np.asarray(values, dtype=float)
    if data.size == 0 or not np.isfinite(data).all():
        raise ValueError(f"t_interval needs finite values, got {list(values)}")
    mean = float(data.mean())
    if data.size < 2:
        return Interval(mean, None, None, int(data.size))
    t_crit = float(stats.t.ppf(0.5 + level / 2, data.size - 1))
    half = t_crit * float(data.std(ddof=1)) / math.sqrt(data.size)
    return Interval(mean, mean - half, mean + half, int(data.size))


def _per_seed_block(submission: Submission, regime: str, task_ids: Sequence[str]
                    ) -> Mapping[str, Mapping]:
    name = submission.model_id
    block = submission.per_seed().get(regime)
    if not block:
        raise NoPerSeedScores(
            f"{name}: no run_settings.per_seed.{regime} (a means-only submission); "
            f"{PUBLISHED_LIMITS}"
        )
    missing = [task_id for task_id in task_ids if task_id not in block]
    if missing:
        raise NoPerSeedScores(f"{name}: run_settings.per_seed.{regime} lacks tasks {missing}")
    seeds = block[task_ids[0]].get("seeds")
    for task_id in task_ids:
        if block[task_id].get("seeds") != seeds:
            raise ValueError(
                f"{name}: run_settings.per_seed.{regime}.{task_id}.seeds "
                f"{block[task_id].get('seeds')} differ from {task_ids[0]}'s {seeds}; "
                "per-seed aggregates need shared seeds"
            )
    return block


def seed_intervals(
    submission: Submission, regime: str, metric: str, spec: BenchmarkSpec, level: float = LEVEL
) -> dict:
    """``{"tasks", "categories", "macro", "micro"}`` intervals over seeds for one regime and metric.

    Raises :class:`NoPerSeedScores` for a means-only submission.
    """
    task_ids = submission.task_ids(spec)
    block = _per_seed_block(submission, regime, task_ids)
    n_seeds = len(block[task_ids[0]]["seeds"])
    for task_id in task_ids:
        values = block[task_id].get(metric)
        if not isinstance(values, list) or len(values) != n_seeds:
            raise ValueError(
                f"{submission.model_id}: run_settings.per_seed.{regime}.{task_id}.{metric} "
                f"must be a list of {n_seeds} per-seed values, got {values!r}"
            )
    per_seed_summaries = [  # seed i's Category/Macro/Micro, computed from every task's seed-i score
        summarize_regime({t: {metric: block[t][metric][i]} for t in task_ids}, spec, task_ids)
        [metric] for i in range(n_seeds)
    ]
    categories = per_seed_summaries[0]["categories"]
    return {
        "regime": regime,
        "metric": metric,
        "level": level,
        "seeds": block[task_ids[0]]["seeds"],
        "tasks": {t: t_interval(block[t][metric], level) for t in task_ids},
        "categories": {
            c: t_interval([s["categories"][c] for s in per_seed_summaries], level)
            for c in categories
        },
        "macro": t_interval([s["macro"] for s in per_seed_summaries], level),
        "micro": t_interval([s["micro"] for s in per_seed_summaries], level),
    }


def score_matrix(
    submissions: Sequence[Submission], regime: str, metric: str, task_ids: Sequence[str]
) -> tuple[list[str], np.ndarray]:
    """Model ids and a models x tasks array of one regime's metric (NaN where missing or null)."""
    ids, rows = [], []
    for submission in submissions:
        results = submission.results.get(regime, {})
        row = [results.get(t, {}).get(metric) for t in task_ids]
        rows.append([np.nan if v is None else float(v) for v in row])
        ids.append(submission.model_id)
    return ids, np.asarray(rows, dtype=float).reshape(len(ids), len(task_ids))


def _column_groups(spec: BenchmarkSpec, task_ids: Sequence[str]) -> list[np.ndarray]:
    position = {t: i for i, t in enumerate(task_ids)}
    grouped = spec.tasks_by_category(tuple(task_ids))
    return [np.array([position[t] for t in ids]) for ids in grouped.values()]


def ranks_of(values: np.ndarray) -> np.ndarray:
    """Competition ranks along axis 0 (1 = highest value; ties share the best rank)."""
    return 1 + (values[None, :, ...] > values[:, None, ...]).sum(axis=1)


def resampled_aggregate(
    scores: np.ndarray, draws: Sequence[np.ndarray], kind: str = "macro"
) -> np.ndarray:
    """Macro or Micro of every model (rows) for every replicate.

    ``draws[c]`` is a replicates x tasks-in-category array of column indices into ``scores``;
    with each category's own columns as the only replicate this is the plain Macro/Micro.
    """
    blocks = [scores[:, cols] for cols in draws]  # models x replicates x tasks-in-category
    if kind == "micro":
        return np.concatenate(blocks, axis=2).mean(axis=2)
    if kind == "macro":
        return np.mean([block.mean(axis=2) for block in blocks], axis=0)
    raise ValueError(f"unknown aggregate {kind!r} (expected 'macro' or 'micro')")


def bootstrap_draws(groups: Sequence[np.ndarray], n_resamples: int = N_RESAMPLES,
                    seed: int = BOOTSTRAP_SEED) -> list[np.ndarray]:
    """Per category, ``n_resamples`` draws of as many of its tasks as it has, with replacement."""
    rng = np.random.default_rng(seed)
    return [cols[rng.integers(0, len(cols), size=(n_resamples, len(cols)))] for cols in groups]


def rank_intervals(
    submissions: Sequence[Submission], regime: str, metric: str, spec: BenchmarkSpec,
    task_ids: Sequence[str] | None = None, n_resamples: int = N_RESAMPLES,
    seed: int = BOOTSTRAP_SEED, level: float = LEVEL, kind: str = "macro",
) -> dict[str, RankInterval | None]:
    """Model id -> rank and bootstrap rank interval; ``None`` for a model missing any task.

    The point rank orders the models by their Macro (or Micro) from :mod:`stages.aggregate`.
    """
    task_ids = tuple(task_ids or spec.task_ids)
    ids, scores = score_matrix(submissions, regime, metric, task_ids)
    out: dict[str, RankInterval | None] = {model_id: None for model_id in ids}
    complete = np.flatnonzero(np.isfinite(scores).all(axis=1))
    if complete.size == 0:
        return out
    official = np.array([
        summarize_regime(submissions[i].results[regime], spec, task_ids)[metric][kind]
        for i in complete
    ])
    point = ranks_of(official)
    draws = bootstrap_draws(_column_groups(spec, task_ids), n_resamples, seed)
    boot = ranks_of(resampled_aggregate(scores[complete], draws, kind))
    tail = (1 - level) / 2
    lo = np.quantile(boot, tail, axis=1, method="inverted_cdf")
    hi = np.quantile(boot, 1 - tail, axis=1, method="inverted_cdf")
    for row, index in enumerate(complete):
        out[ids[index]] = RankInterval(int(point[row]), int(lo[row]), int(hi[row]),
                                       float(official[row]))
    return out


def rank_table(
    submissions: Sequence[Submission], spec: BenchmarkSpec, task_ids: Sequence[str] | None = None,
    regimes: Sequence[str] | None = None, metrics: Sequence[str] | None = None,
    n_resamples: int = N_RESAMPLES, seed: int = BOOTSTRAP_SEED,
) -> dict[str, dict[str, dict[str, RankInterval | None]]]:
    """``{regime: {metric: {model_id: RankInterval | None}}}`` of Macro rank intervals."""
    return {
        regime: {
            metric: rank_intervals(submissions, regime, metric, spec, task_ids, n_resamples, seed)
            for metric in (metrics or spec.metrics)
        }
        for regime in (regimes or spec.regimes)
    }


def intervals_to_json(result: Mapping) -> dict:
    """:func:`seed_intervals`'s result with every :class:`Interval` as a plain dict."""
    def plain(value):
        if isinstance(value, Interval):
            return value.to_json()
        if isinstance(value, Mapping):
            return {k: plain(v) for k, v in value.items()}
        return value
    return plain(result)


def format_seed_intervals(result: Mapping) -> str:
    """Per task, category, Macro and Micro: mean and 95% interval over seeds, as a table."""
    def cell(iv: Interval) -> str:
        if iv.lo is None:
            return f"{iv.mean:.4f}"
        return f"{iv.mean:.4f}  [{iv.lo:.4f}, {iv.hi:.4f}]"
    rows = [(name, cell(iv)) for name, iv in result["tasks"].items()]
    rows += [(f"[{name}]", cell(iv)) for name, iv in result["categories"].items()]
    rows += [("Macro", cell(result["macro"])), ("Micro", cell(result["micro"]))]
    width = max(len(name) for name, _ in rows)
    head = (f"{result['metric']}, regime {result['regime']}: mean over seeds {result['seeds']} "
            f"with {result['level']:.0%} t-interval (categories and Macro: per-seed aggregates)")
    return "\n".join([head, *(f"{name:<{width}}  {text}" for name, text in rows)])


def format_rank_intervals(ranks: Mapping[str, RankInterval | None], header: str) -> str:
    """Models by rank with their interval, e.g. ``3 (2-6)``; incomplete models last, unranked."""
    ordered = sorted(ranks, key=lambda m: (ranks[m] is None, ranks[m].rank if ranks[m] else 0, m))
    width = max(len(m) for m in ordered)
    lines = [header, f"{'rank (95%)':>12}  {'model':<{width}}  Macro"]
    for model_id in ordered:
        ri = ranks[model_id]
        label, score = (ri.label(), f"{ri.score:.4f}") if ri else ("n/a", "incomplete")
        lines.append(f"{label:>12}  {model_id:<{width}}  {score}")
    return "\n".join(lines)


def rank_fields(ranks: Mapping[str, Mapping[str, RankInterval | None]], model_id: str) -> dict:
    """Leaderboard row fields ``rank_<M>`` and ``rank_ci_<M>`` (``[lo, hi]``) of one regime."""
    fields: dict = {}
    for metric, by_model in ranks.items():
        ri = by_model.get(model_id)
        fields[f"rank_{metric}"] = ri.rank if ri else None
        fields[f"rank_ci_{metric}"] = [ri.lo, ri.hi] if ri else None
    return fields


def rank_interval_header(n_resamples: int = N_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> dict:
    """How the leaderboard's rank intervals were made (its ``rank_intervals`` key)."""
    return {
        "ranks_by": "macro", "level": LEVEL, "resamples": n_resamples, "seed": seed,
        "method": "stratified bootstrap over tasks within categories; percentile interval of "
                  "each model's ranks (docs/uncertainty.md)",
        "note": PUBLISHED_LIMITS,
    }
