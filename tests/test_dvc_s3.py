"""Embeddings over S3 (a local moto server on 127.0.0.1): push, fresh clone, pull one model,
re-run the probe with every extractor module made unimportable; and the failure paths."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from stages import paths
from stages.dvc_data import dir_md5
from stages.dvc_scratch import (
    TEST_MODELS,
    TEST_TASKS,
    build_pipeline_origin,
    clone,
    run,
    scratch_env,
    venv_bin,
)

pytestmark = pytest.mark.s3

BUCKET = "geneb-test"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_MAX_ATTEMPTS": "1"}  # no botocore retries: a dead endpoint fails in seconds
MODEL = TEST_MODELS[0]
EMB = f"embeddings/lite/{MODEL}"

# Put first on PYTHONPATH, this makes every extractor family module (and torch/transformers)
# unimportable: only the contract and the registry stay, which the probe needs for metadata.
BLOCKER = '''
import importlib.abc, sys
ALLOWED = {"stages.extractors", "stages.extractors.base", "stages.extractors.registry"}
class _Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top in ("torch", "transformers") or (
                name.startswith("stages.extractors.") and name not in ALLOWED):
            raise ImportError(f"{name} is unavailable in this step (extractor blocked by test)")
        return None
sys.meta_path.insert(0, _Blocker())
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([str(venv_bin() / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"moto_server did not start on {endpoint}") from None
                time.sleep(0.2)
        import boto3

        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        client.create_bucket(Bucket=BUCKET)
        yield endpoint, client
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def use_remote(repo: Path, endpoint: str) -> None:
    """Per-clone remote settings the DVC way: `--local` (git-ignored), secrets from AWS_*."""
    run(["dvc", "remote", "modify", "--local", "embeddings", "url", f"s3://{BUCKET}/dvc"], repo)
    run(["dvc", "remote", "modify", "--local", "embeddings", "endpointurl", endpoint], repo)


def env(repo: Path, **extra: str) -> dict[str, str]:
    return scratch_env(repo, {**CREDENTIALS, **extra})


def locked_out(repo: Path, stage: str) -> str:
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    return lock["stages"][stage]["outs"][0]["md5"]


def manifest(repo: Path, model: str) -> list[dict]:
    """The ``.dir`` object DVC keeps for a model's embeddings: [{md5, relpath}, ...]."""
    md5 = locked_out(repo, f"embed@{model}")
    return json.loads((repo / ".dvc/cache/files/md5" / md5[:2] / md5[2:]).read_text())


@pytest.fixture(scope="module")
def pushed(s3, tmp_path_factory):
    endpoint, client = s3
    origin = build_pipeline_origin(paths.REPO_ROOT, tmp_path_factory.getbasetemp() / "dvc-origin",
                                   TEST_TASKS, TEST_MODELS)
    use_remote(origin, endpoint)
    result = run(["dvc", "push"], origin, env(origin))
    keys = {o["Key"] for o in client.list_objects_v2(Bucket=BUCKET)["Contents"]}
    expected = {f"dvc/files/md5/{md5[:2]}/{md5[2:]}"
                for model in TEST_MODELS
                for md5 in [locked_out(origin, f"embed@{model}")]
                + [e["md5"] for e in manifest(origin, model)]}
    assert keys == expected, result.output  # every model's manifest and files, nothing else
    assert len([e for e in manifest(origin, MODEL) if e["relpath"].endswith(".npz")]) == len(
        TEST_TASKS)
    assert not (origin / ".dvc" / "config").read_text().count(endpoint)  # stays in config.local
    return origin, endpoint, client


def test_pull_one_model_and_rescore_without_the_extractor(pushed, tmp_path):
    origin, endpoint, _ = pushed
    repo = clone(origin, tmp_path / "fresh")
    use_remote(repo, endpoint)
    pulled = run(["dvc", "pull", EMB], repo, env(repo))
    assert (repo / EMB).is_dir() and not (repo / "embeddings/lite" / TEST_MODELS[1]).exists()
    assert dir_md5(repo / EMB)[0] == locked_out(repo, f"embed@{MODEL}"), pulled.output

    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCKER)
    blocked = env(repo, PYTHONPATH=f"{blocker}:{repo}")
    proof = run(["geneb", "embed", "--model", MODEL, "--suite", "lite", "--out", str(tmp_path / "x")],
                repo, blocked, check=False)
    assert proof.returncode != 0 and "unavailable in this step" in proof.output, proof.output

    before = json.loads((repo / f"results/lite/submissions/{MODEL}.json").read_text())
    (repo / f"results/lite/submissions/{MODEL}.json").unlink()
    rescored = run(["dvc", "repro", "--single-item", f"score@{MODEL}"], repo, blocked)
    assert f"Running stage 'score@{MODEL}'" in rescored.output
    assert "Running stage 'embed@" not in rescored.output
    after = json.loads((repo / f"results/lite/submissions/{MODEL}.json").read_text())
    assert after == before  # the same numbers, settings (from _settings.json) and code revision
    assert "unavailable" not in rescored.output


def _assert_untouched(repo: Path) -> None:
    assert not (repo / "embeddings").exists()
    status = run(["git", "status", "--porcelain", "--untracked-files=all"], repo).output
    assert status.strip() == "", status


def test_wrong_endpoint_is_a_clear_error_and_changes_nothing(pushed, tmp_path):
    origin, _, _ = pushed
    repo = clone(origin, tmp_path / "fresh")
    use_remote(repo, f"http://127.0.0.1:{free_port()}")
    result = run(["dvc", "pull", EMB], repo, env(repo), check=False, timeout=300)
    assert result.returncode != 0
    assert "ERROR" in result.output and "connect" in result.output.lower(), result.output
    _assert_untouched(repo)


def test_missing_credentials_is_a_clear_error(pushed, tmp_path):
    origin, endpoint, _ = pushed
    repo = clone(origin, tmp_path / "fresh")
    use_remote(repo, endpoint)
    bare = {k: v for k, v in env(repo).items() if not k.startswith("AWS_")}
    bare["AWS_CONFIG_FILE"] = bare["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "none")
    result = run(["dvc", "pull", EMB], repo, bare, check=False)
    assert result.returncode != 0 and "credentials" in result.output.lower(), result.output
    _assert_untouched(repo)


def test_missing_object_is_a_clear_error_and_changes_nothing(pushed, tmp_path):
    origin, endpoint, client = pushed
    victim = next(e for e in manifest(origin, MODEL) if e["relpath"].endswith(".npz"))
    key = f"dvc/files/md5/{victim['md5'][:2]}/{victim['md5'][2:]}"
    client.delete_object(Bucket=BUCKET, Key=key)
    try:
        repo = clone(origin, tmp_path / "fresh")
        use_remote(repo, endpoint)
        result = run(["dvc", "pull", EMB], repo, env(repo), check=False)
        assert result.returncode != 0, result.output
        assert "ERROR" in result.output and victim["md5"] in result.output, result.output
        _assert_untouched(repo)
    finally:
        run(["dvc", "push", EMB], origin, env(origin))  # restore the object for other tests
