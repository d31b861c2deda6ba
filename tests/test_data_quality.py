"""Data-quality statistics: fresh, hand-checked, and failing on new (or fixed) issues."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from stages import data_quality as dq
from stages.cli import main


def test_committed_statistics_are_not_stale(spec):
    """CI staleness check: regenerating from data/ must reproduce the committed file exactly."""
    assert dq.suites_with_data(spec) == ["lite"]
    assert dq.stale_fields("lite", spec) == []


def test_no_unlisted_leakage_and_no_fixed_listed_issue(spec):
    """Fails on new leakage or duplicates, and on a known issue that has been fixed."""
    assert dq.check_suite("lite", spec) == []
    assert dq.load_known_issues()["lite"]  # the list is real, not empty


def test_issue_check_catches_new_fixed_and_changed_issues():
    known = {"t1": {"train_test.test_in_train_exact": 2}, "t2": {"train.exact_duplicates": 1}}
    found = {"t1": {"train_test.test_in_train_exact": 3},
             "t3": {"train_test.test_in_train_revcomp": 1}}
    problems = dq.issue_problems(found, known)
    assert any("t3: new issue train_test.test_in_train_revcomp = 1" in p for p in problems)
    assert any("t2: listed issue train.exact_duplicates is fixed" in p for p in problems)
    assert any("t1: train_test.test_in_train_exact is 3, known_issues.yaml says 2" in p
               for p in problems)
    assert len(problems) == 3
    assert dq.issue_problems(known, known) == []


def test_new_leakage_in_the_committed_statistics_fails():
    stats = json.loads(dq.stats_path("lite").read_text())
    stats["tasks"]["leannmlindsey_GUE_mouse_0"]["train_test"]["test_in_train_revcomp"] = 4
    found = dq.issue_counts(stats)
    problems = dq.issue_problems(found, dq.load_known_issues()["lite"])
    assert problems == ["leannmlindsey_GUE_mouse_0: new issue train_test.test_in_train_revcomp = 4 "
                        "(fix the data or add it to known_issues.yaml with a reason)"]


def test_split_and_cross_split_counts_by_hand():
    # ACGT is its own reverse complement; GGTT is AACC's; NNAC's is GTNN
    train = ["ACGT", "AACC", "GGTT", "AACC", "NNAC"]
    train_y = np.array([0, 0, 1, 1, 0])
    q = dq.split_quality(train, train_y)
    assert q["exact_duplicates"] == 1          # the second AACC
    assert q["revcomp_duplicates"] == 1        # GGTT (ACGT is a palindrome, not a duplicate)
    assert q["label_conflicts"] == 1           # AACC labelled 0 and 1
    assert q["non_acgt"] == {"N": 2, "rows_with_N": 1}
    assert q["classes"] == {0: 3, 1: 2} and q["minority_fraction"] == 0.4
    assert q["length"]["min"] == q["length"]["max"] == 4
    test = ["GGTT", "CCAA", "GTNN", "TTTT"]
    test_y = np.array([1, 0, 1, 0])
    x = dq.cross_split_quality((train, train_y), (test, test_y))
    # GGTT exact (train label 1: agrees); CCAA not in train; GTNN via NNAC (label 0 vs 1)
    assert x == {"test_in_train_exact": 1, "test_in_train_revcomp": 1, "label_disagreements": 1}


def test_real_overlap_matches_an_independent_pandas_count(lite):
    stats = json.loads(dq.stats_path("lite").read_text())
    for task_id in ("leannmlindsey_GUE_prom_core_tata", "leannmlindsey_GUE_human_tf_4"):
        train = pd.read_csv(lite.data_dir / task_id / "train.csv")
        test = pd.read_csv(lite.data_dir / task_id / "test.csv")
        in_train = test["text"].str.upper().isin(set(train["text"].str.upper()))
        record = stats["tasks"][task_id]
        assert record["train_test"]["test_in_train_exact"] == int(in_train.sum())
        duplicated = train["text"].str.upper().duplicated()
        assert record["train"]["exact_duplicates"] == int(duplicated.sum())
        assert record["test"]["rows"] == len(test)
        assert record["train"]["classes"] == {
            str(k): int(v) for k, v in sorted(train["label"].value_counts().items())}


def test_check_command_reports_stale_field(tmp_path, monkeypatch, capsys):
    shutil.copy(dq.stats_path("lite"), tmp_path / "lite.json")
    monkeypatch.setattr(dq, "DQ_DIR", tmp_path)
    assert main(["data-quality", "--check"]) == 0
    stats = json.loads((tmp_path / "lite.json").read_text())
    stats["tasks"]["leannmlindsey_GUE_mouse_2"]["test"]["rows"] = 1
    (tmp_path / "lite.json").write_text(json.dumps(stats))
    assert main(["data-quality", "--check"]) == 1
    assert "leannmlindsey_GUE_mouse_2/test/rows: committed 1, now 328" in capsys.readouterr().out


def test_known_issues_with_unknown_field_is_rejected(tmp_path):
    path = tmp_path / "known.yaml"
    path.write_text("known_issues:\n  lite:\n    t1:\n      train.duplicates: 3\n")
    with pytest.raises(ValueError, match=r"known\.yaml: known_issues\.lite\.t1: unknown field"):
        dq.load_known_issues(path)
