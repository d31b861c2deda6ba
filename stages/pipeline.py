"""The two per-model DVC stages behind ``geneb embed`` and ``geneb score``.

``dvc.yaml`` runs ``embed@<model>`` then ``score@<model>`` for each model of ``params.yaml``. Each
stage resolves the model once and hands it to the driver (:mod:`stages.run`) that ``geneb run``
uses too, so both make the same embedding folder and submission. ``embed`` takes the data hashes
from the suite's manifest; ``score`` only reads the embedding folder: it never imports an
extractor family module, so it runs where the model cannot, and without overrides it takes the
declared settings the folder records, so it never reads ``params.yaml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from stages.engines.config import EngineConfig
from stages.errors import GenebError
from stages.extractors.registry import ResolvedModel, resolve_model
from stages.run import RunPaths, default_paths, embed, score

if TYPE_CHECKING:
    from stages.submission import Submission


class PipelineError(GenebError, ValueError):
    """A stage's inputs are unusable; the message names the file and field."""


def embed_stage(model_id: str, suite_name: str, out_dir: Path,
                overrides: dict[str, Any] | None = None, device: str | None = None,
                progress: bool = True, engine: EngineConfig | None = None,
                manifest: Path | None = None) -> dict[str, bool]:
    """``embed@<model>``: embed every task of the suite into ``out_dir``, reusing valid files.

    Returns task id -> whether it was reused. ``manifest`` (``data/<suite>/manifest.json``, written
    by the ``manifest`` stage after checking the data's pin) gives the data hashes; without it
    the pin is checked (:func:`stages.dvc_data.verify_suite_data`) and the CSVs hashed here.
    """
    from stages.spec import default_spec

    suite = default_spec().suite(suite_name)
    if manifest is not None:
        from stages.manifest import read_manifest

        data_md5 = read_manifest(manifest, suite)
    else:
        from stages.manifest import verified_hashes

        data_md5 = verified_hashes(suite)
    return embed(resolve_model(model_id, overrides), suite, out_dir, device=device, engine=engine,
                 progress=progress, data_md5=data_md5)


def score_stage(model_id: str, suite_name: str, emb_dir: Path,
                overrides: dict[str, Any] | None = None, submission: Path | None = None,
                reports: Path | None = None, progress: bool = True) -> Submission:
    """``score@<model>``: probe stored embeddings, write the submission and, below ``reports``
    (default ``results/<suite>``), the metrics and plot files (:mod:`stages.dvc_reports`).

    The model's settings are ``overrides`` when given, else those the folder records (DVC re-runs
    the stage exactly when the embeddings change), else the registry's.
    """
    from stages.spec import default_spec

    emb_dir = Path(emb_dir)
    if not emb_dir.is_dir():
        raise PipelineError(f"{emb_dir}: no embeddings directory for {model_id!r}; run "
                            f"`dvc pull {emb_dir}` or `dvc repro embed@{model_id}`")
    model = resolve_model(model_id, overrides) if overrides is not None else \
        recorded_model(emb_dir, model_id)
    default = default_paths(suite_name, model_id)
    out = RunPaths(emb_dir, Path(submission or default.submission), Path(reports or default.reports))
    return score(model, default_spec().suite(suite_name), emb_dir, out, progress=progress)


def recorded_model(emb_dir: Path, model_id: str) -> ResolvedModel:
    """The model with the declared settings ``emb_dir`` records (none recorded: the registry's)."""
    from stages.embedding_files import EmbeddingFolderError, read_settings_record

    try:
        declared = read_settings_record(emb_dir, model_id)
    except EmbeddingFolderError as exc:
        raise PipelineError(f"{exc}; re-run `dvc repro embed@{model_id}`") from exc
    return resolve_model(model_id, declared)
