"""Build the lite suite: a seeded, stratified subsample of the 13 real GUE tasks in ``shared/data/gue``.

Re-runnable: the same source files and rule always give byte-identical CSVs. The output uses the
layout and columns of the pinned Hugging Face dataset (``tasks/<task_id>/{train,test}.csv``,
columns ``text,label``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from stages import paths
from stages.io_utils import atomic_write_text, file_md5
from stages.spec import BenchmarkSpec, default_spec
from stages.taskdata import SPLITS

DEFAULT_SOURCE = paths.REPO_ROOT.parent / "shared" / "data" / "gue"


def subsample_indices(labels: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """Row indices of a stratified subsample of at most ``limit`` rows, in original file order."""
    indices = np.arange(len(labels))
    if len(labels) <= limit:
        return indices
    kept, _ = train_test_split(indices, train_size=limit, stratify=labels, random_state=seed)
    return np.sort(kept)


def build_task(
    source_dir: Path, out_dir: Path, task_id: str, limits: dict[str, int], seed: int
) -> dict[str, dict]:
    provenance = {}
    for split in SPLITS:
        source = source_dir / task_id / f"{split}.csv"
        frame = pd.read_csv(source, dtype={"sequence": str, "label": np.int64})
        kept = subsample_indices(frame["label"].to_numpy(), limits[split], seed)
        subset = frame.iloc[kept].rename(columns={"sequence": "text"})[["text", "label"]]
        target = out_dir / task_id / f"{split}.csv"
        atomic_write_text(target, subset.to_csv(index=False, lineterminator="\n"))
        provenance[split] = {
            "source_rows": len(frame),
            "rows": len(subset),
            "source_md5": file_md5(source),
            "md5": file_md5(target),
        }
    return provenance


def build_lite(source_dir: Path, spec: BenchmarkSpec) -> Path:
    """Write the lite CSVs and their provenance note by the rule in ``benchmark/suites.json``."""
    suite = spec.suite("lite")
    rule = suite.subsample_rule or {}
    seed = rule["seed"]
    limits = {"train": rule["max_train"], "test": rule["max_test"]}
    rows = []
    for task_id in suite.task_ids:
        record = build_task(source_dir, suite.data_dir, task_id, limits, seed)
        rows.append(
            f"| {task_id} | {record['train']['rows']} / {record['train']['source_rows']} "
            f"| {record['test']['rows']} / {record['test']['source_rows']} "
            f"| `{record['train']['source_md5']}` | `{record['test']['source_md5']}` |"
        )
    note = "\n".join(
        [
            "# GENEB lite suite — provenance",
            "",
            "**A subsample. Scores on these files are smoke-test numbers, not GENEB scores.**",
            "",
            "Source: the official GUE train/test splits of 13 GENEB tasks (DNABERT-2's GUE,",
            "Apache-2.0, copied unchanged from `wds-seu/DeepGene` commit",
            "`486343e5212361d6cd7ed03c624f430ed3d5f02e`, folder `data/GUE/`), as kept in",
            "`shared/data/gue/`. GUE's column `sequence` is renamed `text` to match the pinned",
            "Hugging Face dataset `DeepPavlov/geneb-tasks`.",
            "",
            f"Rule: per task and split, a stratified random subsample (scikit-learn "
            f"`train_test_split(stratify=labels, random_state={seed})`) of at most "
            f"{limits['train']} train and {limits['test']} test rows, kept in source order. "
            "Regenerate with `python -m stages.build_lite`.",
            "",
            "| task | train rows (kept / source) | test rows (kept / source) | source train md5 | source test md5 |",
            "|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
    target = suite.data_dir.parent / "PROVENANCE.md"
    atomic_write_text(target, note)
    return suite.data_dir


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="folder of GUE task dirs")
    args = parser.parse_args(argv)
    out = build_lite(args.source, default_spec())
    print(f"lite suite written to {out}")


if __name__ == "__main__":
    main()
