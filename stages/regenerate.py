"""``geneb regenerate``: rebuild the generated files a merge rebuilds, never embedding or probing.

A model pull request adds its own files only (its catalogue file, submission, extractor family,
model card); the files every model shares are generated, so two such PRs never conflict in them:

* ``dvc.lock`` and ``manifests/code/``: ``dvc repro --single-item`` of the stages whose inputs
  are all in git, in pipeline order: ``code`` (the code manifests), ``manifest`` (the data
  manifest, when its task data changed) and the lite ``leaderboard`` stage (its inputs, the
  committed lite submissions and the model cards, are in git). DVC runs each only if stale.
* ``leaderboard/leaderboard.json`` and ``leaderboard_tasks.json``: the official board, built from
  ``submissions/``.

CI runs it on every pull request before its checks, and the workflow on ``main`` runs it after
each merge and commits what changed. An ``embed@``/``score@`` stage that ``geneb lockcheck``
still finds stale afterwards means the change moves committed results: that takes ``dvc repro``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from stages import paths
from stages.dvc_tool import dvc_exe
from stages.errors import GenebError
from stages.leaderboard import build_leaderboard

# The stages whose inputs are all in git, in pipeline order (DVC runs -s targets as given).
CHEAP_STAGES: tuple[str, ...] = ("code", "manifest", "leaderboard")
OFFICIAL_SUITE = "full"


class RegenerateError(GenebError, RuntimeError):
    """A cheap stage failed to re-run; the message carries DVC's first error line."""


def _dvc_lines(output: str) -> list[str]:
    """DVC's verdict per stage ("Running stage ...", "... didn't change, skipping"), and errors."""
    keep = ("Running stage", "Stage '", "ERROR", "Updating lock file")
    return [line for line in output.splitlines() if line.startswith(keep)]


def rebuild_lock(repo: Path) -> list[str]:
    """Re-run the stale cheap stages in ``repo``; DVC's lines about each stage."""
    done = subprocess.run([dvc_exe(), "repro", "--single-item", *CHEAP_STAGES], cwd=repo,
                          capture_output=True, text=True)
    lines = _dvc_lines(done.stdout + done.stderr)
    if done.returncode != 0:
        errors = [line for line in lines if line.startswith("ERROR")]
        tail = (done.stdout + done.stderr).strip().splitlines() or ["(no output)"]
        raise RegenerateError(f"dvc repro --single-item {' '.join(CHEAP_STAGES)}: exit "
                              f"{done.returncode}: {(errors or tail)[-1]}")
    return lines


def regenerate(repo: Path | None = None) -> list[str]:
    """Rebuild ``dvc.lock``, ``manifests/code/`` and the official leaderboard JSON in ``repo``
    (default: this checkout); what was done, one line each."""
    repo = Path(repo or paths.REPO_ROOT)
    lines = rebuild_lock(repo)
    written = build_leaderboard(repo / "submissions", repo / "leaderboard", OFFICIAL_SUITE)
    return lines + [f"wrote {Path(path).relative_to(repo).as_posix()}" for path in written]
