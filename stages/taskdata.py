"""Load and validate one task's CSVs (``<data_dir>/<task_id>/{train,test}.csv``, columns ``text,label``).

Alphabet policy (documented in docs/data-policy.md): sequences are upper-cased (lower case is
soft-masking, not a different base); ``A C G T N`` are kept; the other IUPAC ambiguity codes
``R Y S W K M B D H V`` are replaced by ``N`` and counted; anything else (``U``, gaps, digits,
whitespace) is an error that names the file, row and character.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from stages.errors import GenebError
from stages.io_utils import file_md5

if TYPE_CHECKING:
    import pandas as pd

SPLITS: tuple[str, ...] = ("train", "test")
COLUMNS: tuple[str, ...] = ("text", "label")
AMBIGUITY_CODES = "RYSWKMBDHV"
_AMBIGUOUS = re.compile(f"[{AMBIGUITY_CODES}]")
_INVALID = re.compile(f"[^ACGTN{AMBIGUITY_CODES}]")
_LABEL = re.compile(r"^-?\d+$")


class TaskDataError(GenebError, ValueError):
    """A task CSV is missing or malformed; the message names the file, row and problem."""


@dataclass(frozen=True)
class Split:
    sequences: list[str]
    labels: np.ndarray
    path: Path
    md5: str
    ambiguous_replaced: int = 0


@dataclass(frozen=True)
class TaskData:
    task_id: str
    train: Split
    test: Split
    classes: np.ndarray = field(repr=False)

    @property
    def data_hashes(self) -> dict[str, str]:
        return {"train": self.train.md5, "test": self.test.md5}


def _check_header(path: Path) -> None:
    with open(path, newline="", encoding="utf-8") as handle:
        header_line = handle.readline().rstrip("\r\n")
    if not header_line:
        raise TaskDataError(f"{path}: file is empty (expected a header 'text,label')")
    header = next(csv.reader([header_line]))
    if len(header) == 1:
        for delimiter, name in (("\t", "tab"), (";", "semicolon"), ("|", "pipe")):
            if delimiter in header_line:
                raise TaskDataError(
                    f"{path}: row 1 (header): wrong delimiter ({name}); the file must be comma-separated"
                )
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise TaskDataError(f"{path}: row 1 (header): duplicate column(s) {duplicates}")
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        raise TaskDataError(
            f"{path}: row 1 (header): missing column(s) {missing}; found {header} (expected 'text,label')"
        )


def _normalise_sequences(path: Path, raw: pd.Series) -> tuple[list[str], int]:
    sequences = raw.str.strip().str.upper()
    for index, sequence in sequences.items():
        row = int(index) + 2  # 1-based, after the header
        if not sequence:
            raise TaskDataError(f"{path}: row {row}: empty sequence in column 'text'")
        bad = _INVALID.search(sequence)
        if bad:
            raise TaskDataError(
                f"{path}: row {row}: character {bad.group()!r} at position {bad.start() + 1} "
                "is not a DNA/IUPAC code (allowed: ACGTN and RYSWKMBDHV, any case)"
            )
    ambiguous = int(sequences.str.count(_AMBIGUOUS.pattern).sum())
    if ambiguous:
        sequences = sequences.str.replace(_AMBIGUOUS.pattern, "N", regex=True)
    return sequences.tolist(), ambiguous


def _parse_labels(path: Path, raw: pd.Series) -> np.ndarray:
    cleaned = raw.str.strip()
    bad = ~cleaned.str.match(_LABEL)
    if bad.any():
        index = int(bad.idxmax())
        raise TaskDataError(f"{path}: row {index + 2}: label {raw[index]!r} is not an integer")
    return cleaned.astype(np.int64).to_numpy()


def read_split(path: Path) -> Split:
    """Read and validate one split CSV."""
    path = Path(path)
    if not path.is_file():
        raise TaskDataError(f"{path}: split file is missing")
    _check_header(path)
    import pandas as pd  # here, not at the top: a stage that only hashes files never pays for it

    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise TaskDataError(f"{path}: cannot parse CSV: {exc}") from exc
    if frame.empty:
        raise TaskDataError(f"{path}: no data rows")
    sequences, ambiguous = _normalise_sequences(path, frame["text"])
    labels = _parse_labels(path, frame["label"])
    return Split(sequences, labels, path, file_md5(path), ambiguous)


def load_task(data_dir: Path, task_id: str) -> TaskData:
    """Load both splits of a task and check that the labels form a proper ``0..C-1`` problem."""
    task_dir = Path(data_dir) / task_id
    if not task_dir.is_dir():
        raise TaskDataError(f"{task_dir}: task directory is missing (task {task_id!r})")
    train = read_split(task_dir / "train.csv")
    test = read_split(task_dir / "test.csv")
    classes = np.unique(train.labels)
    expected = np.arange(len(classes))
    if len(classes) < 2:
        raise TaskDataError(f"{train.path}: only one class ({classes.tolist()}) in train")
    if not np.array_equal(classes, expected):
        raise TaskDataError(
            f"{train.path}: labels must be 0..{len(classes) - 1}, found {classes.tolist()}"
        )
    unseen = np.setdiff1d(np.unique(test.labels), classes)
    if unseen.size:
        row = int(np.flatnonzero(np.isin(test.labels, unseen))[0]) + 2
        raise TaskDataError(
            f"{test.path}: row {row}: class {int(unseen[0])} is in test but absent from train"
        )
    return TaskData(task_id, train, test, classes)
