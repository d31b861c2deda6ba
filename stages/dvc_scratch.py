"""Scratch git + DVC repositories for the pipeline tests and the overhead benchmark.

Copies a working tree (tracked and untracked-but-not-ignored files, as ``git`` sees them),
commits it with a fixed identity so no global git config is needed, and runs commands with the
project's virtual environment first on ``PATH`` and the scratch copy first on ``PYTHONPATH`` (so
``geneb`` in a stage runs the scratch copy's code, not an editable install elsewhere).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from stages.dvc_tool import venv_bin

# The small pipeline the DVC tests share: two small real lite tasks, two cheap models.
TEST_TASKS = ("leannmlindsey_GUE_mouse_3", "leannmlindsey_GUE_mouse_2")
TEST_MODELS = ("kmer-3", "kmer-4")

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "GENEB test", "GIT_AUTHOR_EMAIL": "geneb-test@example.invalid",
    "GIT_COMMITTER_NAME": "GENEB test", "GIT_COMMITTER_EMAIL": "geneb-test@example.invalid",
}


def scratch_env(repo: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(GIT_IDENTITY)
    env.update({
        "PATH": f"{venv_bin()}{os.pathsep}{env.get('PATH', '')}",
        "PYTHONPATH": str(repo),
        "DVC_NO_ANALYTICS": "1",
        "HF_HUB_OFFLINE": "1",
        "GIT_CONFIG_NOSYSTEM": "1",
    })
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class Result:
    returncode: int
    output: str  # stdout and stderr interleaved
    seconds: float


def run(args: list[str] | str, repo: Path, env: dict[str, str] | None = None,
        check: bool = True, timeout: float = 900) -> Result:
    """Run a command in ``repo``; with ``check`` a non-zero exit raises with the output."""
    started = time.perf_counter()
    proc = subprocess.run(args, cwd=repo, env=env or scratch_env(repo), shell=isinstance(args, str),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout)
    result = Result(proc.returncode, proc.stdout, time.perf_counter() - started)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{args} in {repo} exited {proc.returncode}:\n{proc.stdout[-4000:]}")
    return result


def worktree_files(src: Path) -> list[str]:
    """Files git would commit from ``src``: tracked and untracked-but-not-ignored, if present."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=src, capture_output=True, text=True, check=True).stdout
    return sorted({name for name in listing.split("\0") if name and (src / name).is_file()})


def copy_worktree(src: Path, dest: Path, skip: tuple[str, ...] = ()) -> Path:
    """Copy ``src``'s committable files to a new git repo at ``dest`` (no commit yet)."""
    dest.mkdir(parents=True, exist_ok=False)
    for name in worktree_files(src):
        if name.startswith(skip):
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / name, target)
    run(["git", "init", "-q", "-b", "main"], dest)
    return dest


def commit_all(repo: Path, message: str) -> str:
    """``git add -A`` and commit in a scratch repo; returns the new commit sha."""
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-q", "--allow-empty", "-m", message], repo)
    return run(["git", "rev-parse", "HEAD"], repo).output.strip()


def clone(origin: Path, dest: Path) -> Path:
    run(["git", "clone", "-q", str(origin), str(dest)], origin.parent)
    return dest


def build_pipeline_origin(src: Path, dest: Path, tasks: tuple[str, ...],
                          models: tuple[str, ...]) -> Path:
    """A committed scratch copy of ``src`` whose lite suite is ``tasks`` and whose
    ``params.yaml`` evaluates ``models``, after one real ``dvc repro`` (built once per ``dest``).

    Other lite task folders and all lite results are dropped, so ``dvc.lock`` and the results
    in the commit describe exactly this small pipeline.
    """
    import json
    from dataclasses import replace

    from stages.params import load_params, write_params

    marker = dest / ".git" / "geneb-origin-ready"
    if marker.exists():
        return dest
    copy_worktree(src, dest, skip=("results/", "embeddings/", "dvc.lock"))
    suites_path = dest / "benchmark" / "suites.json"
    suites = json.loads(suites_path.read_text(encoding="utf-8"))
    suites["lite"]["tasks"] = list(tasks)
    suites_path.write_text(json.dumps(suites, indent=2) + "\n", encoding="utf-8")
    for folder in (dest / "data" / "lite" / "tasks").iterdir():
        if folder.name not in tasks:
            shutil.rmtree(folder)
    params = load_params(dest / "params.yaml")
    write_params(replace(params, models={model: {} for model in models}))
    commit_all(dest, "scratch pipeline")
    run(["dvc", "repro", "--quiet"], dest)
    commit_all(dest, "dvc repro")
    marker.touch()
    return dest
