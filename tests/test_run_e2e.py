"""``geneb run``: real lite data in, a labelled submission out, numbers equal to the plain protocol."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stages.cli import main
from stages.dvc_reports import report_paths
from stages.embed import embed_suite
from stages.extractors.registry import get_model_entry, load_extractor
from stages.io_utils import file_md5
from stages.probe_reference import reference_probe
from stages.run import RunPaths, run_model
from stages.taskdata import load_task


@pytest.fixture(scope="module")
def lite_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    out = RunPaths(root / "emb", root / "sub.json", root / "reports")
    submission = run_model("kmer-3", "lite", out, progress=False).to_json()
    return out, submission


def test_submission_is_labelled_lite_and_complete(lite_run, spec, lite):
    out, submission = lite_run
    on_disk = json.loads(out.submission.read_text())
    assert on_disk == json.loads(json.dumps(submission))
    assert on_disk["suite"] == "lite" and on_disk["run_settings"]["suite"]["subsample"] is True
    assert on_disk["schema_version"] == "1.0" and on_disk["model_id"] == "kmer-3"
    assert set(on_disk["meta"]) == {"display", "params", "url", "zero_shot", "training_data",
                                    "provenance", "submitted_by"}
    for regime in spec.regimes:
        assert set(on_disk["results"][regime]) == set(lite.task_ids)
    settings = on_disk["run_settings"]
    assert settings["extractor"]["settings"]["options"] == {"k": 3}
    assert settings["probe"]["seeds"] == [13, 17, 42, 123, 997]
    assert settings["packages"]["scikit-learn"]
    task_id = lite.task_ids[0]
    assert settings["data_md5"][task_id]["train"] == file_md5(lite.data_dir / task_id / "train.csv")
    assert len(settings["per_seed"]["10shot"][task_id]["MCC"]) == 5


def test_numbers_equal_plain_protocol(lite_run, spec, lite):
    _, submission = lite_run
    task_id = "leannmlindsey_GUE_mouse_2"
    task = load_task(lite.data_dir, task_id)
    extractor = load_extractor(get_model_entry("kmer-3"))
    plain = reference_probe(extractor.embed(task.train.sequences), task.train.labels,
                            extractor.embed(task.test.sequences), task.test.labels,
                            list(spec.protocol.seeds), list(spec.protocol.few_shot_k))
    for regime, metrics in plain.items():
        for metric, values in metrics.items():
            assert submission["results"][regime][task_id][metric] == np.mean(values)


def test_metrics_file_aggregates(lite_run, spec):
    out, submission = lite_run
    files = report_paths(out.reports, "kmer-3")
    metrics = json.loads(files["details"].read_text())
    tf_tasks = [t for t in submission["results"]["full"] if "human_tf" in t]
    expected_tf = np.mean([submission["results"]["full"][t]["MCC"] for t in tf_tasks])
    assert metrics["full"]["MCC"]["categories"]["TF Binding"] == pytest.approx(expected_tf)
    cats = metrics["full"]["MCC"]["categories"]
    assert metrics["full"]["MCC"]["macro"] == pytest.approx(np.mean(list(cats.values())))
    assert metrics["suite"] == "lite"
    headline = json.loads(files["metrics"].read_text())["MCC"]  # the `dvc metrics show` row
    assert headline == {regime: metrics[regime]["MCC"]["macro"] for regime in spec.regimes} | \
        {"full_micro": metrics["full"]["MCC"]["micro"]}


def test_second_embed_is_all_cache_hits(lite_run, lite):
    out, _ = lite_run
    before = {p.name: p.stat().st_mtime_ns for p in out.embeddings.glob("*.npz")}
    status = embed_suite(load_extractor(get_model_entry("kmer-3")), lite, out.embeddings, progress=False)
    assert all(status.values()) and len(status) == 13
    assert before == {p.name: p.stat().st_mtime_ns for p in out.embeddings.glob("*.npz")}


def test_cli_run_prints_table_and_labels_lite(tmp_path, capsys):
    out = tmp_path / "kmer-3.json"
    assert main(["run", "--model", "kmer-3", "--suite", "lite", "--out", str(out), "--quiet",
                 "--embeddings", str(tmp_path / "emb"), "--settings", '{"options": {"k": 2}}']) == 0
    printed = capsys.readouterr().out
    assert "NOT GENEB scores" in printed and "Macro" in printed and "TF Binding" in printed
    written = json.loads(out.read_text())
    assert written["suite"] == "lite"
    assert written["run_settings"]["extractor"]["settings"]["options"] == {"k": 2}
    assert (tmp_path / "emb" / "leannmlindsey_GUE_mouse_0.npz").is_file()


def test_unknown_model_is_a_clear_error(capsys):
    assert main(["run", "--model", "no-such-model", "--quiet"]) == 2
    assert "not registered" in capsys.readouterr().err


def test_summary_lists_every_lite_submission(capsys):
    from stages import paths

    files = sorted((paths.REPO_ROOT / "results" / "lite" / "submissions").glob("*.json"))
    assert files, "the lite pipeline's submissions are committed"
    assert main(["summary", "--suite", "lite"]) == 0
    printed = capsys.readouterr().out
    for path in files:
        assert f"{path.stem} on suite 'lite' (a subsample: these are NOT GENEB scores)" in printed
    assert "results/lite/leaderboard" in printed


def test_summary_says_how_remade_numbers_compare_with_the_committed_ones(
        tmp_path, monkeypatch, capsys, writer_submission, spec):
    """After `make run` on another CPU: which numbers moved, by how much, and whether that is
    more than the machine noise the committed file recorded (plus this run's own)."""
    import copy
    import subprocess

    from stages import paths

    repo = tmp_path / "checkout"
    folder = repo / "results" / "lite" / "submissions"
    folder.mkdir(parents=True)
    committed = writer_submission("lite")
    committed["run_settings"]["embedding_sha256"] = {t: "a" * 64 for t in spec.suite("lite").task_ids}
    (folder / "kmer-4.json").write_text(json.dumps(committed))
    for args in (["init", "-q"], ["add", "-A"],
                 ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "c"]):
        subprocess.run(["git", *args], cwd=repo, check=True)
    monkeypatch.setattr(paths, "REPO_ROOT", repo)

    assert main(["summary", "--suite", "lite"]) == 0
    assert "the committed numbers" in capsys.readouterr().out

    task = spec.suite("lite").task_ids[4]
    floor = committed["run_settings"]["noise_floor"]["results"]["10shot"][task]["MCC"]
    remade = copy.deepcopy(committed)
    for factor, verdict in ((0.5, "within the machine noise"), (3.0, "LARGER than the machine noise")):
        remade["results"]["10shot"][task]["MCC"] = committed["results"]["10shot"][task]["MCC"] + factor * floor
        remade["run_settings"]["per_seed"]["10shot"][task]["MCC"] = [
            v + factor * floor for v in committed["run_settings"]["per_seed"]["10shot"][task]["MCC"]]
        (folder / "kmer-4.json").write_text(json.dumps(remade))
        assert main(["summary", "--suite", "lite"]) == 0
        printed = capsys.readouterr().out
        assert "re-made on this machine; compared with the committed file:" in printed
        assert f"largest |diff| {factor * floor:.2e} ({task} 10shot MCC), {verdict}" in printed
        assert "exact numbers: all 117 identical" in printed
