"""The benchmark definition: one typed loader for ``benchmark_spec.json`` and ``suites.json``.

Every other module gets tasks, categories, seeds and suites from here; nothing else parses
these files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jsonschema

from stages import paths
from stages.errors import GenebError

REGIMES: tuple[str, ...] = ("full", "10shot", "1shot")
METRICS: tuple[str, ...] = ("MCC", "Acc", "F1")


class SpecError(GenebError, ValueError):
    """The benchmark definition or a suite file is malformed."""


@dataclass(frozen=True)
class Task:
    id: str
    label: str
    category: str


@dataclass(frozen=True)
class DatasetPin:
    repo_id: str
    source: str
    revision: str


@dataclass(frozen=True)
class Protocol:
    max_iter: int
    seeds: tuple[int, ...]
    few_shot_k: tuple[int, ...]

    def regime_k(self, regime: str) -> int | None:
        """Shots per class for a regime name (``None`` for the full regime)."""
        if regime == "full":
            return None
        if not regime.endswith("shot") or not regime[:-4].isdigit():
            raise SpecError(f"unknown regime {regime!r}")
        return int(regime[:-4])


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    task_ids: tuple[str, ...]
    data_dir: Path
    is_subsample: bool
    subsample_rule: dict | None = None

    @property
    def is_official(self) -> bool:
        """Only the full suite produces GENEB scores; anything subsampled is a smoke test."""
        return self.name == "full" and not self.is_subsample


@dataclass(frozen=True)
class BenchmarkSpec:
    name: str
    harness_version: str
    regimes: tuple[str, ...]
    metrics: tuple[str, ...]
    primary_metric: str
    protocol: Protocol
    dataset: DatasetPin
    category_order: tuple[str, ...]
    tasks: tuple[Task, ...]
    suites: dict[str, Suite]

    @property
    def task_ids(self) -> tuple[str, ...]:
        return tuple(task.id for task in self.tasks)

    def task(self, task_id: str) -> Task:
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise KeyError(f"unknown GENEB task id {task_id!r}")

    def tasks_by_category(self, task_ids: tuple[str, ...] | None = None) -> dict[str, list[str]]:
        """Category -> task ids, in the published category order (empty categories dropped)."""
        wanted = set(self.task_ids if task_ids is None else task_ids)
        grouped: dict[str, list[str]] = {category: [] for category in self.category_order}
        for task in self.tasks:
            if task.id in wanted:
                grouped[task.category].append(task.id)
        return {category: ids for category, ids in grouped.items() if ids}

    def suite(self, name: str) -> Suite:
        try:
            return self.suites[name]
        except KeyError:
            raise SpecError(f"unknown suite {name!r}; known: {', '.join(sorted(self.suites))}") from None


def _load_json(path: Path, schema_name: str) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SpecError(f"{path}: cannot read JSON: {exc}") from exc
    schema = json.loads((paths.SCHEMA_DIR / schema_name).read_text(encoding="utf-8"))
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(data), key=str)
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "<root>"
        raise SpecError(f"{path}: field {where}: {errors[0].message}")
    return data


def _check_consistency(path: Path, data: dict) -> None:
    counts: dict[str, int] = {}
    seen: set[str] = set()
    for task in data["tasks"]:
        if task["id"] in seen:
            raise SpecError(f"{path}: duplicate task id {task['id']!r}")
        seen.add(task["id"])
        if task["category"] not in data["category_order"]:
            raise SpecError(f"{path}: task {task['id']!r} has unknown category {task['category']!r}")
        counts[task["category"]] = counts.get(task["category"], 0) + 1
    if counts != data["categories"]:
        raise SpecError(f"{path}: 'categories' counts {data['categories']} disagree with tasks {counts}")
    if set(data["category_order"]) != set(data["categories"]):
        raise SpecError(f"{path}: 'category_order' and 'categories' name different categories")


def load_spec(spec_path: Path | None = None, suites_path: Path | None = None) -> BenchmarkSpec:
    """Load and validate the benchmark definition and its suites."""
    spec_path = Path(spec_path or paths.SPEC_PATH)
    suites_path = Path(suites_path or paths.SUITES_PATH)
    data = _load_json(spec_path, "benchmark_spec.schema.json")
    _check_consistency(spec_path, data)
    tasks = tuple(Task(t["id"], t["label"], t["category"]) for t in data["tasks"])
    known = {task.id for task in tasks}

    suites: dict[str, Suite] = {}
    for name, entry in _load_json(suites_path, "suites.schema.json").items():
        ids = tuple(t.id for t in tasks) if entry["tasks"] == "all" else tuple(entry["tasks"])
        unknown = [task_id for task_id in ids if task_id not in known]
        if unknown:
            raise SpecError(f"{suites_path}: suite {name!r} names unknown tasks {unknown}")
        data_dir = Path(entry["data_dir"])
        suites[name] = Suite(
            name=name,
            description=entry["description"],
            task_ids=ids,
            data_dir=data_dir if data_dir.is_absolute() else paths.REPO_ROOT / data_dir,
            is_subsample=entry["subsample"],
            subsample_rule=entry.get("subsample_rule"),
        )

    protocol = data["protocol"]
    return BenchmarkSpec(
        name=data["name"],
        harness_version=data["harness_version"],
        regimes=tuple(data["regimes"]),
        metrics=tuple(data["metrics"]),
        primary_metric=data["primary_metric"],
        protocol=Protocol(
            max_iter=protocol["logreg"]["max_iter"],
            seeds=tuple(protocol["seeds"]),
            few_shot_k=tuple(protocol["few_shot_k"]),
        ),
        dataset=DatasetPin(**{k: data["dataset"][k] for k in ("repo_id", "source", "revision")}),
        category_order=tuple(data["category_order"]),
        tasks=tasks,
        suites=suites,
    )


@lru_cache(maxsize=1)
def default_spec() -> BenchmarkSpec:
    """The repository's own spec, loaded once per process."""
    return load_spec()
