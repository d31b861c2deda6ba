"""Pinned full-suite data: the real ``dvc import`` against a local git repository in the Hugging
Face dataset's layout (real lite CSVs), a later content change that must stop the run, and the
maintainers' publish command (everything but the network call)."""

from __future__ import annotations

import dataclasses
import inspect
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from stages import dvc_data, manifest, paths
from stages.dvc_data import DATASET_PATH, DataPinError, dir_md5, publish_dataset, stage_dataset
from stages.dvc_scratch import TEST_TASKS, commit_all, copy_worktree, run, scratch_env
from stages.io_utils import file_md5
from stages.taskdata import TaskDataError

LITE = paths.REPO_ROOT / "data" / "lite" / "tasks"


def make_upstream(root: Path) -> tuple[Path, str]:
    """A plain git repo laid out like DeepPavlov/geneb-tasks: tasks/<id>/{train,test}.csv."""
    root.mkdir()
    run(["git", "init", "-q", "-b", "main"], root)
    for task in TEST_TASKS:
        shutil.copytree(LITE / task, root / DATASET_PATH / task)
    (root / "README.md").write_text("---\nconfigs: []\n---\n# test dataset\n")
    return root, commit_all(root, "tasks v1")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A scratch project whose spec pins the local upstream and whose full suite is 2 tasks."""
    base = tmp_path_factory.mktemp("dvc-import")
    upstream, sha1 = make_upstream(base / "upstream")
    repo = copy_worktree(paths.REPO_ROOT, base / "project",
                         skip=("results/", "embeddings/", "dvc.lock", "submissions/"))
    spec_path = repo / "benchmark" / "benchmark_spec.json"
    spec = json.loads(spec_path.read_text())
    spec["dataset"].update(source=str(upstream), revision=sha1)
    spec_path.write_text(json.dumps(spec, indent=2))
    suites_path = repo / "benchmark" / "suites.json"
    suites = json.loads(suites_path.read_text())
    suites["full"]["tasks"] = list(TEST_TASKS)
    suites_path.write_text(json.dumps(suites, indent=2))
    commit_all(repo, "scratch project")
    imported = run(["geneb", "import-data", "--suite", "full"], repo)
    commit_all(repo, "pin the full suite data")  # what a maintainer commits: data/full/tasks.dvc
    return repo, upstream, sha1, imported.output


def geneb(repo: Path, *args: str):
    return run(["geneb", *args], repo, check=False)


def test_import_records_commit_and_content_hashes(project):
    repo, upstream, sha1, output = project
    pin = yaml.safe_load((repo / "data/full/tasks.dvc").read_text())
    assert pin["deps"][0]["repo"] == {"url": str(upstream), "rev": sha1, "rev_lock": sha1}
    assert pin["deps"][0]["path"] == DATASET_PATH
    assert pin["outs"][0]["md5"] == dir_md5(repo / "data/full/tasks")[0]  # DVC's own hash
    for task in TEST_TASKS:
        for split in ("train", "test"):
            assert (repo / f"data/full/tasks/{task}/{split}.csv").read_bytes() == (
                LITE / task / f"{split}.csv").read_bytes()
    assert "pinned: " in output
    verdict = geneb(repo, "verify-data", "--suite", "full")
    assert verdict.returncode == 0 and "matches" in verdict.output and sha1 in verdict.output
    embedded = geneb(repo, "embed", "--model", "kmer-3", "--suite", "full", "--quiet",
                     "--out", "embeddings/full/kmer-3")
    assert embedded.returncode == 0 and "2 task(s) embedded" in embedded.output, embedded.output


def test_later_upstream_change_stops_the_run(project):
    repo, upstream, sha1, _ = project
    with open(upstream / DATASET_PATH / TEST_TASKS[0] / "test.csv", "a") as handle:
        handle.write("ACGTACGTACGT,1\n")
    sha2 = commit_all(upstream, "tasks v2")
    run(["dvc", "update", "--rev", sha2, "data/full/tasks.dvc"], repo)  # data moved under us
    try:
        verdict = geneb(repo, "verify-data", "--suite", "full")
        assert verdict.returncode == 2
        for needle in ("data/full/tasks.dvc", "rev_lock", sha2, "dataset.revision", sha1):
            assert needle in verdict.output, verdict.output
        out = repo / "embeddings/full/kmer-4"
        embed = geneb(repo, "embed", "--model", "kmer-4", "--suite", "full", "--out", str(out))
        assert embed.returncode == 2 and "refusing to evaluate different data" in embed.output
        assert not out.exists()
        params = repo / "params.yaml"
        params.write_text("suite: full\nmodels:\n  kmer-4:\n    settings: {}\n")
        repro = run(["dvc", "repro", "embed@kmer-4"], repo, check=False)
        assert repro.returncode != 0 and "rev_lock" in repro.output, repro.output
    finally:
        run(["git", "checkout", "--", "data/full/tasks.dvc", "params.yaml"], repo)
        run(["dvc", "checkout", "data/full/tasks.dvc"], repo)
    assert geneb(repo, "verify-data", "--suite", "full").returncode == 0


def test_local_edit_of_pinned_data_names_the_file(project):
    repo, *_ = project
    csv = repo / "data/full/tasks" / TEST_TASKS[1] / "train.csv"
    original = csv.read_bytes()
    csv.write_bytes(original + b"ACGTACGTACGT,0\n")
    try:
        verdict = geneb(repo, "verify-data", "--suite", "full")
        assert verdict.returncode == 2
        assert f"changed: {TEST_TASKS[1]}/train.csv" in verdict.output, verdict.output
    finally:
        csv.write_bytes(original)


def test_manifest_of_pinned_data_reads_each_csv_once(project, spec, monkeypatch):
    repo, upstream, sha1, _ = project
    pinned = dataclasses.replace(spec, dataset=dataclasses.replace(spec.dataset, source=str(upstream),
                                                                   revision=sha1))
    full = dataclasses.replace(spec.suite("full"), task_ids=TEST_TASKS, data_dir=repo / "data/full/tasks")
    monkeypatch.setattr(dvc_data, "default_spec", lambda: pinned)
    rehashed = []
    monkeypatch.setattr(manifest, "file_md5", lambda path: rehashed.append(path))
    hashes = manifest.verified_hashes(full)  # the pin check hashed every file: reuse, not re-read
    assert rehashed == []
    for task in TEST_TASKS:
        for split in ("train", "test"):
            assert hashes[task][split] == file_md5(repo / f"data/full/tasks/{task}/{split}.csv")


def test_unknown_revision_fails_clearly(project):
    repo, upstream, *_ = project
    result = geneb(repo, "import-data", "--suite", "full", "--rev", "0" * 40)
    assert result.returncode == 2 and "dvc import of" in result.output and "failed" in result.output


def test_default_import_is_the_real_hugging_face_pin(monkeypatch, tmp_path, spec):
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 1, stdout="offline\n")

    monkeypatch.setattr(dvc_data.subprocess, "run", fake_run)
    with pytest.raises(DataPinError, match="failed"):
        dvc_data.import_suite_data("full", repo=tmp_path)
    cmd = calls[0]
    assert cmd[1:] == ["import", "https://huggingface.co/datasets/DeepPavlov/geneb-tasks", "tasks",
                       "-o", "data/full/tasks", "--rev", "4edd705be573e48c585c2cf79dc320f9f43c7b04",
                       "--force"]
    assert spec.dataset.source == cmd[2] and spec.dataset.revision == cmd[7]


def test_full_suite_without_pin_refuses(spec, monkeypatch, tmp_path):
    full = dataclasses.replace(spec.suite("full"), data_dir=tmp_path / "full" / "tasks")
    with pytest.raises(DataPinError, match=r"tasks.dvc: missing.*make full-data"):
        dvc_data.verify_suite_data(full, spec)
    lite = spec.suite("lite")
    assert "data in git" in dvc_data.verify_suite_data(lite, spec)


# --- publishing -----------------------------------------------------------------------------

@pytest.fixture
def small_spec(spec):
    return dataclasses.replace(spec, tasks=tuple(spec.task(t) for t in TEST_TASKS))


@pytest.fixture
def source(tmp_path) -> Path:
    """Task folders for exactly the small spec's tasks (real lite CSVs)."""
    for task in TEST_TASKS:
        shutil.copytree(LITE / task, tmp_path / "src" / task)
    return tmp_path / "src"


