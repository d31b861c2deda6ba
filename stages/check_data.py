"""Check any folder of task CSVs by the loader's own rules (``geneb check-data``, ``publish-data``).

A folder is one task (it holds ``train.csv`` or ``test.csv``) or a folder of task folders. Each
task goes through :func:`stages.taskdata.inspect_task`, the function the suite loaders call, so a
folder this module passes is one the pipeline will read, and no rule exists twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from stages.errors import GenebError
from stages.taskdata import COLUMNS, SPLITS, Problem, inspect_task, raise_problems

SHOWN_PER_FILE = 50  # problems printed per file; the summary counts them all


@dataclass(frozen=True)
class DataCheck:
    """What checking a folder found: row counts and MD5s of the clean tasks by id, every problem."""

    root: Path
    checked: int
    clean: dict[str, dict[str, int | str]] = field(repr=False)
    problems: tuple[Problem, ...]

    def summary(self) -> str:
        return f"{self.checked} task(s) checked, {len(self.problems)} problem(s)"

    def report(self, per_file: int = SHOWN_PER_FILE) -> list[str]:
        """One line per problem (at most ``per_file`` per file, then a count), then the summary."""
        by_file: dict[Path, list[Problem]] = {}
        for problem in self.problems:
            by_file.setdefault(problem.path, []).append(problem)
        lines = []
        for path, problems in by_file.items():
            lines += [str(problem) for problem in problems[:per_file]]
            if len(problems) > per_file:
                lines.append(f"{path}: ... {len(problems) - per_file} more problem(s) in this file")
        return [*lines, self.summary()]

    def raise_if_problems(self) -> None:
        """Fail on the first problem, naming how many there are and how to list them."""
        raise_problems(self.problems, self.root)


def task_folders(root: Path) -> list[Path]:
    """``root`` itself when it is a task folder, else its task subfolders (hidden ones skipped)."""
    root = Path(root)
    if not root.is_dir():
        raise GenebError(f"{root}: no such folder")
    if any((root / f"{split}.csv").exists() for split in SPLITS):
        return [root]
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise GenebError(f"{root}: neither a task folder (train.csv, test.csv with columns "
                         f"{','.join(COLUMNS)}) nor a folder of task folders")
    return folders


def check_tasks(root: Path, task_ids: Iterable[str] | None = None) -> DataCheck:
    """Check the tasks under ``root``: ``task_ids`` (``root/<id>``), or every task folder found."""
    root = Path(root)
    folders = [root / t for t in task_ids] if task_ids is not None else task_folders(root)
    clean: dict[str, dict[str, int | str]] = {}
    problems: list[Problem] = []
    for folder in folders:  # one task in memory at a time
        task, found = inspect_task(folder)
        problems += found
        if task is not None:
            clean[task.task_id] = {"train_rows": len(task.train.sequences),
                                   "test_rows": len(task.test.sequences),
                                   "train_md5": task.train.md5, "test_md5": task.test.md5}
    return DataCheck(root, len(folders), clean, tuple(problems))
