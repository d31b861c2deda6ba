"""Build and write a submission in the published schema (v1.0) plus GENEB's run settings.

The published keys (``schema_version, model_id, harness_version, meta, results``) are exactly as
in the 41 published files; ``suite`` and ``run_settings`` are the additions that tie every number
to exact data and code revisions.
"""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from stages import HARNESS_VERSION, paths
from stages.extractors.registry import ModelEntry
from stages.io_utils import atomic_write_json
from stages.probe import RegimeResult
from stages.spec import METRICS, BenchmarkSpec, Suite

SCHEMA_VERSION = "1.0"
_PACKAGES = ("numpy", "scipy", "scikit-learn", "pandas", "torch", "transformers", "dvc")


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


HARNESS_PATHS = ("stages", "benchmark", "pyproject.toml")  # the code and definition behind a number


def code_revision() -> str | None:
    """The last git commit that changed the harness, with ``-dirty`` when it has local changes.

    The last commit touching :data:`HARNESS_PATHS`, not ``HEAD``: committing results (or docs)
    does not change the code, so re-running at the next commit records the same revision and
    reproduces the same submission file. Checking it out gives exactly the code that ran.
    """
    try:
        commit = subprocess.run(["git", "log", "-1", "--format=%H", "--", *HARNESS_PATHS],
                                cwd=paths.REPO_ROOT, text=True, capture_output=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", *HARNESS_PATHS],
                               cwd=paths.REPO_ROOT, text=True, capture_output=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    if not commit:
        return None
    return f"{commit}-dirty" if dirty else commit


def build_submission(
    entry: ModelEntry,
    suite: Suite,
    spec: BenchmarkSpec,
    results: dict[str, dict[str, RegimeResult]],
    *,
    extractor: dict[str, Any],
    data_hashes: dict[str, dict[str, str]],
    submitted_by: str = "",
    provenance: str = "self-reported",
) -> dict[str, Any]:
    """``results`` maps task id -> regime -> :class:`RegimeResult`."""
    by_regime: dict[str, dict[str, dict[str, float]]] = {regime: {} for regime in spec.regimes}
    per_seed: dict[str, dict[str, dict]] = {regime: {} for regime in spec.regimes}
    for task_id in suite.task_ids:
        for regime, result in results[task_id].items():
            by_regime[regime][task_id] = {metric: result.mean[metric] for metric in METRICS}
            per_seed[regime][task_id] = {
                "seeds": result.seeds, **result.per_seed, "converged": result.converged
            }
    return {
        "schema_version": SCHEMA_VERSION,
        "model_id": entry.model_id,
        "harness_version": HARNESS_VERSION,
        "suite": suite.name,
        "meta": {
            "display": entry.display,
            "params": entry.params,
            "url": entry.url,
            "zero_shot": entry.zero_shot,
            "training_data": entry.training_data,
            "provenance": provenance,
            "submitted_by": submitted_by,
        },
        "results": by_regime,
        "run_settings": {
            "harness_version": HARNESS_VERSION,
            "code_revision": code_revision(),
            "suite": {"name": suite.name, "subsample": suite.is_subsample,
                      "tasks": list(suite.task_ids)},
            "dataset": {"repo_id": spec.dataset.repo_id, "revision": spec.dataset.revision},
            "data_md5": data_hashes,
            "extractor": extractor,
            "probe": {
                "estimator": "sklearn.linear_model.LogisticRegression",
                "max_iter": spec.protocol.max_iter,
                "seeds": list(spec.protocol.seeds),
                "few_shot_k": list(spec.protocol.few_shot_k),
                "other_settings": "scikit-learn defaults (lbfgs, L2, C=1, no class weights, no scaling)",
            },
            "packages": package_versions(),
            "per_seed": per_seed,
        },
    }


def write_submission(path: Path, submission: dict[str, Any]) -> Path:
    atomic_write_json(Path(path), submission)
    return Path(path)
