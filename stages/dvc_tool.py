"""Where the ``dvc`` and ``geneb`` executables are: next to the running interpreter, else on ``PATH``.

Production code (``geneb lockcheck``, ``geneb import-data``) and the scratch repositories of the
tests and benchmarks (:mod:`stages.dvc_scratch`) run the same ``dvc``.
"""

from __future__ import annotations

import sys
from pathlib import Path


def venv_bin() -> Path:
    """The directory of the running interpreter, where ``dvc`` and ``geneb`` are installed."""
    return Path(sys.executable).parent


def dvc_exe() -> str:
    """The ``dvc`` next to this interpreter, else the one on ``PATH``."""
    candidate = venv_bin() / "dvc"
    return str(candidate) if candidate.exists() else "dvc"
