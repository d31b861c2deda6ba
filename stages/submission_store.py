"""Where submission files live, and the one way to find, read and write them.

Official (full-suite) submissions are ``submissions/<model_id>.json``; a run on another suite
writes ``results/<suite>/submissions/<model_id>.json`` so that smoke-test scores never reach the
official board. Every file read here is validated (:mod:`stages.validate`) before it becomes a
:class:`~stages.submission.Submission`; an invalid one raises
:class:`~stages.validate.SubmissionError` naming every problem.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stages import paths
from stages.errors import GenebError
from stages.io_utils import atomic_write_json
from stages.submission import DEFAULT_SUITE, Submission, claimed_suite


class SubmissionNotFound(GenebError, FileNotFoundError):
    """A model id or path names no submission file."""


def results_dir(suite: str | None = None) -> Path:
    """Where runs write their results (``results/``), or one suite's folder (``results/<suite>/``,
    with ``submissions/``, ``metrics/`` and ``leaderboard/``): never the official folders."""
    base = paths.REPO_ROOT / "results"
    return base if suite is None else base / suite


def submissions_dir(suite: str = DEFAULT_SUITE) -> Path:
    """The folder of a suite's submissions: the official one for the full suite."""
    if suite == DEFAULT_SUITE:
        return paths.SUBMISSIONS_DIR
    return results_dir(suite) / "submissions"


def load_submission(path: Path, suite: str | None = None, **context: Any) -> Submission:
    """Read and validate one file, for ``suite`` or else the suite it claims."""
    return load_files([Path(path)], suite, **context)[0]


def load_files(files: Sequence[Path], suite: str | None = None, **context: Any
               ) -> list[Submission]:
    """Read and validate files (``context``: optional ``spec`` and ``model_meta``); raise
    :class:`~stages.validate.SubmissionError` listing every problem of every file."""
    from stages.validate import SubmissionError, validate_files

    checked = validate_files(files, suite, **context)
    problems = [problem for c in checked for problem in c.problems]
    if problems:
        raise SubmissionError(problems)
    return [Submission.from_json(c.data, c.path) for c in checked if c.data is not None]


def load_submissions(directory: Path | None = None, suite: str | None = None, **context: Any
                     ) -> list[Submission]:
    """Every ``*.json`` of a folder (default the official ``submissions/``), by file name."""
    directory = Path(directory or submissions_dir())
    files = sorted(directory.glob("*.json"))
    if not files:
        raise SubmissionNotFound(f"{directory}: no submission files (*.json)")
    return load_files(files, suite, **context)


def folder_suite(directory: Path | None = None) -> str:
    """The one suite the files of a folder claim (default: the official folder's).

    Unreadable files are skipped: validating the folder names them. Files claiming several suites
    raise, since a board or a plot is built for one suite.
    """
    directory = Path(directory or submissions_dir())
    claims = set()
    for path in sorted(directory.glob("*.json")):
        try:
            claims.add(str(claimed_suite(json.loads(path.read_text(encoding="utf-8")))))
        except (OSError, ValueError, AttributeError):
            continue
    if len(claims) > 1:
        raise GenebError(f"{directory}: the submissions claim several suites "
                         f"({', '.join(sorted(claims))}); pass --suite")
    return claims.pop() if claims else DEFAULT_SUITE


def find_submission(ref: str | Path, submissions: Path | None = None,
                    results: Path | None = None, suite: str | None = None) -> Path:
    """A path as given, or a model id looked up in ``submissions/``, then ``results/*/submissions/``."""
    if Path(ref).suffix == ".json" or Path(ref).is_file():
        if not Path(ref).is_file():
            raise SubmissionNotFound(f"{ref}: no such submission file")
        return Path(ref)
    submissions = Path(submissions or paths.SUBMISSIONS_DIR)
    results = Path(results or results_dir())
    candidates = [submissions / f"{ref}.json"] if suite in (None, DEFAULT_SUITE) else []
    pattern = f"{suite or '*'}/submissions/{ref}.json"
    candidates += sorted(results.glob(pattern))
    found = [path for path in candidates if path.is_file()]
    if not found:
        raise SubmissionNotFound(
            f"no submission for model {str(ref)!r} in {submissions} or {results}/{pattern}; "
            "pass a path to a submission JSON")
    if len(found) > 1:
        listed = ", ".join(str(path) for path in found)
        raise SubmissionNotFound(f"model {str(ref)!r} has several submissions ({listed}); "
                                 "pass a path or --suite")
    return found[0]


def committed_submission(path: Path) -> Submission | None:
    """The version of a submission file in the last commit (``None`` outside git or if new)."""
    path = Path(path).resolve()
    try:
        relative = path.relative_to(paths.REPO_ROOT).as_posix()
        shown = subprocess.run(["git", "show", f"HEAD:{relative}"], cwd=paths.REPO_ROOT,
                               capture_output=True, check=True).stdout
        return Submission.from_json(json.loads(shown), path)
    except (ValueError, KeyError, OSError, subprocess.CalledProcessError):
        return None


def write_submission(path: Path, submission: Submission) -> Path:
    """Write atomically (a temporary file, then a rename): a reader never sees half a file."""
    atomic_write_json(Path(path), submission.to_json())
    return Path(path)
