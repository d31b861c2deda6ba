"""Category, Macro and Micro scores: the one place the benchmark's averages are computed.

Category = mean of its tasks; Macro = mean of the categories; Micro = mean of all tasks.
Missing-task policy: an aggregate over a set with a missing or null task is ``None`` (never a
mean over fewer tasks), so an incomplete model cannot look better than a complete one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from stages.spec import METRICS, BenchmarkSpec
from stages.submission import Submission

TaskScores = Mapping[str, Mapping[str, float | None]]  # task id -> metric -> value


def _mean(values: Sequence[float | None]) -> float | None:
    if not values or any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values):
        return None
    return float(sum(values) / len(values))  # type: ignore[arg-type]


def category_scores(
    scores: TaskScores, metric: str, spec: BenchmarkSpec, task_ids: Sequence[str]
) -> dict[str, float | None]:
    """Mean per category over the given tasks (categories in published order)."""
    return {
        category: _mean([scores.get(task_id, {}).get(metric) for task_id in ids])
        for category, ids in spec.tasks_by_category(tuple(task_ids)).items()
    }


def summarize_regime(
    scores: TaskScores, spec: BenchmarkSpec, task_ids: Sequence[str]
) -> dict[str, dict]:
    """``{metric: {"macro", "micro", "categories"}}`` for one regime over ``task_ids``."""
    summary = {}
    for metric in METRICS:
        categories = category_scores(scores, metric, spec, task_ids)
        summary[metric] = {
            "macro": _mean(list(categories.values())),
            "micro": _mean([scores.get(task_id, {}).get(metric) for task_id in task_ids]),
            "categories": categories,
        }
    return summary


def summarize(
    results: Mapping[str, TaskScores], spec: BenchmarkSpec, task_ids: Sequence[str]
) -> dict[str, dict]:
    """Summaries for every regime of a submission's ``results``."""
    return {regime: summarize_regime(results.get(regime, {}), spec, task_ids) for regime in spec.regimes}


def submission_summary(submission: Submission, spec: BenchmarkSpec) -> dict[str, dict]:
    """:func:`summarize` of a submission's protocol numbers over the tasks it ran on."""
    return summarize(submission.results, spec, submission.task_ids(spec))


def format_summary(submission: Submission, spec: BenchmarkSpec, metric: str = "MCC") -> str:
    """A small per-category table (one column per regime), e.g. for the end of a run."""
    summary = submission_summary(submission, spec)
    rows = [(category, [summary[r][metric]["categories"][category] for r in spec.regimes])
            for category in summary[spec.regimes[0]][metric]["categories"]]
    rows.append(("Macro", [summary[r][metric]["macro"] for r in spec.regimes]))
    rows.append(("Micro", [summary[r][metric]["micro"] for r in spec.regimes]))
    width = max(len(name) for name, _ in rows)
    lines = [f"{metric:<{width}}  " + "  ".join(f"{r:>7}" for r in spec.regimes)]
    for name, values in rows:
        cells = "  ".join(f"{v:7.3f}" if v is not None else f"{'n/a':>7}" for v in values)
        lines.append(f"{name:<{width}}  {cells}")
    return "\n".join(lines)
