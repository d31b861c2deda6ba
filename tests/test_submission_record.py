"""The submission record: one typed home for the file layout, the default suite and the tasks a
file covers."""

from __future__ import annotations

import json
import re

import pytest

from stages import paths
from stages.submission import DEFAULT_SUITE, Submission
from stages.submission_store import (
    SubmissionNotFound,
    committed_submission,
    find_submission,
    load_submissions,
    submissions_dir,
    write_submission,
)

LITE = paths.REPO_ROOT / "results" / "lite" / "submissions"
FILES = sorted(paths.SUBMISSIONS_DIR.glob("*.json")) + sorted(LITE.glob("*.json"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_a_file_round_trips_byte_for_byte(path, tmp_path):
    """Reading and writing back gives the same JSON, keys in the same order."""
    data = json.loads(path.read_text(encoding="utf-8"))
    record = Submission.from_json(data, path)
    assert json.dumps(record.to_json()) == json.dumps(data)
    copy = write_submission(tmp_path / path.name, record)
    assert json.loads(copy.read_text(encoding="utf-8")) == data


def test_published_files_default_to_the_full_suite_and_its_tasks(spec):
    published = load_submissions()
    assert len(published) == 41
    assert all(s.declared_suite is None and s.suite == DEFAULT_SUITE == "full" for s in published)
    assert all(s.task_ids(spec) == spec.suite("full").task_ids for s in published)
    assert all(s.noise_floor is None and s.per_seed() == {} for s in published)


def test_a_lite_run_covers_the_tasks_it_recorded(spec, lite):
    kmer4 = load_submissions(LITE)[-1]
    assert (kmer4.model_id, kmer4.suite) == ("kmer-4", "lite")
    assert kmer4.task_ids(spec) == lite.task_ids
    assert set(kmer4.noise_floor_results()) == set(spec.regimes)
    assert "NOT GENEB scores" in kmer4.describe_suite()
    assert submissions_dir("lite") == LITE and submissions_dir() == paths.SUBMISSIONS_DIR


def test_find_and_committed(spec):
    assert find_submission("kmer-4", suite="lite") == LITE / "kmer-4.json"
    with pytest.raises(SubmissionNotFound, match="no submission for model 'nope'"):
        find_submission("nope")
    committed = committed_submission(LITE / "kmer-4.json")
    assert committed is not None and committed.model_id == "kmer-4"


def test_only_the_record_knows_the_default_suite():
    """No other module reads ``suite`` with its own fallback (it was repeated in 8 places)."""
    pattern = re.compile(r"""\.get\(\s*["']suite["']\s*,""")
    offenders = [str(path.relative_to(paths.REPO_ROOT)) for path in
                 sorted((paths.REPO_ROOT / "stages").rglob("*.py"))
                 if pattern.search(path.read_text(encoding="utf-8"))
                 and path.name != "submission.py"]
    assert offenders == []
