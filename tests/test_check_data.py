"""`geneb check-data DIR`: any folder of task CSVs, every problem by file, line and field."""

from __future__ import annotations

import pytest
from helpers import GOOD_TEST, GOOD_TRAIN, make_task

from stages.check_data import check_tasks
from stages.cli import main


def test_a_folder_of_broken_tasks_lists_every_problem(tmp_path, capsys):
    make_task(tmp_path, "text,label\nACGU,0\n\nACGT,one\nACXT,1,3\nAC\n", name="many")
    make_task(tmp_path, b"\xef\xbb\xbf" + GOOD_TRAIN.encode(), name="excel_bom")
    make_task(tmp_path, GOOD_TRAIN + GOOD_TRAIN, GOOD_TEST + "ACGTAC", name="joined_truncated")
    make_task(tmp_path, GOOD_TRAIN.encode() + b"caf\xe9,1\n", None, name="latin1_no_test")
    make_task(tmp_path, name="good")
    assert main(["check-data", str(tmp_path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    many, joined, latin1 = (tmp_path / t for t in ("many", "joined_truncated", "latin1_no_test"))
    assert lines == [
        f"{joined}/train.csv: line 5: row: repeated header line 'text,label'; remove it (were two "
        "files joined?)",
        f"{joined}/test.csv: line 4: label: missing field: the row has 1 of the header's 2 fields "
        "(text,label); is the file truncated?",
        f"{latin1}/train.csv: line 5: text: byte 0xe9 at position 4 is not UTF-8; save the file "
        "as UTF-8 (a byte-order mark is fine)",
        f"{latin1}/test.csv: split file is missing",
        f"{many}/train.csv: line 2: text: character 'U' at position 4 is not a DNA/IUPAC code "
        "(allowed: ACGTN and RYSWKMBDHV, any case)",
        f"{many}/train.csv: line 4: label: 'one' is not an integer",
        f"{many}/train.csv: line 5: field 3: extra field '3': the header has 2 columns "
        "(text,label); remove it, or quote a value holding a comma",
        f"{many}/train.csv: line 6: label: missing field: the row has 1 of the header's 2 fields "
        "(text,label); is the file truncated?",
        "5 task(s) checked, 8 problem(s)",
    ]


def test_one_task_folder_and_a_long_list_is_capped_per_file(tmp_path, capsys):
    make_task(tmp_path, "text,label\n" + "ACGU,0\n" * 60)
    assert main(["check-data", str(tmp_path / "toy_task")]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 52 and lines[-2].endswith("... 10 more problem(s) in this file")
    assert lines[-1] == "1 task(s) checked, 60 problem(s)"


def test_the_lite_tasks_are_clean(lite, capsys):
    assert main(["check-data", str(lite.data_dir)]) == 0
    assert capsys.readouterr().out == f"{len(lite.task_ids)} task(s) checked, 0 problem(s)\n"
    check = check_tasks(lite.data_dir)
    assert sorted(check.clean) == sorted(lite.task_ids)


@pytest.mark.parametrize("make", [lambda p: p / "nope", lambda p: p])
def test_a_folder_without_tasks_is_an_error(tmp_path, capsys, make):
    assert main(["check-data", str(make(tmp_path))]) == 2
    assert "geneb check-data: error: " in capsys.readouterr().err
