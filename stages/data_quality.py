"""Data-quality statistics of every task the repository has data for (``geneb data-quality``).

Per task and split: rows, class counts and balance, length distribution, characters outside ACGT,
exact duplicates, reverse-complement duplicates and sequences seen with more than one label; across
splits: test rows whose sequence (or only its reverse complement) is in train. Sequences are read by
:mod:`stages.taskdata`, so they are upper-cased and IUPAC ambiguity codes are already ``N`` (the
count of replaced codes is kept). The statistics are committed as
``benchmark/data_quality/<suite>.json``; ``--check`` regenerates and compares them, and
``tests/test_data_quality.py`` fails on any issue not in ``known_issues.yaml`` and on any listed
issue that no longer occurs. docs/data-quality.md explains every field.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from stages import paths
from stages.extractors.base import reverse_complement
from stages.io_utils import atomic_write_json
from stages.spec import BenchmarkSpec
from stages.task_stats import split_stats
from stages.taskdata import SPLITS, load_task

DQ_DIR = paths.BENCHMARK_DIR / "data_quality"
KNOWN_ISSUES_PATH = DQ_DIR / "known_issues.yaml"
# counts that must be zero unless listed in known_issues.yaml (path inside a task's record)
ISSUE_FIELDS: tuple[str, ...] = (
    "train_test.test_in_train_exact",
    "train_test.test_in_train_revcomp",
    "train_test.label_disagreements",
    "train.label_conflicts",
    "test.label_conflicts",
    "train.exact_duplicates",
    "test.exact_duplicates",
)


def _labels_by_sequence(sequences: list[str], labels: np.ndarray) -> dict[str, set[int]]:
    seen: dict[str, set[int]] = defaultdict(set)
    for sequence, label in zip(sequences, labels.tolist(), strict=True):
        seen[sequence].add(int(label))
    return seen


def split_quality(sequences: list[str], labels: np.ndarray) -> dict[str, Any]:
    """Counts, balance, lengths, non-ACGT characters and duplicates of one split."""
    base = split_stats(sequences, labels)
    counts = np.array(list(base["classes"].values()))
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    n_count = sum(s.count("N") for s in sequences)
    canonical = {min(s, rc) for s, rc in zip(sequences, reverse_complement(sequences), strict=True)}
    unique = set(sequences)
    return {
        **base,
        "minority_fraction": round(float(counts.min() / counts.sum()), 6),
        "length": {
            **base["length"],
            "mean": round(float(lengths.mean()), 3),
            **{f"p{q}": float(np.percentile(lengths, q)) for q in (5, 25, 75, 95)},
        },
        "non_acgt": {"N": int(n_count), "rows_with_N": sum(1 for s in sequences if "N" in s)},
        "exact_duplicates": len(sequences) - len(unique),
        "revcomp_duplicates": len(unique) - len(canonical),
        "label_conflicts": sum(1 for v in _labels_by_sequence(sequences, labels).values()
                               if len(v) > 1),
    }


def cross_split_quality(train: tuple[list[str], np.ndarray], test: tuple[list[str], np.ndarray]
                        ) -> dict[str, int]:
    """Test rows found in train: exactly, only as reverse complement, and with another label."""
    train_labels = _labels_by_sequence(*train)
    exact = revcomp = disagree = 0
    for sequence, rc, label in zip(test[0], reverse_complement(test[0]), test[1].tolist(),
                                   strict=True):
        match = train_labels.get(sequence)
        if match is not None:
            exact += 1
        else:
            match = train_labels.get(rc)
            revcomp += match is not None
        disagree += match is not None and match != {int(label)}
    return {"test_in_train_exact": exact, "test_in_train_revcomp": revcomp,
            "label_disagreements": disagree}


def task_quality(data_dir: Path, task_id: str, spec: BenchmarkSpec) -> dict[str, Any]:
    """The full record of one task."""
    task = load_task(data_dir, task_id)
    splits = {name: getattr(task, name) for name in SPLITS}
    record: dict[str, Any] = {"category": spec.task(task_id).category, "data_md5": task.data_hashes}
    for name, split in splits.items():
        record[name] = {**split_quality(split.sequences, split.labels),
                        "ambiguous_replaced": split.ambiguous_replaced}
    record["train_test"] = cross_split_quality(
        *((split.sequences, split.labels) for split in splits.values()))
    return record


def tasks_with_data(suite_name: str, spec: BenchmarkSpec) -> list[str]:
    suite = spec.suite(suite_name)
    return [t for t in suite.task_ids if (suite.data_dir / t).is_dir()]


def suite_quality(suite_name: str, spec: BenchmarkSpec) -> dict[str, Any]:
    """Statistics of every task of the suite whose data is in the repository."""
    suite = spec.suite(suite_name)
    task_ids = tasks_with_data(suite_name, spec)
    if not task_ids:
        raise FileNotFoundError(f"{suite.data_dir}: no task data for suite {suite_name!r}")
    missing = len(suite.task_ids) - len(task_ids)
    return {
        "suite": suite_name,
        "generated_by": f"geneb data-quality --suite {suite_name}",
        "data_dir": suite.data_dir.relative_to(paths.REPO_ROOT).as_posix()
        if suite.data_dir.is_relative_to(paths.REPO_ROOT) else str(suite.data_dir),
        "tasks_without_data": missing,
        "tasks": {t: task_quality(suite.data_dir, t, spec) for t in task_ids},
    }


def stats_path(suite_name: str) -> Path:
    return DQ_DIR / f"{suite_name}.json"


def write_suite_quality(suite_name: str, spec: BenchmarkSpec) -> Path:
    path = stats_path(suite_name)
    atomic_write_json(path, suite_quality(suite_name, spec))
    return path


def stale_fields(suite_name: str, spec: BenchmarkSpec) -> list[str]:
    """Paths (``task/field/...``) where the committed statistics differ from regenerated ones."""
    path = stats_path(suite_name)
    if not path.is_file():
        return [f"missing (run `geneb data-quality --suite {suite_name}`)"]
    committed = json.loads(path.read_text(encoding="utf-8"))
    fresh = json.loads(json.dumps(suite_quality(suite_name, spec)))
    return _diff(committed, fresh, "")


def _diff(old: Any, new: Any, where: str) -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            out += _diff(old.get(key), new.get(key), f"{where}/{key}" if where else str(key))
        return out
    return [] if old == new else [f"{where}: committed {old!r}, now {new!r}"]


def issue_counts(stats: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Task -> issue field -> non-zero count, for every field in :data:`ISSUE_FIELDS`."""
    found: dict[str, dict[str, int]] = {}
    for task_id, record in stats["tasks"].items():
        for field in ISSUE_FIELDS:
            part, name = field.split(".")
            if record[part][name]:
                found.setdefault(task_id, {})[field] = record[part][name]
    return found


