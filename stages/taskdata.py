"""Load and validate one task's CSVs (``<data_dir>/<task_id>/{train,test}.csv``, columns ``text,label``).

The rules live here once: the suite loaders (:func:`load_task`), ``geneb check-data`` and
``geneb publish-data`` (:mod:`stages.check_data`) all call :func:`inspect_task`, which lists every
problem as ``FILE: line N: field: problem``. Lines are counted as in a text editor: line 1 is the
header, line 2 the first sequence (a quoted value spanning lines is counted from its first line).

Encoding: UTF-8. A UTF-8 byte-order mark, as Excel's "CSV UTF-8" writes it, is accepted and
ignored (the split's MD5 is still that of the file's bytes); any other non-UTF-8 byte is an error
naming its line, field and position. Blank lines are skipped. A row must have exactly the
header's fields: a missing (truncated) or extra (stray comma) field, or the header repeated inside
the data (two files joined), is named as such.

Alphabet policy (documented in docs/data-policy.md): sequences are upper-cased (lower case is
soft-masking, not a different base); ``A C G T N`` are kept; the other IUPAC ambiguity codes
``R Y S W K M B D H V`` are replaced by ``N`` and counted; anything else (``U``, gaps, digits,
whitespace) is an error that names the file, line and character.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stages.errors import GenebError, excerpt
from stages.io_utils import file_md5

SPLITS: tuple[str, ...] = ("train", "test")
COLUMNS: tuple[str, ...] = ("text", "label")
AMBIGUITY_CODES = "RYSWKMBDHV"
_AMBIGUOUS = re.compile(f"[{AMBIGUITY_CODES}]")
_INVALID = re.compile(f"[^ACGTN{AMBIGUITY_CODES}]")
_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # undecodable bytes, as errors="surrogateescape" keeps them
_LABEL = re.compile(r"^-?\d+$")
_BOM = "\ufeff"
_SHOWN = 80  # characters of a value quoted in a message


@dataclass(frozen=True)
class Problem:
    """One thing wrong with task data: the file, the editor line and field when known, and what."""

    path: Path
    message: str
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = [str(self.path)]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field:
            where.append(self.field)
        return ": ".join([*where, self.message])


class TaskDataError(GenebError, ValueError):
    """A task CSV is missing or malformed; the message names the file, line and problem."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems)


@dataclass(frozen=True)
class Split:
    sequences: list[str]
    labels: np.ndarray
    path: Path
    md5: str
    ambiguous_replaced: int = 0
    lines: np.ndarray | None = field(default=None, repr=False, compare=False)  # editor line per row


@dataclass(frozen=True)
class TaskData:
    task_id: str
    train: Split
    test: Split
    classes: np.ndarray = field(repr=False)

    @property
    def data_hashes(self) -> dict[str, str]:
        return {"train": self.train.md5, "test": self.test.md5}


def _cut(value: str) -> str:
    """A value from a file, cut to about 80 characters so a message stays one line."""
    return excerpt(value, _SHOWN + 1)


def _not_utf8(value: str) -> str | None:
    bad = _NOT_UTF8.search(value)
    if bad is None:
        return None
    byte = ord(bad.group()) - 0xDC00
    return (f"byte 0x{byte:02x} at position {bad.start() + 1} is not UTF-8; save the file as "
            "UTF-8 (a byte-order mark is fine)")


def _header_problem(line: str, header: list[str]) -> str | None:
    if not header:
        return "blank first line; the header 'text,label' must be line 1"
    bad_byte = next(filter(None, map(_not_utf8, header)), None)
    if bad_byte:
        return bad_byte
    if len(header) == 1:
        for delimiter, name in (("\t", "tab"), (";", "semicolon"), ("|", "pipe")):
            if delimiter in line:
                return f"wrong delimiter ({name}); the file must be comma-separated"
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        return f"duplicate column(s) {duplicates}"
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        return f"missing column(s) {missing}; found {[_cut(name) for name in header]} (expected 'text,label')"
    return None


def _row_shape_problem(path: Path, line: int, row: list[str], header: list[str]) -> Problem | None:
    """A row that is not one record of the header's columns: repeated header, extra or missing field."""
    columns = ",".join(header)
    if [value.strip() for value in row] == header:
        return Problem(path, f"repeated header line {columns!r}; remove it (were two files joined?)",
                       line, "row")
    if len(row) > len(header):
        return Problem(path, f"extra field {_cut(row[len(header)])!r}: the header has {len(header)} "
                             f"columns ({columns}); remove it, or quote a value holding a comma",
                       line, f"field {len(header) + 1}")
    if len(row) < len(header):
        return Problem(path, f"missing field: the row has {len(row)} of the header's {len(header)} "
                             f"fields ({columns}); is the file truncated?", line, header[len(row)])
    return None


def _sequence_problem(sequence: str) -> str | None:
    if not sequence:
        return "empty sequence"
    bad = _INVALID.search(sequence)
    if bad:
        return (f"character {bad.group()!r} at position {bad.start() + 1} is not a DNA/IUPAC code "
                "(allowed: ACGTN and RYSWKMBDHV, any case)")
    return None


