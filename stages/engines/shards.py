"""Shards: the unit of distributed work (one task split x one range of its sequences).

A split is put in *processing order* -- longest first, ties in input order, the order in which
GENEB's neural extractors sort their input -- and cut into ranges of that order whose boundaries
fall on multiples of the extractor's ``shard_unit`` (the chunk of sorted sequences it embeds
independently of the rest). A worker embedding a shard therefore forms exactly the batches the
local engine forms for those sequences, and the shard is bit-identical to the local rows.

Results are assembled strictly by range: every row of a split must be covered exactly once
before the task is written, so a shard that is lost, re-run or reported twice can never leave a
partial or duplicated row in the output.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SPLITS: tuple[str, ...] = ("train", "test")


@dataclass(frozen=True, order=True)
class Shard:
    task_id: str
    split: str
    start: int
    stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start

    def __str__(self) -> str:
        return f"{self.task_id}/{self.split}[{self.start}:{self.stop}]"


def processing_order(sequences: Sequence[str]) -> np.ndarray:
    """Row indices longest first, ties in input order (``HFExtractor.embed``'s sort)."""
    return np.argsort([-len(s) for s in sequences], kind="stable")


def align_up(size: int, unit: int) -> int:
    """``size`` rounded up to a multiple of ``unit``."""
    return -(-int(size) // int(unit)) * int(unit)


def plan_shards(task_id: str, split_sizes: Mapping[str, int], shard_size: int) -> list[Shard]:
    """Cut each split (in processing order) into shards of ``shard_size`` rows, the last shorter."""
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    shards = []
    for split in SPLITS:
        n = int(split_sizes[split])
        shards.extend(Shard(task_id, split, start, min(start + shard_size, n))
                      for start in range(0, n, shard_size))
    return shards


@dataclass
class TaskAssembly:
    """Collects one task's shard results; ``complete`` only when every row is covered once.

    ``orders[split]`` maps a position of the processing order back to the input row.
    """

    task_id: str
    orders: Mapping[str, np.ndarray]
    shards: tuple[Shard, ...]
    results: dict[Shard, np.ndarray] = field(default_factory=dict)
    reports: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, shard: Shard, vectors: np.ndarray, seconds: float,
            report: dict[str, Any] | None = None) -> bool:
        """Store one shard's rows; a repeated shard is ignored (returns ``False``)."""
        if shard not in self.shards:
            raise ValueError(f"{shard} is not a shard of task {self.task_id!r}")
        if shard in self.results:
            return False
        if vectors.shape[0] != shard.size:
            raise ValueError(f"{shard}: got {vectors.shape[0]} rows, expected {shard.size}")
        self.results[shard] = vectors
        self.seconds += seconds
        if report:
            self.reports.append(report)
        return True

    @property
    def complete(self) -> bool:
        return len(self.results) == len(self.shards)

    @property
    def split_sizes(self) -> dict[str, int]:
        return {split: len(order) for split, order in self.orders.items()}

    def split_vectors(self, split: str) -> np.ndarray:
        """The split's rows in input order; raises unless the shards tile it exactly."""
        parts = sorted((s for s in self.results if s.split == split), key=lambda s: s.start)
        expected = 0
        for shard in parts:
            if shard.start != expected:
                raise ValueError(f"{self.task_id}/{split}: rows {expected}:{shard.start} missing")
            expected = shard.stop
        order = self.orders[split]
        if expected != len(order):
            raise ValueError(f"{self.task_id}/{split}: rows {expected}:{len(order)} missing")
        out = np.empty((len(order), *self.results[parts[0]].shape[1:]), dtype=np.float32)
        out[order] = np.concatenate([self.results[s] for s in parts], axis=0)
        return out


def merge_reports(reports: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Sum the shards' ``report_delta`` counters; other values keep the last shard's value."""
    merged: dict[str, Any] = {}
    for report in reports:
        for key, value in report.items():
            if _is_number(value) and _is_number(merged.get(key, 0)):
                merged[key] = merged.get(key, 0) + value
            else:
                merged[key] = value
    return merged


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