def load_known_issues(path: Path = KNOWN_ISSUES_PATH) -> dict[str, dict[str, dict[str, int]]]:
    """``{suite: {task: {issue field: count}}}`` from the known-issues list."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    known = raw.get("known_issues") or {}
    for suite, tasks in known.items():
        for task_id, issues in (tasks or {}).items():
            unknown = sorted(set(issues or {}) - set(ISSUE_FIELDS))
            if unknown:
                raise ValueError(f"{path}: known_issues.{suite}.{task_id}: unknown field(s) "
                                 f"{unknown}; known: {list(ISSUE_FIELDS)}")
    return {s: {t: dict(i or {}) for t, i in (tasks or {}).items()} for s, tasks in known.items()}


def issue_problems(found: dict[str, dict[str, int]], known: dict[str, dict[str, int]]) -> list[str]:
    """New issues, listed issues that are fixed, and listed counts that changed."""
    problems = []
    for task_id in sorted(set(found) | set(known)):
        now, listed = found.get(task_id, {}), known.get(task_id, {})
        for field in sorted(set(now) | set(listed)):
            if field not in listed:
                problems.append(f"{task_id}: new issue {field} = {now[field]} (fix the data or "
                                "add it to known_issues.yaml with a reason)")
            elif field not in now:
                problems.append(f"{task_id}: listed issue {field} is fixed; remove it from "
                                "known_issues.yaml")
            elif now[field] != listed[field]:
                problems.append(f"{task_id}: {field} is {now[field]}, known_issues.yaml says "
                                f"{listed[field]}; update the list")
    return problems


def summary_table(stats: dict[str, Any]) -> str:
    """One line per task: rows, balance, lengths, N, duplicates and leakage counts."""
    header = ("task", "train/test", "minority", "len min-med-max", "N rows", "dup tr/te",
              "rc-dup tr/te", "test∈train exact/rc")
    rows = [header]
    for task_id, r in stats["tasks"].items():
        tr, te, x = r["train"], r["test"], r["train_test"]
        rows.append((
            task_id, f"{tr['rows']}/{te['rows']}",
            f"{min(tr['minority_fraction'], te['minority_fraction']):.3f}",
            f"{min(tr['length']['min'], te['length']['min'])}-{tr['length']['median']:g}-"
            f"{max(tr['length']['max'], te['length']['max'])}",
            str(tr["non_acgt"]["rows_with_N"] + te["non_acgt"]["rows_with_N"]),
            f"{tr['exact_duplicates']}/{te['exact_duplicates']}",
            f"{tr['revcomp_duplicates']}/{te['revcomp_duplicates']}",
            f"{x['test_in_train_exact']}/{x['test_in_train_revcomp']}",
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def check_suite(suite_name: str, spec: BenchmarkSpec,
                known_path: Path = KNOWN_ISSUES_PATH) -> list[str]:
    """Everything CI must fail on: stale committed statistics, new or fixed known issues."""
    problems = stale_fields(suite_name, spec)
    if problems:
        return [f"{stats_path(suite_name)} is stale: {p}" for p in problems]
    stats = json.loads(stats_path(suite_name).read_text(encoding="utf-8"))
    known = load_known_issues(known_path).get(suite_name, {})
    return [f"{suite_name}: {p}" for p in issue_problems(issue_counts(stats), known)]


def suites_with_data(spec: BenchmarkSpec) -> list[str]:
    return [name for name in sorted(spec.suites) if tasks_with_data(name, spec)]