class FakeApi:
    def __init__(self):
        self.calls = []

    def upload_folder(self, **kwargs):
        tree = Path(kwargs["folder_path"])
        self.calls.append({**kwargs, "files": sorted(p.relative_to(tree).as_posix()
                                                     for p in tree.rglob("*") if p.is_file())})
        return type("CommitInfo", (), {"oid": "f" * 40})()


def test_publish_uploads_layout_and_prints_revision(small_spec, source, capsys):
    api = FakeApi()
    revision = publish_dataset(source, api=api, spec=small_spec, message="v2")
    assert revision == "f" * 40
    (call,) = api.calls
    assert call["repo_id"] == "DeepPavlov/geneb-tasks" and call["repo_type"] == "dataset"
    assert call["commit_message"] == "v2" and "tasks/**" in call["delete_patterns"]
    assert call["files"] == ["README.md"] + [f"tasks/{t}/{s}.csv" for t in sorted(TEST_TASKS)
                                             for s in ("test", "train")]
    out = capsys.readouterr().out
    assert f"revision {'f' * 40}" in out and "dataset.revision" in out


def test_readme_configs_name_each_subset_by_label(small_spec, source, tmp_path):
    rows = stage_dataset(source, tmp_path / "tree", small_spec)
    tmp_path = tmp_path / "tree"
    text = (tmp_path / "README.md").read_text()
    header = yaml.safe_load(text.split("---")[1])
    labels = {c["config_name"]: c for c in header["configs"]}
    for task in TEST_TASKS:
        config = labels[small_spec.task(task).label]
        assert config["data_files"] == [{"split": "train", "path": f"tasks/{task}/train.csv"},
                                        {"split": "test", "path": f"tasks/{task}/test.csv"}]
        assert rows[task]["train_md5"] in text
    assert (tmp_path / "tasks" / TEST_TASKS[0] / "train.csv").read_bytes() == (
        LITE / TEST_TASKS[0] / "train.csv").read_bytes()


