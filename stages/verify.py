"""``geneb verify``: pull the embeddings behind a submission from the DVC remote and re-probe them.

A contributor pushes ``embeddings/<suite>/<model>/`` (the ``embed@<model>`` output of
``dvc.yaml``) to the project's DVC remote. Verification needs no model and no GPU:

1. ``dvc pull`` the chosen task files (DVC checks every file against the hash in ``dvc.lock``);
2. read each file (:func:`stages.embedding_files.read_embeddings` checks its internal checksum) and check
   that it was made from the data (``data_md5``) and by the model the submission names;
3. run both probes and compare with the submission
   (:func:`stages.score_check.compare_to_submission`): exact numbers bit for bit, protocol
   numbers within the machine noise floor (the recorded one, plus this machine's where needed).

A match is the evidence behind a ``verified`` label: the submitted numbers follow from the pushed
embeddings. (Whether the embeddings follow from the model is what ``geneb reproduce`` checks.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from stages import paths
from stages.errors import GenebError
from stages.reproduce import check_data_hashes, choose_tasks, recorded_checksum
from stages.score_check import TOLERANCE, compare_to_submission
from stages.scoring import score_stored_task, suite_noise_floor
from stages.spec import BenchmarkSpec, default_spec
from stages.submission import Submission


class PullError(GenebError, RuntimeError):
    """``dvc pull`` failed; the message carries DVC's own output."""


def embeddings_dir(repo: Path, suite: str, model_id: str) -> Path:
    """Where the pipeline keeps a model's embeddings (``dvc.yaml``: ``embed@<model>``'s output)."""
    return Path(repo) / "embeddings" / suite / model_id


def dvc_command() -> list[str]:
    """``dvc`` from this interpreter's environment (the project's pinned DVC)."""
    exe = Path(sys.executable).parent / "dvc"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "dvc"]


def pull(repo: Path, targets: Sequence[Path], remote: str | None = None,
         env: Mapping[str, str] | None = None, timeout: float = 600) -> str:
    """``dvc pull`` the targets (paths inside ``repo``); returns DVC's output."""
    args = [*dvc_command(), "pull", *(["-r", remote] if remote else []),
            *(str(Path(t).relative_to(repo)) for t in targets)]
    run_env = {**os.environ, "DVC_NO_ANALYTICS": "1", **(env or {})}
    proc = subprocess.run(args, cwd=repo, env=run_env, capture_output=True, text=True,
                          timeout=timeout)
    output = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0:
        raise PullError(f"`dvc {' '.join(args[args.index('pull'):])}` in {repo} failed "
                        f"(exit {proc.returncode}):\n{output[-3000:]}")
    return output


def verify(
    submission: Submission, repo: Path = paths.REPO_ROOT, tasks: Sequence[str] | None = None,
    remote: str | None = None, tolerance: float = TOLERANCE, do_pull: bool = True,
    spec: BenchmarkSpec | None = None, env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Pull (unless ``do_pull`` is false), re-score and compare; returns the check report."""
    spec = spec or default_spec()
    model_id, suite = submission.model_id, submission.suite
    chosen = choose_tasks(submission, tasks, spec)
    directory = embeddings_dir(repo, suite, model_id)
    files = {task_id: directory / f"{task_id}.npz" for task_id in chosen}
    if do_pull:
        everything = set(chosen) == set(choose_tasks(submission, None, spec))
        pull(Path(repo), [directory] if everything else list(files.values()), remote, env)
    problems, fresh = [], {}
    for task_id, path in files.items():
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no embeddings for task {task_id!r} after the pull; "
                                    f"was {directory.relative_to(repo)} pushed to the remote?")
        scores = score_stored_task(path, spec, perturbations=0)
        key = scores.meta.get("key") or {}
        if key.get("model_id") != model_id:
            problems.append(f"{task_id}: {path.name} was made by {key.get('model_id')!r}, "
                            f"not {model_id!r}")
        problems += check_data_hashes(submission, task_id, key.get("data_md5") or {}, str(path))
        recorded = recorded_checksum(submission, task_id)
        if recorded is not None and scores.meta.get("checksum") != recorded:
            problems.append(f"{task_id}: {path.name} holds other embeddings than the submission "
                            f"was made from (checksum {scores.meta.get('checksum')}, "
                            f"recorded {recorded})")
        fresh[task_id] = scores
    return compare_to_submission(
        submission, {t: s.protocol for t, s in fresh.items()}, {t: s.exact for t, s in fresh.items()},
        local_floor=lambda ids: suite_noise_floor({t: files[t] for t in ids},
                                                  {t: fresh[t] for t in ids}, spec),
        tolerance=tolerance, problems=problems, label="verified")
