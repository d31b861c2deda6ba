"""Where the repository keeps things; every module asks here instead of building paths itself.

The repository root is found from the working directory, as git and DVC find theirs: the nearest
directory, from the current one upwards, that holds ``dvc.yaml`` and
``benchmark/benchmark_spec.json``. Not from where the package is installed: one virtual
environment often serves several clones (git worktrees, a pull request checkout), and each
command must read and write the clone it runs in. ``GENEB_ROOT`` names the root for processes
that run elsewhere (Ray workers). Outside a GENEB checkout, asking for a path is one clear error.

Every name below is resolved when first asked for (module ``__getattr__``); the folders follow
``REPO_ROOT``, so setting ``REPO_ROOT`` (tests do) moves them all.
"""

from __future__ import annotations

import os
from pathlib import Path

from stages.errors import GenebError

ROOT_ENV = "GENEB_ROOT"
MARKERS: tuple[str, ...] = ("dvc.yaml", "benchmark/benchmark_spec.json")
# Folder and file names below the root (what each public name of this module stands for).
_BELOW_ROOT: dict[str, str] = {
    "BENCHMARK_DIR": "benchmark",
    "SCHEMA_DIR": "benchmark/schema",
    "SPEC_PATH": "benchmark/benchmark_spec.json",
    "SUITES_PATH": "benchmark/suites.json",
    "MODELS_DIR": "benchmark/models",
    "DATA_DIR": "data",
    "SUBMISSIONS_DIR": "submissions",
    "LEADERBOARD_DIR": "leaderboard",
}


class NotInCheckout(GenebError, FileNotFoundError):
    """The working directory is not inside a GENEB checkout."""


def is_checkout(directory: Path) -> bool:
    return all((directory / marker).is_file() for marker in MARKERS)


def find_repo_root(start: Path | None = None) -> Path:
    """The nearest GENEB checkout at or above ``start`` (default: the working directory), else
    the one ``GENEB_ROOT`` names."""
    here = Path(start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if is_checkout(directory):
            return directory
    named = os.environ.get(ROOT_ENV)
    if named and is_checkout(Path(named)):
        return Path(named).resolve()
    raise NotInCheckout(f"{here} is not inside a GENEB checkout (no directory from here upwards "
                        f"holds {' and '.join(MARKERS)}): cd into your clone of the repository, "
                        f"or set {ROOT_ENV}")


def __getattr__(name: str) -> Path:
    if name == "REPO_ROOT":
        root = find_repo_root()
        globals()["REPO_ROOT"] = root  # found once per process
        return root
    if name in _BELOW_ROOT:
        root = globals()["REPO_ROOT"] if "REPO_ROOT" in globals() else __getattr__("REPO_ROOT")
        return root / _BELOW_ROOT[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
