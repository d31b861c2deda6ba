"""``geneb run``: embed a suite with one model, score every task, write the submission."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stages import paths
from stages.aggregate import summarize
from stages.embedding_files import latest_run_records, run_log_path
from stages.engines import EngineConfig, embed_suite_with_engine
from stages.extractors.registry import get_model_entry
from stages.machine import probe_machine
from stages.scoring import score_suite
from stages.spec import BenchmarkSpec, default_spec
from stages.submission import build_submission, write_submission


@dataclass(frozen=True)
class RunPaths:
    embeddings: Path
    submission: Path
    metrics: Path


def default_paths(suite: str, model_id: str) -> RunPaths:
    """Where a run writes: lite results never land in the official ``submissions/``."""
    base = paths.REPO_ROOT / "results" / suite
    return RunPaths(
        embeddings=paths.REPO_ROOT / "embeddings" / suite / model_id,
        submission=base / "submissions" / f"{model_id}.json",
        metrics=base / "metrics" / f"{model_id}.json",
    )


def metrics_summary(submission: dict[str, Any], spec: BenchmarkSpec) -> dict[str, Any]:
    """The small per-model metrics file DVC tracks: macro/micro/per-category per regime and metric."""
    tasks = submission["run_settings"]["suite"]["tasks"]
    return {"model_id": submission["model_id"], "suite": submission["suite"],
            **summarize(submission["results"], spec, tasks)}


def embedding_machine(emb_dir: Path, task_ids: tuple[str, ...]) -> dict[str, list[str]]:
    """Devices and torch CPU capabilities the run log says embedded these tasks (empty lists
    when unknown, e.g. after a ``dvc pull``, or for extractors that do not use torch)."""
    records = latest_run_records(emb_dir)
    runtimes = [(records.get(task_id) or {}).get("runtime") or {} for task_id in task_ids]
    return {key: sorted({str(r[key]) for r in runtimes if r.get(key) is not None})
            for key in ("device", "torch_cpu_capability")}


def write_probe_outputs(model_id: str, suite_name: str, emb_dir: Path, out: RunPaths,
                        overrides: dict[str, Any] | None = None, progress: bool = True,
                        declared_settings: dict[str, Any] | None = None,
                        with_noise_floor: bool = True) -> dict:
    """Score stored embeddings (both probes, noise floor) and write submission and metrics.

    ``declared_settings`` (as recorded by ``geneb embed``) takes precedence over ``overrides``.
    """
    from stages.extractors.registry import apply_overrides
    from stages.io_utils import atomic_write_json

    spec = default_spec()
    suite = spec.suite(suite_name)
    entry = get_model_entry(model_id)
    scores = score_suite(emb_dir, suite.task_ids, spec, with_noise_floor, progress)
    meta = {task_id: task.meta for task_id, task in scores.tasks.items()}
    first = meta[suite.task_ids[0]]["key"]
    extractor = {
        "family": entry.extractor,
        "source": entry.source,
        "revision": entry.revision,
        "weights": first["weights"],
        "settings": first["settings"],
        "declared_settings": declared_settings or apply_overrides(entry.settings, overrides).to_json(),
        "published_run": entry.published_run,
        "report": {task_id: m.get("report", {}) for task_id, m in meta.items() if m.get("report")},
    }
    machine = {"probe": probe_machine(), "embedding": embedding_machine(emb_dir, suite.task_ids)}
    submission = build_submission(
        entry, suite, spec, scores.protocol(), extractor=extractor,
        data_hashes=scores.data_hashes(), exact=scores.exact(), noise=scores.noise,
        machine=machine, fit_dtype=scores.fit_dtype(), embedding_sha256=scores.checksums())
    write_submission(out.submission, submission)
    atomic_write_json(out.metrics, metrics_summary(submission, spec))
    return submission


def run_model(model_id: str, suite_name: str = "lite", out: RunPaths | None = None,
              overrides: dict[str, Any] | None = None, device: str | None = None,
              progress: bool = True, engine: EngineConfig | None = None,
              with_noise_floor: bool = True) -> dict:
    """Embed (with the per-task cache; local or Ray engine) and score; returns the submission."""
    out = out or default_paths(suite_name, model_id)
    suite = default_spec().suite(suite_name)
    embed_suite_with_engine(model_id, suite, out.embeddings, overrides, device, engine, progress,
                            run_log=run_log_path(out.embeddings))
    return write_probe_outputs(model_id, suite_name, out.embeddings, out, overrides, progress,
                               with_noise_floor=with_noise_floor)


def format_summary(submission: dict, spec: BenchmarkSpec, metric: str = "MCC") -> str:
    """A small per-category table (one column per regime) for the end of a run."""
    tasks = submission["run_settings"]["suite"]["tasks"] if "run_settings" in submission else spec.task_ids
    summary = summarize(submission["results"], spec, tasks)
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


def describe_suite(submission: dict) -> str:
    suite = submission.get("suite", "full")
    if suite != "full":
        return f"suite '{suite}' (a subsample: these are NOT GENEB scores)"
    return "suite 'full' (GENEB scores)"
