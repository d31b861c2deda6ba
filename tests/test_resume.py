"""A run killed (SIGKILL, no clean-up) after some tasks resumes from its finished tasks, whether it
was started by `geneb run` or `geneb embed` (what `dvc repro` runs); the files come out
byte-identical to an uninterrupted run's and no temporary file is left in the folder."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stages import paths

MODEL = "kmer-3"
N_TASKS = 13  # the lite suite


def geneb(*args: str) -> list[str]:
    return [sys.executable, "-m", "stages.cli", *args]


def commands(kind: str, folder: Path, tmp: Path) -> list[str]:
    if kind == "run":
        return geneb("run", "--model", MODEL, "--suite", "lite", "--quiet", "--no-noise-floor",
                     "--embeddings", str(folder), "--out", str(tmp / "submission.json"))
    return geneb("embed", "--model", MODEL, "--suite", "lite", "--quiet", "--out", str(folder))


def kill_after(command: list[str], folder: Path, finished: int) -> None:
    """Start ``command`` in its own process group; SIGKILL the group once ``finished`` task files
    exist."""
    process = subprocess.Popen(command, cwd=paths.REPO_ROOT, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(list(folder.glob("*.npz"))) < finished:
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "no task finished in time"
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("reference") / MODEL
    subprocess.run(commands("embed", folder, folder.parent), cwd=paths.REPO_ROOT, check=True,
                   capture_output=True)
    return folder


@pytest.mark.parametrize("kind", ["run", "embed"])
def test_a_killed_first_run_resumes_from_its_finished_tasks(kind, tmp_path, reference):
    folder = tmp_path / MODEL
    kill_after(commands(kind, folder, tmp_path), folder, finished=3)
    survived = {path.name: path.read_bytes() for path in folder.glob("*.npz")}
    assert 3 <= len(survived) < N_TASKS

    again = subprocess.run(commands("embed", folder, tmp_path), cwd=paths.REPO_ROOT, check=True,
                           capture_output=True, text=True).stdout
    embedded, reused = map(int, re.search(r"(\d+) task\(s\) embedded, (\d+) reused", again).groups())
    assert "extractor code changed" not in again
    assert reused >= len(survived) and embedded + reused == N_TASKS
    for name, content in survived.items():
        assert (folder / name).read_bytes() == content  # kept, not recomputed
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in reference.iterdir())
    for path in reference.iterdir():
        assert (folder / path.name).read_bytes() == path.read_bytes(), path.name