def _label_problem(label: str, raw: str) -> str | None:
    if not _LABEL.match(label):
        return f"{_cut(raw)!r} is not an integer"
    if len(label.lstrip("-")) > 9:
        return f"{_cut(raw)!r} is too large for a class label (labels are 0..C-1)"
    return None


def inspect_split(path: Path) -> tuple[Split | None, list[Problem]]:
    """Read one split CSV: the split when it is clean, and every problem found (empty when clean)."""
    path = Path(path)
    if not path.is_file():
        return None, [Problem(path, "split file is missing")]
    data = path.read_bytes()
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return None, [Problem(path, "file is UTF-16 (Excel's 'Unicode Text'); save it as "
                                    "'CSV UTF-8 (comma delimited)'", 1, "header")]
    text = data.decode("utf-8", errors="surrogateescape").removeprefix(_BOM)
    if not text.strip():
        return None, [Problem(path, "file is empty (expected a header 'text,label')")]
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    problem = _header_problem(text.split("\n", 1)[0], header)
    if problem:
        return None, [Problem(path, problem, 1, "header")]
    text_at, label_at = header.index("text"), header.index("label")
    problems: list[Problem] = []
    sequences: list[str] = []
    labels: list[int] = []
    lines: list[int] = []
    ambiguous = 0
    line = reader.line_num + 1
    for row in reader:
        line, start = reader.line_num + 1, line
        if not row:
            continue
        shape = _row_shape_problem(path, start, row, header)
        if shape:
            problems.append(shape)
            continue
        sequence = row[text_at].strip().upper()
        bad = _not_utf8(row[text_at]) or _sequence_problem(sequence)
        if bad:
            problems.append(Problem(path, bad, start, "text"))
        label = row[label_at].strip()
        bad_label = _not_utf8(row[label_at]) or _label_problem(label, row[label_at])
        if bad_label:
            problems.append(Problem(path, bad_label, start, "label"))
        if not problems:
            sequence, replaced = _AMBIGUOUS.subn("N", sequence)
            ambiguous += replaced
            sequences.append(sequence)
            labels.append(int(label))
            lines.append(start)
    if not problems and not sequences:
        problems.append(Problem(path, "no data rows (only the header)"))
    if problems:
        return None, problems
    return Split(sequences, np.array(labels, dtype=np.int64), path, file_md5(path), ambiguous,
                 np.array(lines, dtype=np.int64)), []


def _task_problems(train: Split, test: Split) -> list[Problem]:
    """Whether the labels form a proper ``0..C-1`` problem that test can be scored on."""
    classes = np.unique(train.labels)
    if len(classes) < 2:
        return [Problem(train.path, f"only one class ({classes.tolist()}) in train", None, "label")]
    if not np.array_equal(classes, np.arange(len(classes))):
        return [Problem(train.path, f"labels must be 0..{len(classes) - 1}, found {classes.tolist()}",
                        None, "label")]
    problems = []
    for unseen in np.setdiff1d(np.unique(test.labels), classes):
        rows = np.flatnonzero(test.labels == unseen)
        problems.append(Problem(test.path, f"class {int(unseen)} is in test but absent from train "
                                           f"({rows.size} row(s))", int(test.lines[rows[0]]), "label"))
    return problems


def inspect_task(task_dir: Path) -> tuple[TaskData | None, list[Problem]]:
    """Both splits of the task in ``task_dir`` by every rule: the task when clean, and the problems."""
    task_dir = Path(task_dir)
    if not task_dir.is_dir():
        return None, [Problem(task_dir, f"task directory is missing (task {task_dir.name!r})")]
    train, train_problems = inspect_split(task_dir / "train.csv")
    test, test_problems = inspect_split(task_dir / "test.csv")
    problems = train_problems + test_problems
    if train is None or test is None:
        return None, problems
    problems = _task_problems(train, test)
    if problems:
        return None, problems
    return TaskData(task_dir.name, train, test, np.unique(train.labels)), []


def raise_problems(problems: Sequence[Problem], folder: Path) -> None:
    """Raise the first problem as a :class:`TaskDataError`, saying how to list the others."""
    if not problems:
        return
    message = str(problems[0])
    if len(problems) > 1:
        message += (f" (and {len(problems) - 1} more problem(s); `geneb check-data {folder}` "
                    "lists them all)")
    raise TaskDataError(message, problems)


def read_split(path: Path) -> Split:
    """Read and validate one split CSV."""
    split, problems = inspect_split(path)
    raise_problems(problems, Path(path).parent)
    assert split is not None
    return split


def load_task(data_dir: Path, task_id: str) -> TaskData:
    """Load both splits of a task and check that the labels form a proper ``0..C-1`` problem."""
    task_dir = Path(data_dir) / task_id
    task, problems = inspect_task(task_dir)
    raise_problems(problems, task_dir)
    assert task is not None
    return task
