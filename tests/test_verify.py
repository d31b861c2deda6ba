"""``geneb verify`` against a local moto S3 server: push embeddings, clone, pull, re-probe, compare.

The scratch origin uses the project's own ``.dvc/config`` (remote ``embeddings`` at
``s3://geneb-embeddings/dvc``) with only the endpoint overridden in ``.dvc/config.local``, which a
clone does not inherit: exactly what a maintainer verifying a contributor's push does.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stages import paths
from stages.cli import main
from stages.embed import embed_task
from stages.extractors.registry import get_model_entry, load_extractor
from stages.submission import Submission
from stages.submission_store import load_submission
from stages.taskdata import load_task
from stages.verify import PullError, dvc_command, embeddings_dir, verify

pytestmark = pytest.mark.s3
TASKS = ["leannmlindsey_GUE_mouse_3", "leannmlindsey_GUE_mouse_2"]
SUBMISSION = paths.REPO_ROOT / "results" / "lite" / "submissions" / "kmer-4.json"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1"}
IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}


def sh(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def s3_endpoint():
    moto = Path(sys.executable).parent / "moto_server"
    if not moto.exists():
        pytest.skip("moto_server is not installed (pip install 'moto[server]')")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        else:
            pytest.fail("moto_server did not start within 30 s")
        url = f"http://127.0.0.1:{port}"
        import boto3

        boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                     aws_secret_access_key="testing").create_bucket(Bucket="geneb-embeddings")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def pushed_clone(s3_endpoint, tmp_path_factory, lite):
    """A clone of a repo whose kmer-4 lite embeddings (two tasks) were pushed to moto S3."""
    import os

    env = {**os.environ, **IDENTITY, **CREDENTIALS, "DVC_NO_ANALYTICS": "1"}
    dvc = dvc_command()
    root = tmp_path_factory.mktemp("verify")
    origin = root / "origin"
    origin.mkdir()
    sh(["git", "init", "-q", "-b", "main"], origin, env)
    sh([*dvc, "init", "-q"], origin, env)
    shutil.copy(paths.REPO_ROOT / ".dvc" / "config", origin / ".dvc" / "config")
    sh([*dvc, "remote", "modify", "--local", "embeddings", "endpointurl", s3_endpoint], origin, env)
    extractor = load_extractor(get_model_entry("kmer-4"))
    for task_id in TASKS:
        embed_task(extractor, load_task(lite.data_dir, task_id), embeddings_dir(origin, "lite", "kmer-4"))
    target = origin / "results" / "lite" / "submissions" / "kmer-4.json"
    target.parent.mkdir(parents=True)
    shutil.copy(SUBMISSION, target)
    sh([*dvc, "add", "-q", "embeddings/lite/kmer-4"], origin, env)
    sh(["git", "add", "-A"], origin, env)
    sh(["git", "commit", "-q", "-m", "kmer-4 lite embeddings"], origin, env)
    sh([*dvc, "push", "-q"], origin, env)
    clone = root / "clone"
    sh(["git", "clone", "-q", str(origin), str(clone)], root, env)
    sh([*dvc, "remote", "modify", "--local", "embeddings", "endpointurl", s3_endpoint], clone, env)
    return clone


def test_verify_pulls_and_matches(pushed_clone):
    directory = embeddings_dir(pushed_clone, "lite", "kmer-4")
    assert not any(directory.glob("*.npz"))  # nothing but the pointer came with the clone
    submission = json.loads((pushed_clone / "results/lite/submissions/kmer-4.json").read_text())
    report = verify(Submission.from_json(submission), pushed_clone, TASKS[:1], env=CREDENTIALS)
    assert sorted(p.name for p in directory.glob("*.npz")) == [f"{TASKS[0]}.npz"]  # granular
    assert report["matched"] and report["problems"] == []
    assert report["max_abs_diff"]["exact"] == 0.0  # the same embeddings: identical exact numbers
    assert report["check"] == "verified" and len(report["rows"]) == 2 * 9  # protocol and exact


def test_verify_catches_a_score_the_embeddings_do_not_give(pushed_clone):
    submission = json.loads((pushed_clone / "results/lite/submissions/kmer-4.json").read_text())
    submission["results"]["1shot"][TASKS[1]]["Acc"] -= 0.05
    report = verify(Submission.from_json(submission), pushed_clone, TASKS, env=CREDENTIALS)
    assert not report["matched"]
    bad = [(r["probe"], r["task"], r["regime"], r["metric"]) for r in report["rows"] if not r["ok"]]
    assert bad == [("protocol", TASKS[1], "1shot", "Acc")]
    row = next(r for r in report["rows"] if not r["ok"])
    # the edit, plus this machine's own difference (zero only on the committer's BLAS kernel),
    # which is within the cell's machine-noise allowance
    assert abs(row["diff"] - 0.05) <= row["allowed"] < 0.05


def test_verify_catches_a_hair_on_an_exact_number_and_other_embeddings(pushed_clone):
    """Exact numbers allow no difference at all, on any machine; pulled embeddings must be the
    very ones the submission was scored from."""
    submission = json.loads((pushed_clone / "results/lite/submissions/kmer-4.json").read_text())
    submission["exact_results"]["full"][TASKS[0]]["MCC"] += 1e-9
    submission["run_settings"]["embedding_sha256"][TASKS[1]] = "0" * 64
    report = verify(Submission.from_json(submission), pushed_clone, TASKS, env=CREDENTIALS)
    assert not report["matched"]
    bad = [(r["probe"], r["task"], r["regime"], r["metric"]) for r in report["rows"] if not r["ok"]]
    assert bad == [("exact", TASKS[0], "full", "MCC")]
    assert len(report["problems"]) == 1 and "other embeddings" in report["problems"][0]


def test_missing_embeddings_and_failed_pull_are_explained(pushed_clone):
    submission = load_submission(pushed_clone / "results/lite/submissions/kmer-4.json")
    with pytest.raises(FileNotFoundError, match="leannmlindsey_GUE_prom_core_all.*pushed"):
        verify(submission, pushed_clone, env=CREDENTIALS)  # all 13 tasks; only 2 were pushed
    with pytest.raises(PullError, match="dvc pull -r nowhere"):
        verify(submission, pushed_clone, TASKS, remote="nowhere", env=CREDENTIALS)


def test_cli_verify(pushed_clone, monkeypatch, capsys):
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    assert main(["verify", "kmer-4", "--repo", str(pushed_clone), "--tasks", *TASKS,
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["matched"] and report["tasks"] == TASKS
