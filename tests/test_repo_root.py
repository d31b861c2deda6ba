"""The repository root comes from where the user stands, not from where the package is installed:
one virtual environment serving two clones writes into the clone it runs in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stages import paths
from stages.dvc_scratch import copy_worktree

GENEB = Path(sys.executable).parent / "geneb"  # the environment's entry point: this checkout's code


def geneb(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", paths.ROOT_ENV)}
    return subprocess.run([str(GENEB), *args], cwd=cwd, env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def other_clone(tmp_path_factory) -> Path:
    return copy_worktree(paths.REPO_ROOT, tmp_path_factory.mktemp("clones") / "b",
                         skip=("data/lite/tasks",))


def test_a_command_writes_into_the_clone_it_runs_in(other_clone):
    mine = paths.LEADERBOARD_DIR / "leaderboard.json"
    before = (mine.read_bytes(), mine.stat().st_mtime_ns)
    theirs = other_clone / "leaderboard" / "leaderboard.json"
    theirs.unlink()
    result = geneb(["leaderboard", "--suite", "full"], other_clone)
    assert result.returncode == 0, result.stderr
    assert f"wrote {theirs}" in result.stdout
    assert theirs.read_bytes() == before[0]
    assert (mine.read_bytes(), mine.stat().st_mtime_ns) == before  # this clone untouched


def test_the_root_is_found_from_a_subdirectory(other_clone):
    assert paths.find_repo_root(other_clone / "docs" / "benchmarks") == other_clone.resolve()


def test_outside_a_checkout_is_one_clear_line(tmp_path):
    result = geneb(["stats"], tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"geneb: error: {tmp_path.resolve()} is not inside a GENEB checkout (no directory from here "
        "upwards holds dvc.yaml and benchmark/benchmark_spec.json): cd into your clone of the "
        "repository, or set GENEB_ROOT"]
