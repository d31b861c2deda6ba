"""The suite's data manifest: the committed one matches the data, a cached model reads no CSV,
and data that changed after the manifest was written is refused, never embedded silently."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stages import paths, taskdata
from stages.cli import main
from stages.manifest import ManifestError, hash_suite_data, read_manifest, write_manifest
from stages.pipeline import embed_stage
from stages.spec import Suite
from stages.taskdata import TaskDataError


@pytest.fixture()
def small(tmp_path, lite) -> Suite:
    """Two real lite tasks in a scratch data directory (so a test may edit their CSVs)."""
    data = tmp_path / "data" / "lite" / "tasks"
    chosen = lite.task_ids[-2:]
    for task_id in chosen:
        (data / task_id).mkdir(parents=True)
        for split in ("train", "test"):
            source = lite.data_dir / task_id / f"{split}.csv"
            (data / task_id / f"{split}.csv").write_bytes(source.read_bytes())
    return Suite("lite", "two lite tasks", tuple(chosen), data, is_subsample=True)


def test_committed_manifest_matches_the_lite_data(lite):
    # dvc.lock pins it too; this says what it means: the md5 of each CSV's bytes, as DVC hashes them
    committed = read_manifest(paths.REPO_ROOT / "data" / "lite" / "manifest.json", lite)
    assert committed == hash_suite_data(lite)
    first = lite.task_ids[0]
    assert committed[first]["train"] == taskdata.load_task(lite.data_dir, first).train.md5


def test_cli_writes_the_manifest(tmp_path, lite, capsys):
    out = tmp_path / "manifest.json"
    assert main(["manifest", "--suite", "lite", "--out", str(out)]) == 0
    written = json.loads(out.read_text())
    assert written["suite"] == "lite" and list(written["tasks"]) == list(lite.task_ids)
    assert f"md5 of {2 * len(lite.task_ids)} CSVs" in capsys.readouterr().out


def test_a_fully_cached_model_reads_no_csv(small, tmp_path, monkeypatch):
    manifest = tmp_path / "manifest.json"
    write_manifest(small, manifest)
    out = tmp_path / "emb" / "kmer-3"
    monkeypatch.setattr("stages.spec.BenchmarkSpec.suite", lambda self, name: small)
    assert not any(embed_stage("kmer-3", "lite", out, progress=False, manifest=manifest).values())

    def no_csv(path: Path):
        raise AssertionError(f"read {path}")

    monkeypatch.setattr(taskdata, "read_split", no_csv)
    assert all(embed_stage("kmer-3", "lite", out, progress=False, manifest=manifest).values())


def test_data_changed_after_the_manifest_is_refused(small, tmp_path, monkeypatch):
    manifest = tmp_path / "manifest.json"
    write_manifest(small, manifest)
    monkeypatch.setattr("stages.spec.BenchmarkSpec.suite", lambda self, name: small)
    csv = small.data_dir / small.task_ids[1] / "test.csv"
    csv.write_text(csv.read_text() + "ACGTACGTACGTACGTACGTACGTACGTACGT,1\n")
    with pytest.raises(TaskDataError, match=rf"{csv.name}: md5 \w+ differs from \w+ in the suite's manifest"):
        embed_stage("kmer-3", "lite", tmp_path / "emb", progress=False, manifest=manifest)
    assert not (tmp_path / "emb" / f"{small.task_ids[1]}.npz").exists()


@pytest.mark.parametrize("edit, field", [
    (lambda m: m.update(suite="full"), "'suite' is 'full'"),
    (lambda m: m["tasks"].popitem(), "field 'tasks' lacks"),
    (lambda m: m.update(format=99), "field 'format'"),
    (lambda m: next(iter(m["tasks"].values())).pop("test"), "expected md5s of"),
])
def test_bad_manifest_names_file_and_field(small, tmp_path, edit, field):
    path = tmp_path / "manifest.json"
    manifest = write_manifest(small, path)
    edit(manifest)
    path.write_text(json.dumps(manifest))
    with pytest.raises(ManifestError, match=field) as caught:
        read_manifest(path, small)
    assert str(path) in str(caught.value)


def test_missing_manifest_says_how_to_make_it(small, tmp_path):
    with pytest.raises(ManifestError, match="dvc repro manifest"):
        read_manifest(tmp_path / "absent.json", small)


def test_missing_csv_names_the_file(small):
    (small.data_dir / small.task_ids[0] / "train.csv").unlink()
    with pytest.raises(TaskDataError, match=r"train\.csv: split file is missing"):
        hash_suite_data(small)
