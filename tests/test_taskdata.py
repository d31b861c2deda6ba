"""Bad task data gets a clear error naming the file, the editor line, the field and what is wrong."""

from __future__ import annotations

import pytest
from helpers import GOOD_TEST, GOOD_TRAIN, make_task

from stages.taskdata import TaskDataError, load_task, read_split


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
        ("text\nACGT\n", GOOD_TEST, "train.csv: line 1: header", "missing column(s) ['label']"),
        ("text,label\n,0\nACGT,1\n", GOOD_TEST, "train.csv: line 2: text", "empty sequence"),
        ("text,label\nACGT,0\nACXT,1\n", GOOD_TEST, "train.csv: line 3: text", "character 'X' at position 3"),
        ("text,label\nACGT,0\nACGU,1\n", GOOD_TEST, "train.csv: line 3: text", "character 'U'"),
        ("text,label\nACGT,0\nAC GT,1\n", GOOD_TEST, "train.csv: line 3: text", "character ' '"),
        ("text,label\nACGT,0\nACGT,one\n", GOOD_TEST, "train.csv: line 3: label", "'one' is not an integer"),
        ("text,label\nACGT,0\nACGT,1.5\n", GOOD_TEST, "train.csv: line 3: label", "is not an integer"),
        ("text,label\nACGT,0\nACGT,99999999999999999999\n", GOOD_TEST, "train.csv: line 3: label",
         "'99999999999999999999' is too large for a class label"),
        ("text,label\nACGT,1\nACGT,2\n", GOOD_TEST, "train.csv: label", "labels must be 0..1, found [1, 2]"),
        ("text,label\nACGT,0\nACGT,2\n", GOOD_TEST, "train.csv: label", "labels must be 0..1, found [0, 2]"),
        (GOOD_TRAIN, "text,label\nACGT,0\nACGT,2\n", "test.csv: line 3: label", "class 2 is in test but absent"),
        ("text,label,label\nACGT,0,0\n", GOOD_TEST, "train.csv: line 1: header", "duplicate column(s) ['label']"),
        ("text;label\nACGT;0\n", GOOD_TEST, "train.csv: line 1: header", "wrong delimiter (semicolon)"),
        ("text\tlabel\nACGT\t0\n", GOOD_TEST, "train.csv: line 1: header", "wrong delimiter (tab)"),
        ("", GOOD_TEST, "train.csv", "file is empty"),
        ("text,label\n", GOOD_TEST, "train.csv", "no data rows"),
        ("text,label\nACGT,0\nACGT,0\n", GOOD_TEST, "train.csv", "only one class"),
        # issue 14: each of these named no file, or the wrong problem, before
        (GOOD_TRAIN.encode() + b"caf\xe9,1\n", GOOD_TEST, "train.csv: line 5: text",
         "byte 0xe9 at position 4 is not UTF-8"),
        ("text,label\nACGT,0,ACTAGGTT\nTTGG,1\n", GOOD_TEST, "train.csv: line 2: field 3",
         "extra field 'ACTAGGTT': the header has 2 columns (text,label)"),
        (GOOD_TRAIN + GOOD_TRAIN, GOOD_TEST, "train.csv: line 5: row", "repeated header line 'text,label'"),
        (GOOD_TRAIN, GOOD_TEST + "ACGTAC", "test.csv: line 4: label", "missing field: the row has 1 of"),
        ("text,label\n\"ACGT,0\n", GOOD_TEST, "train.csv: line 2: label", "missing field"),
        ("\n\ntext,label\nACGT,0\n", GOOD_TEST, "train.csv: line 1: header", "blank first line"),
        ("text,label\nACGT,0\n".encode("utf-16"), GOOD_TEST, "train.csv: line 1: header", "file is UTF-16"),
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


def test_excel_byte_order_mark_is_accepted(tmp_path):
    """Excel's "CSV UTF-8" starts with a BOM and ends lines with CRLF: read as the plain file."""
    root = make_task(tmp_path, b"\xef\xbb\xbf" + GOOD_TRAIN.replace("\n", "\r\n").encode())
    task = load_task(root, "toy_task")
    assert task.train.sequences == ["ACGTACGT", "TTGGCCAA", "ACGTTTTT"]
    assert task.train.labels.tolist() == [0, 1, 1]


def test_lines_are_editor_lines_past_blank_lines_and_quoted_line_breaks(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text('text,label\n\nACGT,0\n"AC\nGT",1\nACGT,x\n')
    with pytest.raises(TaskDataError) as caught:
        read_split(path)
    assert [str(p).split(": ", 2)[1] for p in caught.value.problems] == ["line 4", "line 6"]


def test_every_problem_is_listed_and_the_error_says_how_to_see_them(tmp_path):
    root = make_task(tmp_path, "text,label\nACGU,0\nACGT,one\nACGT\n")
    with pytest.raises(TaskDataError) as caught:
        load_task(root, "toy_task")
    assert len(caught.value.problems) == 3
    assert "(and 2 more problem(s); `geneb check-data " in str(caught.value)


def test_long_values_are_cut(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text(f"text,label\nACGT,{'7x' * 5000}\n")
    with pytest.raises(TaskDataError) as caught:
        read_split(path)
    assert len(str(caught.value)) < 300
