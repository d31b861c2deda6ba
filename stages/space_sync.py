"""Publish the leaderboard to its Hugging Face static Space (run by ``build-and-sync.yml``).

Everything before the upload (which files, that they are the official full-suite board, the commit
message) is plain code tested offline; the one network call is :func:`upload`, which takes the
``HfApi`` as an argument so tests can hand in a recording stand-in.

    HF_TOKEN=... python -m stages.space_sync --space-id DeepPavlov/geneb-leaderboard
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stages import paths
from stages.errors import GenebError
from stages.leaderboard import LEADERBOARD_FILE, TASKS_FILE

# The page and what it loads (its plots are drawn from the JSON, so there are no picture files).
SITE_FILES: tuple[str, ...] = ("index.html", "style.css", "util.js", "plots.js", "detail.js", "app.js")
SPACE_FILES: tuple[str, ...] = (*SITE_FILES, LEADERBOARD_FILE, TASKS_FILE, "README.md")
DEFAULT_SPACE_ID = "DeepPavlov/geneb-leaderboard"


class SyncError(GenebError, RuntimeError):
    """The leaderboard folder is not fit to publish, or no token was given."""


@dataclass(frozen=True)
class UploadPlan:
    space_id: str
    files: tuple[tuple[Path, str], ...]  # (local file, path in the Space)
    message: str


def plan_upload(leaderboard_dir: Path, space_id: str, revision: str | None = None) -> UploadPlan:
    """Check the folder holds an official (full-suite) board and list what to upload."""
    leaderboard_dir = Path(leaderboard_dir)
    missing = [name for name in SPACE_FILES if not (leaderboard_dir / name).is_file()]
    if missing:
        raise SyncError(f"{leaderboard_dir}: missing {', '.join(missing)}; run `geneb leaderboard`")
    for name in (LEADERBOARD_FILE, TASKS_FILE):
        try:
            board = json.loads((leaderboard_dir / name).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise SyncError(f"{leaderboard_dir / name}: not valid JSON: {exc}") from exc
        if board.get("suite") != "full" or board.get("subsample") is not False:
            raise SyncError(f"{leaderboard_dir / name}: suite {board.get('suite')!r} is not the "
                            "official full suite; refusing to publish it")
    files = [(leaderboard_dir / name, name) for name in SPACE_FILES]
    where = f" from {revision[:12]}" if revision else ""
    return UploadPlan(space_id, tuple(files), f"Update GENEB leaderboard{where}")


def upload(plan: UploadPlan, api: Any) -> Any:
    """The network call: one commit to the Space with every file (``api`` is an ``HfApi``)."""
    from huggingface_hub import CommitOperationAdd

    operations = [CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(local))
                  for local, name in plan.files]
    return api.create_commit(repo_id=plan.space_id, repo_type="space", operations=operations,
                             commit_message=plan.message)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stages.space_sync", description=__doc__)
    parser.add_argument("--space-id", default=DEFAULT_SPACE_ID)
    parser.add_argument("--dir", type=Path, default=paths.LEADERBOARD_DIR)
    parser.add_argument("--revision", default=os.environ.get("GITHUB_SHA"),
                        help="source commit named in the Space's commit message")
    args = parser.parse_args(argv)
    token = os.environ.get("HF_TOKEN")
    try:
        if not token:
            raise SyncError("HF_TOKEN is not set (a write token for the Space)")
        plan = plan_upload(args.dir, args.space_id, args.revision)
        from huggingface_hub import HfApi

        upload(plan, HfApi(token=token))
    except SyncError as exc:
        print(f"space_sync: error: {exc}", file=sys.stderr)
        return 2
    print(f"uploaded {', '.join(name for _, name in plan.files)} to spaces/{plan.space_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
