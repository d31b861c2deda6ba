"""The committed lite numbers, re-made from the CSVs on whatever CPU runs this: exact numbers
identical bit for bit, protocol numbers within the machine noise floor the commit recorded (plus
this machine's own, where a number moves further). Any change to loading, embedding files,
caching or either probe that moves a number fails here. ``test_machine_independence.py`` runs this
module again under other OpenBLAS kernels: no assertion may depend on the committer's kernel."""

from __future__ import annotations

import json

import pytest

from stages import paths
from stages.dvc_reports import REPORT_FILES, report_contents
from stages.run import RunPaths, run_model
from stages.score_check import compare_submissions, format_check
from stages.submission import Submission

KMER4 = paths.REPO_ROOT / "results" / "lite" / "submissions" / "kmer-4.json"


@pytest.fixture(scope="module")
def committed() -> dict:
    return json.loads(KMER4.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def remade(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("pinned")
    out = RunPaths(root / "emb", root / "sub.json", root / "reports")
    return json.loads(json.dumps(run_model("kmer-4", "lite", out, progress=False).to_json()))


def test_exact_numbers_are_identical(committed, remade):
    """Scores and tie counts are machine-independent; the certificates (final gradient, Newton
    steps, smallest margin) are per-machine facts, each within its bound."""
    assert remade["exact_results"] == committed["exact_results"]
    fresh, before = (s["run_settings"]["exact_per_seed"] for s in (remade, committed))
    for regime, tasks in before.items():
        for task_id, record in tasks.items():
            again = fresh[regime][task_id]
            for key in ("seeds", "MCC", "Acc", "F1", "ties", "converged"):
                assert again[key] == record[key], (regime, task_id, key)


def test_same_data_and_byte_identical_embeddings(committed, remade):
    settings, before = remade["run_settings"], committed["run_settings"]
    assert settings["data_md5"] == before["data_md5"]
    assert settings["embedding_sha256"] == before["embedding_sha256"]


def test_protocol_numbers_within_the_noise_floor(committed, remade):
    report = compare_submissions(Submission.from_json(remade), Submission.from_json(committed))
    assert report["matched"], format_check(report)
    recorded = committed["run_settings"]["noise_floor"]
    assert recorded["variants"], "the committed floor was measured, not left empty"


def test_committed_metrics_and_plot_files_summarise_the_committed_submission(committed, spec):
    made = report_contents(Submission.from_json(committed), spec)
    for kind, pattern in REPORT_FILES.items():
        path = paths.REPO_ROOT / "results" / "lite" / pattern.format(model="kmer-4")
        assert json.loads(path.read_text()) == json.loads(json.dumps(made[kind])), path
