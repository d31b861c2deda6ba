"""A submission's ``code_revision`` is the last commit that changed the harness, so committing
results does not change what a re-run records, and local edits are flagged ``-dirty``."""

from __future__ import annotations

import subprocess

from stages import code_hash, paths
from stages.dvc_scratch import commit_all, run


def test_revision_follows_harness_commits_not_head(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    (repo / "stages").mkdir(parents=True)
    run(["git", "init", "-q", "-b", "main"], repo)
    (repo / "stages" / "probe.py").write_text("# v1\n")
    code = commit_all(repo, "code")
    (repo / "results").mkdir()
    (repo / "results" / "kmer-4.json").write_text("{}\n")
    head = commit_all(repo, "results")
    assert head != code
    monkeypatch.setattr(paths, "REPO_ROOT", repo)
    assert code_hash.code_revision() == code
    (repo / "stages" / "probe.py").write_text("# v2, not committed\n")
    assert code_hash.code_revision() == f"{code}-dirty"
    (repo / "benchmark").mkdir()
    (repo / "benchmark" / "suites.json").write_text("{}\n")
    newer = commit_all(repo, "code and definition")
    assert code_hash.code_revision() == newer


def test_outside_git_there_is_no_revision(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "REPO_ROOT", tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert code_hash.code_revision() is None
    assert subprocess.run(["git", "rev-parse"], cwd=tmp_path, capture_output=True).returncode != 0
