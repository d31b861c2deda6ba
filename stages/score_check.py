"""Compare recomputed scores with a submission's: the check behind verify, reproduce and summary.

Two kinds of number, two rules:

* **exact** numbers (``exact_results``) do not depend on the machine: from the same embeddings
  they must be identical, bit for bit. A difference means other embeddings or a changed number.
* **protocol** numbers (``results``) move with the machine by up to their noise floor
  (:mod:`stages.noise_floor`). A difference is accepted when it is within the floor the
  submission recorded; above it, the floor of *this* machine is measured too and the difference
  is accepted when within the two together (each floor bounds how far its own machine's value
  sits from the common centre). A submission without a recorded floor falls back to a fixed
  tolerance.

When the embeddings themselves were recomputed and are not identical (``reproduce`` on another
CPU), exact numbers may move like protocol ones, and get the same allowance.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from stages.noise_floor import NoiseFloor
from stages.probe import RegimeResult
from stages.spec import METRICS
from stages.submission import Scores, Submission

# One test row of a 1,000-row split moves accuracy by 1e-3. Used for protocol numbers of a
# submission that recorded no noise floor; MTEB's results repository uses the same epsilon.
TOLERANCE = 1e-3
LocalFloor = Callable[[Sequence[str]], NoiseFloor]  # task ids -> this machine's floor


def _floor(floor: Mapping | None, regime: str, task_id: str, metric: str) -> float | None:
    try:
        return float(floor["results"][regime][task_id][metric])  # type: ignore[index]
    except (KeyError, TypeError):
        return None


def compare_to_submission(
    submission: Submission, protocol: Mapping[str, Mapping[str, RegimeResult]],
    exact: Mapping[str, Mapping[str, RegimeResult]] | None = None, *,
    same_embeddings: bool | Mapping[str, bool] = True, local_floor: LocalFloor | None = None,
    tolerance: float = TOLERANCE, problems: Sequence[str] = (), label: str = "reproduced",
) -> dict[str, Any]:
    """Per task, regime and metric of each probe: submitted vs recomputed and what is allowed.

    ``matched`` is true when every row is within its allowance and there are no ``problems``
    (data, embeddings or settings that differ from the submission's).
    """
    recorded = submission.noise_floor
    kinds = [("protocol", "results", protocol)]
    if exact is not None and submission.exact_results is not None:
        kinds.append(("exact", "exact_results", exact))
    rows = []
    for probe, key, fresh in kinds:
        for task_id, regimes in fresh.items():
            for regime, result in regimes.items():
                scores = submission.results if key == "results" else submission.exact_results
                submitted = (scores or {}).get(regime, {}).get(task_id)
                if submitted is None:
                    raise ValueError(f"{submission.model_id}: {key}.{regime}.{task_id} is missing")
                for metric in METRICS:
                    noise = _floor(recorded, regime, task_id, metric)
                    exact_rule = probe == "exact" and (
                        same_embeddings if isinstance(same_embeddings, bool)
                        else same_embeddings.get(task_id, False))
                    allowed = 0.0 if exact_rule else (tolerance if noise is None else noise)
                    diff = result.mean[metric] - submitted[metric]
                    rows.append({"probe": probe, "task": task_id, "regime": regime,
                                 "metric": metric, "submitted": submitted[metric],
                                 label: result.mean[metric], "diff": diff, "noise": noise,
                                 "local_noise": None, "allowed": allowed,
                                 "ok": abs(diff) <= allowed, "exact_rule": exact_rule})
    over = sorted({row["task"] for row in rows if not row["ok"] and not row["exact_rule"]})
    if over and local_floor is not None:
        here = local_floor(over).to_json()
        for row in rows:
            if row["task"] in over and not row["exact_rule"]:
                row["local_noise"] = _floor(here, row["regime"], row["task"], row["metric"])
                recorded_part = tolerance if row["noise"] is None else row["noise"]
                row["allowed"] = recorded_part + (row["local_noise"] or 0.0)
                row["ok"] = abs(row["diff"]) <= row["allowed"]
    return {
        "model_id": submission.model_id,
        "suite": submission.suite,
        "check": label,
        "tolerance": tolerance,
        "same_embeddings": (same_embeddings if isinstance(same_embeddings, bool)
                            else all(same_embeddings.values())),
        "recorded_noise_floor": None if recorded is None else recorded.get("method"),
        "tasks": list(protocol),
        "max_abs_diff": {probe: max((abs(r["diff"]) for r in rows if r["probe"] == probe),
                                    default=0.0) for probe, _, _ in kinds},
        "problems": list(problems),
        "matched": not problems and all(row["ok"] for row in rows),
        "rows": rows,
    }


class _Means:
    """A submission's task means where :func:`compare_to_submission` expects a fresh result."""

    def __init__(self, mean: Mapping[str, float]):
        self.mean = mean


def _as_fresh(scores: Scores) -> dict[str, dict]:
    fresh: dict[str, dict] = {}
    for regime, tasks in scores.items():
        for task_id, means in tasks.items():
            fresh.setdefault(task_id, {})[regime] = _Means(means)
    return fresh


def compare_submissions(current: Submission, committed: Submission) -> dict[str, Any]:
    """A re-made submission against the committed one, by the rules above (``current``'s own
    noise floor serves as this machine's)."""
    recorded = committed.settings("embedding_sha256")
    same = {task_id: recorded.get(task_id) == checksum
            for task_id, checksum in current.settings("embedding_sha256").items()}
    floor = current.noise_floor
    local = None if floor is None else (lambda ids: NoiseFloor(floor["variants"], floor["results"]))
    exact = current.exact_results
    return compare_to_submission(committed, _as_fresh(current.results),
                                 None if exact is None else _as_fresh(exact),
                                 same_embeddings=same or False, local_floor=local,
                                 label="re-made")


def verdict_lines(report: Mapping[str, Any]) -> list[str]:
    """The report in a few sentences (what :func:`format_check` ends with)."""
    label, rows = report["check"], report["rows"]
    lines = []
    exact = [r for r in rows if r["probe"] == "exact"]
    if exact:
        changed = [r for r in exact if r["diff"] != 0]
        if not changed:
            lines.append(f"exact numbers: all {len(exact)} identical to the submission's")
        else:
            worst = max(changed, key=lambda r: abs(r["diff"]))
            why = ("not machine noise: the exact probe gives the same numbers on every machine "
                   "from the same embeddings" if worst["exact_rule"]
                   else "the embeddings were recomputed and differ, so exact numbers may move")
            lines.append(f"exact numbers: {len(changed)} of {len(exact)} differ, largest "
                         f"{worst['diff']:+.2e} ({worst['task']} {worst['regime']} "
                         f"{worst['metric']}); {why}")
    else:
        lines.append("exact numbers: not in the submission (made before GENEB recorded them)")
    protocol = [r for r in rows if r["probe"] == "protocol"]
    worst = max(protocol, key=lambda r: abs(r["diff"]))
    where = f"({worst['task']} {worst['regime']} {worst['metric']})"
    if worst["diff"] == 0:
        lines.append(f"protocol numbers: all {len(protocol)} identical to the submission's")
    else:
        inside = "within" if worst["ok"] else "LARGER than"
        parts = (f"recorded {worst['noise']:.2e}" if worst["noise"] is not None else
                 f"no recorded noise floor: fixed tolerance {report['tolerance']:g}")
        if worst["local_noise"] is not None:
            parts += f" + this machine {worst['local_noise']:.2e}"
        lines.append(f"protocol numbers: largest |diff| {abs(worst['diff']):.2e} {where}, "
                     f"{inside} the machine noise ({parts})")
    bad = [r for r in rows if not r["ok"]]
    lines += [f"problem: {p}" for p in report["problems"]]
    verdict = "MATCH" if report["matched"] else "NO MATCH"
    lines.append(f"{verdict}: {label} {len(report['tasks'])} task(s); "
                 f"{len(bad)} of {len(rows)} number(s) outside their allowance")
    return lines


def format_check(report: Mapping[str, Any], metric: str = "MCC") -> str:
    """Per task, regime and probe the submitted and recomputed ``metric`` (all are checked)."""
    label = report["check"]
    shown = [r for r in report["rows"] if r["metric"] == metric or not r["ok"]]
    width = max(len(r["task"]) for r in shown)
    lines = [f"{report['model_id']} ({report['suite']}): {label}; exact numbers must be identical"
             f"{'' if report['same_embeddings'] else ' (embeddings differ: noise allowance)'}, "
             "protocol numbers within the machine noise floor",
             f"{'task':<{width}}  {'regime':>6}  {'probe':>8}  {'metric':>6}  {'submitted':>9}  "
             f"{label:>10}  {'diff':>9}  {'allowed':>8}"]
    for r in shown:
        lines.append(f"{r['task']:<{width}}  {r['regime']:>6}  {r['probe']:>8}  {r['metric']:>6}  "
                     f"{r['submitted']:9.4f}  {r[label]:10.4f}  {r['diff']:+9.2e}  "
                     f"{r['allowed']:8.2e}{'' if r['ok'] else '  <- over'}")
    return "\n".join(lines + verdict_lines(report))
