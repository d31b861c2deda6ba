"""The submission record: one model's scores on one suite, as a typed, immutable value.

A submission file (``submissions/<model_id>.json`` for the official board,
``results/<suite>/submissions/<model_id>.json`` for a run on another suite) holds the published
schema v1.0 keys (``schema_version, model_id, harness_version, meta, results``) and GENEB's
optional additions (``suite``, ``exact_results``, ``run_settings``). This module is the only
place that knows that layout, the suite of a file that names none (:data:`DEFAULT_SUITE`: the 41
published files ran on the full suite) and which tasks a file covers. Validation lives in
:mod:`stages.validate`, finding and reading files in :mod:`stages.submission_store`, building one
from probe results in :mod:`stages.submission_build`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stages.spec import BenchmarkSpec

SCHEMA_VERSION = "1.0"
DEFAULT_SUITE = "full"  # the suite of a submission that names none (every published file)

Scores = Mapping[str, Mapping[str, Mapping[str, float]]]  # regime -> task id -> metric -> mean


def claimed_suite(data: Mapping[str, Any]) -> Any:
    """The suite a parsed (possibly invalid) file claims: its ``suite``, else the default."""
    return data.get("suite", DEFAULT_SUITE)


@dataclass(frozen=True)
class Submission:
    """One submission file's content; :meth:`to_json` gives back the same JSON object.

    Frozen at the top level; the nested mappings are the parsed JSON and are not copied, so treat
    them as read-only.
    """

    schema_version: str
    model_id: str
    harness_version: str
    meta: Mapping[str, Any]
    results: Scores
    declared_suite: str | None = None  # ``suite`` as written (``None``: the published files)
    exact_results: Scores | None = None
    run_settings: Mapping[str, Any] | None = None
    path: Path | None = field(default=None, compare=False)  # where it was read from, if anywhere

    @classmethod
    def from_json(cls, data: Mapping[str, Any], path: Path | None = None) -> Submission:
        """The record of a parsed file (validate it first: :func:`stages.validate.check_submission`)."""
        return cls(schema_version=data["schema_version"], model_id=data["model_id"],
                   harness_version=data["harness_version"], meta=data["meta"],
                   results=data["results"], declared_suite=data.get("suite"),
                   exact_results=data.get("exact_results"), run_settings=data.get("run_settings"),
                   path=None if path is None else Path(path))

    def to_json(self) -> dict[str, Any]:
        """The JSON object, keys in the file order (published keys first, additions after)."""
        data: dict[str, Any] = {"schema_version": self.schema_version, "model_id": self.model_id,
                                "harness_version": self.harness_version}
        if self.declared_suite is not None:
            data["suite"] = self.declared_suite
        data.update(meta=self.meta, results=self.results)
        if self.exact_results is not None:
            data["exact_results"] = self.exact_results
        if self.run_settings is not None:
            data["run_settings"] = self.run_settings
        return data

    @property
    def suite(self) -> str:
        return self.declared_suite or DEFAULT_SUITE

    @property
    def is_full_suite(self) -> bool:
        return self.suite == DEFAULT_SUITE

    def describe_suite(self) -> str:
        """How a report names the suite, warning that a subsample's scores are not GENEB scores."""
        if not self.is_full_suite:
            return f"suite '{self.suite}' (a subsample: these are NOT GENEB scores)"
        return "suite 'full' (GENEB scores)"

    def task_ids(self, spec: BenchmarkSpec) -> tuple[str, ...]:
        """The tasks it ran on: those its run settings record, else all of its suite's."""
        recorded = self.settings("suite").get("tasks")
        return tuple(recorded) if recorded else spec.suite(self.suite).task_ids

    def settings(self, key: str) -> Mapping[str, Any]:
        """One section of ``run_settings`` (empty when the file has none, as published ones)."""
        return (self.run_settings or {}).get(key) or {}

    def per_seed(self, exact: bool = False) -> Mapping[str, Mapping[str, Mapping[str, Any]]]:
        """regime -> task id -> per-seed scores and fit record, of either probe (may be empty)."""
        return self.settings("exact_per_seed" if exact else "per_seed")

    @property
    def noise_floor(self) -> Mapping[str, Any] | None:
        """The recorded machine noise floor of the protocol numbers (``None``: not measured)."""
        return self.settings("noise_floor") or None

    def noise_floor_results(self) -> Scores | None:
        """regime -> task id -> metric -> floor, where recorded."""
        return (self.noise_floor or {}).get("results")
