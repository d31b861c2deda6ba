"""Build a :class:`~stages.submission.Submission` from probe results (schema v1.0 plus additions).

The published keys (``schema_version, model_id, harness_version, meta, results``) are exactly as
in the 41 published files, and ``results`` holds the published protocol's numbers. The additions:
``suite``; ``exact_results``, the exact probe's numbers (:mod:`stages.exact_probe`), the same on
every machine; and ``run_settings``, which ties every number to exact data, code and machine:
per-seed scores and fit records of both probes, the protocol's noise floor
(:mod:`stages.noise_floor`) and the facts the protocol numbers depend on (:mod:`stages.machine`).
"""

from __future__ import annotations

import platform
from importlib import metadata
from typing import Any

from stages import HARNESS_VERSION, exact_probe
from stages.code_hash import code_revision
from stages.extractors.registry import ModelEntry
from stages.model_meta import submission_meta
from stages.noise_floor import NoiseFloor
from stages.probe import RegimeResult
from stages.spec import METRICS, BenchmarkSpec, Suite
from stages.submission import SCHEMA_VERSION, Submission

_PACKAGES = ("numpy", "scipy", "scikit-learn", "pandas", "torch", "transformers", "tokenizers",
             "threadpoolctl", "dvc")


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _by_regime(results: dict[str, dict[str, RegimeResult]], spec: BenchmarkSpec,
               task_ids: tuple[str, ...]) -> tuple[dict, dict]:
    """(regime -> task -> metric means, regime -> task -> per-seed scores and fit records)."""
    means: dict[str, dict[str, dict[str, float]]] = {regime: {} for regime in spec.regimes}
    per_seed: dict[str, dict[str, dict]] = {regime: {} for regime in spec.regimes}
    for task_id in task_ids:
        for regime, result in results[task_id].items():
            means[regime][task_id] = {metric: result.mean[metric] for metric in METRICS}
            per_seed[regime][task_id] = {"seeds": result.seeds, **result.per_seed,
                                         **result.fit_record()}
    return means, per_seed


def exact_probe_settings() -> dict[str, Any]:
    return {"objective": "the protocol's (scikit-learn LogisticRegression, C=1, L2, "
                         "unpenalised intercept, multinomial above two classes)",
            "solver": "Newton (two classes), scikit-learn newton-cholesky/newton-cg (more)",
            "dtype": "float64", "tol": exact_probe.EXACT_TOL,
            "tol_meaning": "max |gradient| of the mean-loss objective <= tol * max(1, max|x|)",
            "tie_band": exact_probe.TIE_BAND}


def build_submission(
    entry: ModelEntry,
    suite: Suite,
    spec: BenchmarkSpec,
    results: dict[str, dict[str, RegimeResult]],
    *,
    extractor: dict[str, Any],
    data_hashes: dict[str, dict[str, str]],
    exact: dict[str, dict[str, RegimeResult]] | None = None,
    noise: NoiseFloor | None = None,
    machine: dict[str, Any] | None = None,
    fit_dtype: str | None = None,
    embedding_sha256: dict[str, str] | None = None,
    submitted_by: str = "",
    provenance: str = "self-reported",
) -> Submission:
    """``results`` and ``exact`` map task id -> regime -> result (protocol and exact probe)."""
    by_regime, per_seed = _by_regime(results, spec, suite.task_ids)
    submission: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "model_id": entry.model_id,
        "harness_version": HARNESS_VERSION,
        "suite": suite.name,
        "meta": submission_meta(entry.model_id, provenance=provenance, submitted_by=submitted_by),
        "results": by_regime,
    }
    settings: dict[str, Any] = {
        "harness_version": HARNESS_VERSION,
        "code_revision": code_revision(),
        "suite": {"name": suite.name, "subsample": suite.is_subsample,
                  "tasks": list(suite.task_ids)},
        "dataset": {"repo_id": spec.dataset.repo_id, "revision": spec.dataset.revision},
        "data_md5": data_hashes,
        **({"embedding_sha256": embedding_sha256} if embedding_sha256 else {}),
        "extractor": extractor,
        "probe": {
            "estimator": "sklearn.linear_model.LogisticRegression",
            "max_iter": spec.protocol.max_iter,
            "seeds": list(spec.protocol.seeds),
            "few_shot_k": list(spec.protocol.few_shot_k),
            "other_settings": "scikit-learn defaults (lbfgs, L2, C=1, no class weights, no scaling)",
            **({"fit_dtype": fit_dtype} if fit_dtype else {}),
            **({"exact": exact_probe_settings()} if exact is not None else {}),
        },
        "packages": package_versions(),
        **({"machine": machine} if machine is not None else {}),
        "per_seed": per_seed,
    }
    if exact is not None:
        submission["exact_results"], settings["exact_per_seed"] = _by_regime(exact, spec,
                                                                             suite.task_ids)
    if noise is not None:
        settings["noise_floor"] = noise.to_json()
    submission["run_settings"] = settings
    return Submission.from_json(submission)
