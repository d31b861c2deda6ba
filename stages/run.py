"""The embed-then-score driver: ``geneb run`` is :func:`embed` then :func:`score`; the DVC stages
``geneb embed`` and ``geneb score`` (:mod:`stages.pipeline`) call one each.

Both paths make the same embedding folder (task files and sidecars, :mod:`stages.embedding_files`)
and the same submission from it, so ``geneb run`` reuses what ``dvc repro`` embedded and the other
way round. The model arrives resolved once by the command
(:class:`~stages.extractors.registry.ResolvedModel`): the folder's settings record and the
submission's declared settings are its settings. Each half imports its machinery lazily, so
``geneb score`` never loads the embedding engines and ``geneb embed`` never loads the probes
(``stages/code_manifest.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stages import paths
from stages.embedding_files import latest_run_records, prepare_folder, run_log_path
from stages.engines import EngineConfig
from stages.extractors.registry import ResolvedModel, resolve_model
from stages.spec import Suite, default_spec

if TYPE_CHECKING:
    from stages.manifest import DataHashes
    from stages.submission import Submission


@dataclass(frozen=True)
class RunPaths:
    embeddings: Path
    submission: Path
    reports: Path  # the folder the metrics and plot files go below (stages/dvc_reports.py)


def default_paths(suite: str, model_id: str) -> RunPaths:
    """Where a run writes: lite results never land in the official ``submissions/``."""
    from stages.submission_store import results_dir

    base = results_dir(suite)
    return RunPaths(
        embeddings=paths.REPO_ROOT / "embeddings" / suite / model_id,
        submission=base / "submissions" / f"{model_id}.json",
        reports=base,
    )


def embedding_machine(emb_dir: Path, task_ids: tuple[str, ...]) -> dict[str, list[str]]:
    """Devices and torch CPU capabilities the run log says embedded these tasks (empty lists
    when unknown, e.g. after a ``dvc pull``, or for extractors that do not use torch)."""
    records = latest_run_records(emb_dir)
    runtimes = [(records.get(task_id) or {}).get("runtime") or {} for task_id in task_ids]
    return {key: sorted({str(r[key]) for r in runtimes if r.get(key) is not None})
            for key in ("device", "torch_cpu_capability")}


def embed(model: ResolvedModel, suite: Suite, out_dir: Path, *, device: str | None = None,
          engine: EngineConfig | None = None, progress: bool = True,
          data_md5: DataHashes | None = None) -> dict[str, bool]:
    """Embed every task of ``suite`` into ``out_dir``, reusing valid files; returns task id ->
    whether it was reused.

    A folder stamped by other extractor code is recomputed as a whole; a folder a killed run left
    resumes from its finished tasks (:func:`~stages.embedding_files.prepare_folder`). ``data_md5``
    (the suite's manifest) spares hashing the CSVs.
    """
    from stages.code_hash import extractor_code_hash
    from stages.engines import embed_suite_with_engine

    out_dir = Path(out_dir)
    stamp = extractor_code_hash(model.entry.extractor)
    if prepare_folder(out_dir, stamp, model.model_id, model.settings.to_json()):
        print(f"{out_dir}: extractor code changed since these embeddings were made; recomputing")
    # engine local (default) or ray (params.yaml `engine`): the same files either way
    status = embed_suite_with_engine(model.model_id, suite, out_dir, model.overrides, device, engine,
                                     progress, data_md5=data_md5, run_log=run_log_path(out_dir))
    computed = [task_id for task_id, reused in status.items() if not reused]
    print(f"embed {model.model_id} on {suite.name}: {len(computed)} task(s) embedded, "
          f"{len(status) - len(computed)} reused -> {out_dir}")
    for task_id in computed:
        print(f"  embedded {task_id}")
    return status


def score(model: ResolvedModel, suite: Suite, emb_dir: Path, out: RunPaths, *,
          progress: bool = True, with_noise_floor: bool = True) -> Submission:
    """Probe the stored embeddings (both probes, noise floor); write the submission, then the
    metrics and plot files of :mod:`stages.dvc_reports` below ``out.reports``."""
    from stages.dvc_reports import write_reports
    from stages.machine import probe_machine
    from stages.scoring import score_suite
    from stages.submission_build import build_submission
    from stages.submission_store import write_submission

    spec = default_spec()
    entry = model.entry
    scores = score_suite(emb_dir, suite.task_ids, spec, with_noise_floor, progress)
    meta = {task_id: task.meta for task_id, task in scores.tasks.items()}
    first = meta[suite.task_ids[0]]["key"]
    extractor = {
        "family": entry.extractor,
        "source": entry.source,
        "revision": entry.revision,
        "weights": first["weights"],
        "settings": first["settings"],
        "declared_settings": model.settings.to_json(),
        "published_run": entry.published_run,
        "report": {task_id: m.get("report", {}) for task_id, m in meta.items() if m.get("report")},
    }
    machine = {"probe": probe_machine(), "embedding": embedding_machine(emb_dir, suite.task_ids)}
    submission = build_submission(
        entry, suite, spec, scores.protocol(), extractor=extractor,
        data_hashes=scores.data_hashes(), exact=scores.exact(), noise=scores.noise,
        machine=machine, fit_dtype=scores.fit_dtype(), embedding_sha256=scores.checksums())
    write_submission(out.submission, submission)
    write_reports(submission, spec, out.reports)
    return submission


def run_model(model_id: str, suite_name: str = "lite", out: RunPaths | None = None,
              overrides: dict[str, Any] | None = None, device: str | None = None,
              progress: bool = True, engine: EngineConfig | None = None,
              with_noise_floor: bool = True) -> Submission:
    """``geneb run``: resolve the model, :func:`embed`, :func:`score`; returns the submission."""
    model = resolve_model(model_id, overrides)
    suite = default_spec().suite(suite_name)
    out = out or default_paths(suite_name, model_id)
    embed(model, suite, out.embeddings, device=device, engine=engine, progress=progress)
    return score(model, suite, out.embeddings, out, progress=progress,
                 with_noise_floor=with_noise_floor)
