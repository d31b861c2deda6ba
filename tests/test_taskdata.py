"""Bad task data gets a clear error naming the file, the row and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from stages.taskdata import TaskDataError, load_task, read_split

GOOD_TRAIN = "text,label\nACGTACGT,0\nTTGGCCAA,1\nACGTTTTT,1\n"
GOOD_TEST = "text,label\nACGTACGA,0\nTTGGCCAT,1\n"


def make_task(root: Path, train: str | None = GOOD_TRAIN, test: str | None = GOOD_TEST) -> Path:
    task = root / "toy_task"
    task.mkdir(parents=True)
    if train is not None:
        (task / "train.csv").write_text(train)
    if test is not None:
        (task / "test.csv").write_text(test)
    return root


def test_good_task_loads(tmp_path):
    task = load_task(make_task(tmp_path), "toy_task")
    assert task.train.sequences == ["ACGTACGT", "TTGGCCAA", "ACGTTTTT"]
    assert task.train.labels.tolist() == [0, 1, 1]
    assert task.classes.tolist() == [0, 1]
    assert len(task.data_hashes["train"]) == 32


@pytest.mark.parametrize(
    "train, test, where, message",
    [
        (GOOD_TRAIN, None, "test.csv", "split file is missing"),
        ("text\nACGT\n", GOOD_TEST, "train.csv", "missing column(s) ['label']"),
        ("text,label\n,0\nACGT,1\n", GOOD_TEST, "train.csv: row 2", "empty sequence"),
        ("text,label\nACGT,0\nACXT,1\n", GOOD_TEST, "train.csv: row 3", "character 'X' at position 3"),
        ("text,label\nACGT,0\nACGU,1\n", GOOD_TEST, "train.csv: row 3", "character 'U'"),
        ("text,label\nACGT,0\nAC GT,1\n", GOOD_TEST, "train.csv: row 3", "character ' '"),
        ("text,label\nACGT,0\nACGT,one\n", GOOD_TEST, "train.csv: row 3", "label 'one' is not an integer"),
        ("text,label\nACGT,0\nACGT,1.5\n", GOOD_TEST, "train.csv: row 3", "is not an integer"),
        ("text,label\nACGT,1\nACGT,2\n", GOOD_TEST, "train.csv", "labels must be 0..1, found [1, 2]"),
        ("text,label\nACGT,0\nACGT,2\n", GOOD_TEST, "train.csv", "labels must be 0..1, found [0, 2]"),
        (GOOD_TRAIN, "text,label\nACGT,0\nACGT,2\n", "test.csv: row 3", "class 2 is in test but absent"),
        ("text,label,label\nACGT,0,0\n", GOOD_TEST, "train.csv: row 1", "duplicate column(s) ['label']"),
        ("text;label\nACGT;0\n", GOOD_TEST, "train.csv: row 1", "wrong delimiter (semicolon)"),
        ("text\tlabel\nACGT\t0\n", GOOD_TEST, "train.csv: row 1", "wrong delimiter (tab)"),
        ("", GOOD_TEST, "train.csv", "file is empty"),
        ("text,label\n", GOOD_TEST, "train.csv", "no data rows"),
        ("text,label\nACGT,0\nACGT,0\n", GOOD_TEST, "train.csv", "only one class"),
    ],
)
def test_bad_data_is_rejected_with_file_row_and_reason(tmp_path, train, test, where, message):
    root = make_task(tmp_path, train, test)
    with pytest.raises(TaskDataError) as caught:
        load_task(root, "toy_task")
    text = str(caught.value)
    assert where in text, text
    assert message in text, text


def test_missing_task_directory(tmp_path):
    with pytest.raises(TaskDataError, match="task directory is missing"):
        load_task(tmp_path, "nope")


def test_alphabet_policy_lower_case_and_iupac(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("text,label\nacgtn,0\nACRYG,1\n")
    split = read_split(path)
    assert split.sequences == ["ACGTN", "ACNNG"]
    assert split.ambiguous_replaced == 2


def test_lite_suite_loads_and_is_a_subsample(lite):
    for task_id in lite.task_ids:
        task = load_task(lite.data_dir, task_id)
        assert len(task.train.sequences) <= 2000
        assert len(task.test.sequences) <= 1000
        assert task.classes.tolist() == [0, 1]
    assert lite.is_subsample and not lite.is_official
