"""The files ``dvc metrics`` and ``dvc plots`` show for each model, written by ``score@<model>``.

All live under the suite's results folder (``results/<suite>/``), one set per model:

* ``metrics/<model>.json``, the declared metrics file: the numbers compared first (Macro of the
  primary metric per regime, and the full regime's Micro) under short keys, so that the default
  ``dvc metrics show`` (one row per model, one column per key, nested keys joined with ``.``)
  fits a 120-column terminal.
* ``metrics/details/<model>.json``: the whole summary (Macro, Micro and every category, per regime
  and metric). A plain output, not a declared metrics file: DVC puts the union of all declared
  files' keys into one table, so declaring it would bring back the 45-column view. ``dvc metrics
  show <path>`` and ``dvc metrics diff --targets <path>`` read it all the same.
* ``plots/<model>/categories.json`` and ``plots/<model>/regimes.json``: the rows behind the two
  ``dvc plots`` of the model (template and axes are declared in ``dvc.yaml``).

Each is a view of one :func:`stages.aggregate.submission_summary`: no number is computed here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stages.aggregate import submission_summary
from stages.io_utils import atomic_write_json
from stages.spec import BenchmarkSpec
from stages.submission import Submission

# Kind -> path below the suite's results folder; `{model}` is the model id. tests/test_dvc_views.py
# checks that dvc.yaml declares exactly these outputs of `score@<model>`.
REPORT_FILES: dict[str, str] = {
    "metrics": "metrics/{model}.json",
    "details": "metrics/details/{model}.json",
    "categories": "plots/{model}/categories.json",
    "regimes": "plots/{model}/regimes.json",
}


def report_paths(results: Path, model_id: str) -> dict[str, Path]:
    """Where each report file of ``model_id`` goes below ``results`` (``results/<suite>``)."""
    return {kind: Path(results) / pattern.format(model=model_id)
            for kind, pattern in REPORT_FILES.items()}


def metrics_details(submission: Submission, spec: BenchmarkSpec) -> dict[str, Any]:
    """The details file: model, suite and the summary of every regime and metric."""
    return {"model_id": submission.model_id, "suite": submission.suite,
            **submission_summary(submission, spec)}


def headline_metrics(details: dict[str, Any], spec: BenchmarkSpec) -> dict[str, Any]:
    """The ``dvc metrics show`` row: ``{metric: {<regime>: Macro..., "<full>_micro": Micro}}``."""
    metric, full = spec.primary_metric, spec.regimes[0]
    row: dict[str, float | None] = {regime: details[regime][metric]["macro"] for regime in spec.regimes}
    row[f"{full}_micro"] = details[full][metric]["micro"]
    return {metric: row}


def category_rows(details: dict[str, Any], spec: BenchmarkSpec) -> list[dict[str, Any]]:
    """One row per category: the full regime's category mean of the primary metric."""
    metric = spec.primary_metric
    categories = details[spec.regimes[0]][metric]["categories"]
    return [{"category": category, metric: value} for category, value in categories.items()]


def regime_rows(details: dict[str, Any], spec: BenchmarkSpec) -> list[dict[str, Any]]:
    """One row per regime: the Macro of the primary metric."""
    metric = spec.primary_metric
    return [{"regime": regime, metric: details[regime][metric]["macro"]} for regime in spec.regimes]


def report_contents(submission: Submission, spec: BenchmarkSpec) -> dict[str, Any]:
    """Kind (a key of :data:`REPORT_FILES`) -> the JSON content of that file."""
    details = metrics_details(submission, spec)
    return {"metrics": headline_metrics(details, spec), "details": details,
            "categories": category_rows(details, spec), "regimes": regime_rows(details, spec)}


def write_reports(submission: Submission, spec: BenchmarkSpec, results: Path) -> dict[str, Path]:
    """Write the model's report files below ``results`` (each atomically); returns kind -> path."""
    paths = report_paths(results, submission.model_id)
    for kind, content in report_contents(submission, spec).items():
        atomic_write_json(paths[kind], content)
    return paths
