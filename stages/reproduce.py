"""``geneb reproduce``: re-run a registered model on some tasks and compare with its submission.

The re-run starts from the task CSVs: fresh embeddings (in a temporary directory, never the
cache), with the extractor settings the submission recorded, then the published probe protocol.
Every task-level mean (each regime, each metric) must be within ``TOLERANCE`` (absolute) of the
submitted value; the data files must have the hashes the submission recorded. A match is the
evidence behind a ``reproduced`` label (``--out`` writes it). :func:`compare_to_submission` is
shared with ``geneb verify``, which re-probes pulled embeddings instead of re-embedding.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from stages.probe import RegimeResult
from stages.spec import METRICS, BenchmarkSpec, default_spec
from stages.uncertainty import submission_task_ids

# One test row of a 1,000-row split moves accuracy by 1e-3: below this, the predictions agree.
# MTEB's results repository uses the same epsilon for re-run score changes.
TOLERANCE = 1e-3


def choose_tasks(submission: Mapping, tasks: Sequence[str] | None, spec: BenchmarkSpec
                 ) -> list[str]:
    """The requested tasks (default: all of the submission's), each checked to be in it."""
    available = submission_task_ids(submission, spec)
    if not tasks:
        return list(available)
    unknown = [t for t in tasks if t not in available]
    if unknown:
        raise ValueError(f"{submission['model_id']}: task(s) {unknown} are not in its submission "
                         f"(suite {submission.get('suite', 'full')!r})")
    return list(tasks)


def check_data_hashes(submission: Mapping, task_id: str, hashes: Mapping[str, str],
                      where: str) -> list[str]:
    """Problems when the data behind a re-run is not the data behind the submission."""
    recorded = ((submission.get("run_settings") or {}).get("data_md5") or {}).get(task_id)
    if recorded is None:
        return [f"{task_id}: the submission records no data_md5 (run_settings.data_md5); "
                "cannot tell whether the same data was used"]
    return [f"{task_id}: {split} md5 {hashes.get(split)} ({where}) differs from the submission's "
            f"{recorded[split]}" for split in sorted(recorded) if hashes.get(split) != recorded[split]]


def compare_to_submission(
    submission: Mapping, fresh: Mapping[str, Mapping[str, RegimeResult]],
    tolerance: float = TOLERANCE, problems: Sequence[str] = (), label: str = "reproduced",
) -> dict[str, Any]:
    """Per task, regime and metric: submitted vs recomputed mean and their difference.

    ``matched`` is true when every difference is within ``tolerance`` and there are no
    ``problems`` (data or settings that differ from the submission's).
    """
    rows, worst = [], 0.0
    for task_id, regimes in fresh.items():
        for regime, result in regimes.items():
            submitted = submission["results"].get(regime, {}).get(task_id)
            if submitted is None:
                raise ValueError(f"{submission['model_id']}: results.{regime}.{task_id} is missing")
            for metric in METRICS:
                diff = result.mean[metric] - submitted[metric]
                worst = max(worst, abs(diff))
                rows.append({"task": task_id, "regime": regime, "metric": metric,
                             "submitted": submitted[metric], label: result.mean[metric],
                             "diff": diff, "ok": abs(diff) <= tolerance})
    return {
        "model_id": submission["model_id"],
        "suite": submission.get("suite", "full"),
        "check": label,
        "tolerance": tolerance,
        "tasks": list(fresh),
        "max_abs_diff": worst,
        "problems": list(problems),
        "matched": not problems and all(row["ok"] for row in rows),
        "rows": rows,
    }


def reproduce(
    submission: Mapping, tasks: Sequence[str] | None = None, tolerance: float = TOLERANCE,
    device: str | None = None, spec: BenchmarkSpec | None = None,
) -> dict[str, Any]:
    """Re-embed and re-probe ``tasks`` with the registered model; compare with ``submission``."""
    from stages.embed import embed_task
    from stages.extractors.registry import get_model_entry, load_extractor
    from stages.probe import probe_task
    from stages.taskdata import load_task

    spec = spec or default_spec()
    suite = spec.suite(submission.get("suite", "full"))
    chosen = choose_tasks(submission, tasks, spec)
    entry = get_model_entry(submission["model_id"])
    recorded = ((submission.get("run_settings") or {}).get("extractor") or {})
    extractor = load_extractor(entry, recorded.get("declared_settings"), device=device)
    problems = []
    if recorded.get("weights") not in (None, extractor.identity()):
        problems.append(f"weights {extractor.identity()} differ from the submission's "
                        f"{recorded['weights']}")
    fresh: dict[str, dict[str, RegimeResult]] = {}
    with tempfile.TemporaryDirectory(prefix="geneb-reproduce-") as scratch:
        for task_id in chosen:
            task = load_task(suite.data_dir, task_id)
            problems += check_data_hashes(submission, task_id, task.data_hashes, str(suite.data_dir))
            emb, _ = embed_task(extractor, task, Path(scratch))
            fresh[task_id] = probe_task(emb.train_X, emb.train_y, emb.test_X, emb.test_y,
                                        spec.protocol, spec.regimes, where=task_id)
    return compare_to_submission(submission, fresh, tolerance, problems, "reproduced")


def format_check(report: Mapping[str, Any], metric: str = "MCC") -> str:
    """Per task and regime, the submitted and recomputed ``metric`` (all metrics are checked)."""
    label = report["check"]
    rows = [r for r in report["rows"] if r["metric"] == metric]
    width = max(len(r["task"]) for r in rows)
    lines = [f"{report['model_id']} ({report['suite']}): {label} {len(report['tasks'])} task(s); "
             f"tolerance {report['tolerance']:g} on every task mean (MCC, Acc, F1; all regimes)",
             f"{'task':<{width}}  {'regime':>6}  {'submitted':>9}  {label:>10}  {'diff':>9}"]
    for r in rows:
        lines.append(f"{r['task']:<{width}}  {r['regime']:>6}  {r['submitted']:9.4f}  "
                     f"{r[label]:10.4f}  {r['diff']:+9.2e}{'' if r['ok'] else '  <- over'}")
    lines += [f"problem: {p}" for p in report["problems"]]
    verdict = "MATCH" if report["matched"] else "NO MATCH"
    lines.append(f"{verdict}: largest |diff| {report['max_abs_diff']:.2e} over all metrics")
    return "\n".join(lines)
