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
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from stages import paths
from stages.aggregate import category_scores, summarize_regime
from stages.spec import BenchmarkSpec
from stages.uncertainty import submission_task_ids

TIE_TOLERANCE = 1e-4
RESULTS_DIR = paths.REPO_ROOT / "results"


class SubmissionNotFound(FileNotFoundError):
    """A model id or path names no submission file."""


def load_submission(path: Path) -> dict[str, Any]:
    """Read and validate a submission (by :mod:`stages.validate`, for the suite it claims).

    Raises :class:`stages.validate.SubmissionError` listing every problem (file and field).
    """
    from stages.validate import SubmissionError, check_submission, read_submission

    checked = read_submission(Path(path))
    problems = checked.problems
    if checked.data is not None:
        claimed = checked.data.get("suite", "full")
        problems = check_submission(checked.data, str(path), stem=Path(path).stem,
                                    suite=claimed if isinstance(claimed, str) else "full")
    if problems:
        raise SubmissionError(problems)
    return checked.data  # type: ignore[return-value]


def load_submissions(directory: Path | None = None) -> list[dict[str, Any]]:
    """Every ``*.json`` submission in a directory (default the repo's ``submissions/``), by name."""
    directory = Path(directory or paths.SUBMISSIONS_DIR)
    files = sorted(directory.glob("*.json"))
    if not files:
        raise SubmissionNotFound(f"{directory}: no submission files (*.json)")
    return [load_submission(path) for path in files]


def find_submission(ref: str | Path, submissions_dir: Path | None = None,
                    results_dir: Path | None = None, suite: str | None = None) -> Path:
    """A path as given, or a model id looked up in submissions/ then results/*/submissions/."""
    if Path(ref).suffix == ".json" or Path(ref).is_file():
        if not Path(ref).is_file():
            raise SubmissionNotFound(f"{ref}: no such submission file")
        return Path(ref)
    submissions_dir = Path(submissions_dir or paths.SUBMISSIONS_DIR)
    results_dir = Path(results_dir or RESULTS_DIR)
    candidates = []
    if suite in (None, "full"):
        candidates.append(submissions_dir / f"{ref}.json")
    pattern = f"{suite or '*'}/submissions/{ref}.json"
    candidates += sorted(results_dir.glob(pattern))
    found = [path for path in candidates if path.is_file()]
    if not found:
        raise SubmissionNotFound(
            f"no submission for model {str(ref)!r} in {submissions_dir} or "
            f"{results_dir}/{pattern}; pass a path to a submission JSON"
        )
    if len(found) > 1:
        listed = ", ".join(str(path) for path in found)
        raise ValueError(f"model {str(ref)!r} has several submissions ({listed}); "
                         "pass a path or --suite")
    return found[0]


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


def _suite(submission: Mapping) -> str:
    return str(submission.get("suite", "full"))


def compare(a: Mapping, b: Mapping, spec: BenchmarkSpec, regime: str = "full",
            metric: str | None = None, allow_mixed_suites: bool = False,
            tie_tolerance: float = TIE_TOLERANCE) -> dict[str, Any]:
    """The comparison as a JSON-ready dict (see the module docstring for every quantity)."""
    metric = metric or spec.primary_metric
    if regime not in spec.regimes or metric not in spec.metrics:
        raise ValueError(f"unknown regime {regime!r} or metric {metric!r}; "
                         f"regimes {list(spec.regimes)}, metrics {list(spec.metrics)}")
    if _suite(a) != _suite(b) and not allow_mixed_suites:
        raise ValueError(
            f"{a['model_id']} ran on suite {_suite(a)!r} and {b['model_id']} on {_suite(b)!r}: "
            "their test data differ, so their scores are not comparable (--allow-mixed-suites "
            "compares them anyway)"
        )
    scores = [s["results"].get(regime, {}) for s in (a, b)]
    tasks_b = set(submission_task_ids(b, spec))
    common = [t for t in submission_task_ids(a, spec) if t in tasks_b and all(
        sc.get(t, {}).get(metric) is not None for sc in scores)]
    if not common:
        raise ValueError(f"{a['model_id']} and {b['model_id']} share no scored task in {regime}")
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
        "a": {"model_id": a["model_id"], "suite": _suite(a)},
        "b": {"model_id": b["model_id"], "suite": _suite(b)},
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
