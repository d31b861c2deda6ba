"""``geneb compare A B``: two submissions side by side, task by task, with a paired test.

Per task the difference ``A - B``; per category the mean difference (by :mod:`stages.aggregate`);
Macro and Micro of both; how many tasks each wins (a difference within ``TIE_TOLERANCE`` is a tie:
published files carry four decimals); and a Wilcoxon signed-rank test across tasks (scipy; ties
dropped, ``zero_method="wilcox"``) with the matched-pairs rank-biserial correlation
``r = (W+ - W-) / (W+ + W-)`` as effect size (+1: A better on every task, -1: B on every task).
Tasks are not independent draws (categories differ in size and kind), so read the p-value as a
description of how consistently one model leads, not as a population claim.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import stats

from stages.aggregate import category_scores, summarize_regime
from stages.spec import BenchmarkSpec
from stages.submission import Submission

TIE_TOLERANCE = 1e-4


def _wilcoxon(diffs: np.ndarray) -> dict[str, Any]:
    nonzero = diffs[diffs != 0]
    result: dict[str, Any] = {"n": int(nonzero.size), "statistic": None, "p_value": None,
                              "w_plus": None, "w_minus": None, "rank_biserial": None}
    if nonzero.size == 0:
        return result
    ranks = stats.rankdata(np.abs(nonzero))
    w_plus, w_minus = float(ranks[nonzero > 0].sum()), float(ranks[nonzero < 0].sum())
    test = stats.wilcoxon(nonzero, zero_method="wilcox", alternative="two-sided")
    result.update(statistic=float(test.statistic), p_value=float(test.pvalue), w_plus=w_plus,
                  w_minus=w_minus, rank_biserial=(w_plus - w_minus) / (w_plus + w_minus))
    return result


def compare(a: Submission, b: Submission, spec: BenchmarkSpec, regime: str = "full",
            metric: str | None = None, allow_mixed_suites: bool = False,
            tie_tolerance: float = TIE_TOLERANCE) -> dict[str, Any]:
    """The comparison as a JSON-ready dict (see the module docstring for every quantity)."""
    metric = metric or spec.primary_metric
    if regime not in spec.regimes or metric not in spec.metrics:
        raise ValueError(f"unknown regime {regime!r} or metric {metric!r}; "
                         f"regimes {list(spec.regimes)}, metrics {list(spec.metrics)}")
    if a.suite != b.suite and not allow_mixed_suites:
        raise ValueError(
            f"{a.model_id} ran on suite {a.suite!r} and {b.model_id} on {b.suite!r}: "
            "their test data differ, so their scores are not comparable (--allow-mixed-suites "
            "compares them anyway)"
        )
    scores = [s.results.get(regime, {}) for s in (a, b)]
    tasks_b = set(b.task_ids(spec))
    common = [t for t in a.task_ids(spec) if t in tasks_b and all(
        sc.get(t, {}).get(metric) is not None for sc in scores)]
    if not common:
        raise ValueError(f"{a.model_id} and {b.model_id} share no scored task in {regime}")
    values = np.array([[sc[t][metric] for t in common] for sc in scores], dtype=float)
    diffs = values[0] - values[1]
    diffs[np.abs(diffs) <= tie_tolerance] = 0.0
    diff_of = dict(zip(common, diffs.tolist(), strict=True))
    summaries = [summarize_regime(sc, spec, common)[metric] for sc in scores]
    cats = [category_scores(sc, metric, spec, common) for sc in scores]
    categories = []
    for category, ids in spec.tasks_by_category(tuple(common)).items():
        d = np.array([diff_of[t] for t in ids])
        categories.append({
            "category": category, "n": len(ids), "a": cats[0][category], "b": cats[1][category],
            "diff": cats[0][category] - cats[1][category],
            "wins_a": int((d > 0).sum()), "wins_b": int((d < 0).sum()), "ties": int((d == 0).sum()),
        })
    return {
        "a": {"model_id": a.model_id, "suite": a.suite},
        "b": {"model_id": b.model_id, "suite": b.suite},
        "regime": regime, "metric": metric, "tie_tolerance": tie_tolerance,
        "n_tasks": len(common),
        "tasks": [{"task": t, "category": spec.task(t).category, "a": float(values[0][i]),
                   "b": float(values[1][i]), "diff": diff_of[t]} for i, t in enumerate(common)],
        "categories": categories,
        **{kind: {"a": summaries[0][kind], "b": summaries[1][kind],
                  "diff": summaries[0][kind] - summaries[1][kind]} for kind in ("macro", "micro")},
        "wins": {"a": int((diffs > 0).sum()), "b": int((diffs < 0).sum()),
                 "ties": int((diffs == 0).sum())},
        "wilcoxon": _wilcoxon(diffs),
    }


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    fmt = [str.ljust] + [str.rjust] * (len(header) - 1)
    return ["  ".join(f(c, w) for f, c, w in zip(fmt, row, widths, strict=True))
            for row in [header, *rows]]


def format_comparison(result: Mapping[str, Any]) -> str:
    """A readable plain-text report of :func:`compare`'s result."""
    a, b = result["a"]["model_id"], result["b"]["model_id"]
    lines = [f"{result['metric']}, regime {result['regime']}: A = {a} ({result['a']['suite']}), "
             f"B = {b} ({result['b']['suite']}), {result['n_tasks']} tasks", ""]
    lines += _table(("task", "category", "A", "B", "A-B"), [
        (t["task"], t["category"], f"{t['a']:.4f}", f"{t['b']:.4f}", f"{t['diff']:+.4f}")
        for t in result["tasks"]])
    lines.append("")
    rows = [(c["category"], str(c["n"]), f"{c['a']:.4f}", f"{c['b']:.4f}", f"{c['diff']:+.4f}",
             f"{c['wins_a']}/{c['wins_b']}/{c['ties']}") for c in result["categories"]]
    rows += [(kind.capitalize(), "", f"{result[kind]['a']:.4f}", f"{result[kind]['b']:.4f}",
              f"{result[kind]['diff']:+.4f}", "") for kind in ("macro", "micro")]
    lines += _table(("category", "tasks", "A", "B", "A-B", "wins A/B/tie"), rows)
    wins, test = result["wins"], result["wilcoxon"]
    lines += ["", f"wins: A {wins['a']}, B {wins['b']}, ties {wins['ties']} "
              f"(|A-B| <= {result['tie_tolerance']:g} is a tie)"]
    if test["p_value"] is None:
        lines.append("Wilcoxon signed-rank: not computed (every task is a tie)")
    else:
        lines.append(f"Wilcoxon signed-rank over {test['n']} untied tasks: "
                     f"W = {test['statistic']:g}, p = {test['p_value']:.3g}; "
                     f"rank-biserial r = {test['rank_biserial']:+.3f} "
                     "(+1: A better on every task, -1: B better on every task)")
    return "\n".join(lines)