def test_publish_refuses_bad_data_before_any_upload(small_spec, source):
    bad = source / TEST_TASKS[0] / "test.csv"
    bad.write_text("text,label\nACGUX,0\n")
    api = FakeApi()
    with pytest.raises(TaskDataError, match=str(bad)):
        publish_dataset(source, api=api, spec=small_spec)
    shutil.rmtree(source / TEST_TASKS[0])
    with pytest.raises(DataPinError, match="missing"):
        publish_dataset(source, api=api, spec=small_spec)
    assert api.calls == []


def test_publish_checks_every_task_before_staging_any(small_spec, source, tmp_path):
    """The same rules as `geneb check-data`; a bad last task leaves no half-staged tree."""
    last = source / TEST_TASKS[-1] / "train.csv"
    last.write_bytes(last.read_bytes() + b"text,label\nACGT\n")
    tree = tmp_path / "tree"
    with pytest.raises(TaskDataError) as caught:
        publish_dataset(source, dry_run=True, staging=tree, spec=small_spec)
    assert f"{last}: line " in str(caught.value) and "repeated header line" in str(caught.value)
    assert f"(and 1 more problem(s); `geneb check-data {source}` lists them all)" in str(caught.value)
    assert not tree.exists() or not any(tree.iterdir())


def test_dry_run_and_real_client_signature(small_spec, source, tmp_path):
    tree = tmp_path / "tree"
    assert publish_dataset(source, dry_run=True, staging=tree, spec=small_spec) is None
    assert (tree / "README.md").is_file()
    from huggingface_hub import HfApi

    accepted = inspect.signature(HfApi.upload_folder).parameters
    for name in ("repo_id", "repo_type", "folder_path", "commit_message", "delete_patterns"):
        assert name in accepted


def test_cli_env_runs_scratch_code(project):
    repo, *_ = project
    printed = run(["python", "-c", "import stages; print(stages.__file__)"], repo,
                  scratch_env(repo)).output.strip()
    assert printed == str(repo / "stages" / "__init__.py")
