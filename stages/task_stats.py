"""Descriptive statistics of a task's data (``geneb stats``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from stages.taskdata import TaskData


def split_stats(sequences: list[str], labels: np.ndarray) -> dict[str, Any]:
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    classes, counts = np.unique(labels, return_counts=True)
    return {
        "rows": len(sequences),
        "classes": {int(c): int(n) for c, n in zip(classes, counts, strict=True)},
        "length": {"min": int(lengths.min()), "median": float(np.median(lengths)),
                   "max": int(lengths.max())},
    }


def task_stats(task: TaskData) -> dict[str, Any]:
    """Rows, class counts and lengths per split, and exact train/test duplicates."""
    train_set = set(task.train.sequences)
    return {
        "task_id": task.task_id,
        "train": split_stats(task.train.sequences, task.train.labels),
        "test": split_stats(task.test.sequences, task.test.labels),
        "test_rows_in_train": sum(1 for s in task.test.sequences if s in train_set),
        "ambiguous_bases_replaced": task.train.ambiguous_replaced + task.test.ambiguous_replaced,
        "data_md5": task.data_hashes,
    }


def format_stats_table(rows: list[dict[str, Any]]) -> str:
    header = ("task", "train", "test", "classes", "len min/med/max", "test∩train")
    table = [header]
    for row in rows:
        lengths = [row[s]["length"] for s in ("train", "test")]
        table.append((
            row["task_id"],
            str(row["train"]["rows"]),
            str(row["test"]["rows"]),
            "/".join(str(n) for n in row["train"]["classes"].values()),
            f"{min(x['min'] for x in lengths)}/{lengths[0]['median']:g}/{max(x['max'] for x in lengths)}",
            str(row["test_rows_in_train"]),
        ))
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in table)
