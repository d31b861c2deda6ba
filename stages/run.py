"""``geneb run``: embed a suite with one model, probe every task, write the submission."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stages import paths
from stages.aggregate import summarize
from stages.embedding_files import read_embeddings, run_log_path
from stages.engines import EngineConfig, embed_suite_with_engine
from stages.extractors.registry import get_model_entry
from stages.probe import RegimeResult, probe_task
from stages.spec import BenchmarkSpec, Suite, default_spec
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


def probe_stored_task(path: Path, spec: BenchmarkSpec) -> tuple[dict[str, RegimeResult], dict]:
    """Run the protocol on one task's stored embeddings; returns its results and embed metadata."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no embeddings for task {path.stem!r}; run the embed step")
    emb = read_embeddings(path)
    results = probe_task(emb.train_X, emb.train_y, emb.test_X, emb.test_y, spec.protocol,
                         spec.regimes, where=str(path))
    return results, emb.meta


def probe_suite(emb_dir: Path, suite: Suite, spec: BenchmarkSpec, progress: bool = True,
                n_jobs: int = 1) -> tuple[dict[str, dict[str, RegimeResult]], dict[str, dict[str, str]], dict]:
    """Probe every task's stored embeddings (``n_jobs`` processes over tasks).

    Returns results, data hashes and embed metadata, keyed by task id in suite order.
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    task_paths = [Path(emb_dir) / f"{task_id}.npz" for task_id in suite.task_ids]
    jobs = (delayed(probe_stored_task)(path, spec) for path in task_paths)
    outputs = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    results, hashes, meta = {}, {}, {}
    bar = tqdm(zip(suite.task_ids, outputs, strict=True), total=len(task_paths), desc="probe", unit="task",
               disable=not progress)
    for task_id, (task_results, task_meta) in bar:
        results[task_id] = task_results
        hashes[task_id] = task_meta["key"]["data_md5"]
        meta[task_id] = task_meta
    return results, hashes, meta


def metrics_summary(submission: dict[str, Any], spec: BenchmarkSpec) -> dict[str, Any]:
    """The small per-model metrics file DVC tracks: macro/micro/per-category per regime and metric."""
    tasks = submission["run_settings"]["suite"]["tasks"]
    return {"model_id": submission["model_id"], "suite": submission["suite"],
            **summarize(submission["results"], spec, tasks)}


def write_probe_outputs(model_id: str, suite_name: str, emb_dir: Path, out: RunPaths,
                        overrides: dict[str, Any] | None = None, progress: bool = True,
                        declared_settings: dict[str, Any] | None = None) -> dict:
    """Probe stored embeddings and write the submission and metrics files.

    ``declared_settings`` (as recorded by ``geneb embed``) takes precedence over ``overrides``.
    """
    from stages.extractors.registry import apply_overrides
    from stages.io_utils import atomic_write_json

    spec = default_spec()
    suite = spec.suite(suite_name)
    entry = get_model_entry(model_id)
    results, hashes, meta = probe_suite(emb_dir, suite, spec, progress)
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
    submission = build_submission(entry, suite, spec, results, extractor=extractor, data_hashes=hashes)
    write_submission(out.submission, submission)
    atomic_write_json(out.metrics, metrics_summary(submission, spec))
    return submission


def run_model(model_id: str, suite_name: str = "lite", out: RunPaths | None = None,
              overrides: dict[str, Any] | None = None, device: str | None = None,
              progress: bool = True, engine: EngineConfig | None = None) -> dict:
    """Embed (with the per-task cache; local or Ray engine) and probe; returns the submission."""
    out = out or default_paths(suite_name, model_id)
    suite = default_spec().suite(suite_name)
    embed_suite_with_engine(model_id, suite, out.embeddings, overrides, device, engine, progress,
                            run_log=run_log_path(out.embeddings))
    return write_probe_outputs(model_id, suite_name, out.embeddings, out, overrides, progress)


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
