"""``geneb pack``: legacy per-task logs, written exactly as the first GENEB pipeline named them,
pack back into the published submission; gaps, strays and conflicts are reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stages.cli import main
from stages.model_meta import default_model_meta
from stages.pack import pack_logs, parse_legacy_name, resolve_meta
from stages.validate import check_submission

LEGACY_KEYS = {"MCC": "mcc", "Acc": "accuracy", "F1": "f1_score"}


def legacy_name(name_model: str, task_name: str, extractor_name: str, regime: str) -> str:
    """The first pipeline's naming, transcribed from its ``_save_result``:
    ``results_{Path(name_model).stem}_{task_name}_{result_type}.json`` where ``result_type`` is the
    lower-cased extractor class name, plus ``_k-{k}`` for k-shot runs."""
    result_type = extractor_name if regime == "full" else f"{extractor_name}_k-{regime[:-4]}"
    return f"results_{Path(name_model).stem}_{task_name}_{result_type}.json"


def write_logs(folder: Path, submission: dict, name_model: str, extractor: str) -> Path:
    """One log per task and regime, with the means of the published submission."""
    folder.mkdir(parents=True, exist_ok=True)
    for regime, tasks in submission["results"].items():
        for task_id, scores in tasks.items():
            log = {LEGACY_KEYS[m]: {"mean": v, "std": 0.01} for m, v in scores.items()}
            (folder / legacy_name(name_model, task_id, extractor, regime)).write_text(
                json.dumps(log, indent=4), encoding="utf-8")
    return folder


@pytest.fixture
def grover_logs(tmp_path, published) -> Path:
    return write_logs(tmp_path / "logs", published["GROVER"], "PoetschLab/GROVER", "groverextractor")


def test_every_task_and_regime_name_parses_back(spec):
    # dna_gpt0.1b_h shows the pipeline's own quirk: Path(...).stem cut the model name short
    for regime in spec.regimes:
        for task_id in spec.task_ids:
            name = legacy_name("dna_gpt0.1b_h", task_id, "dnagptextractor", regime)
            parsed = parse_legacy_name(name, spec)
            assert parsed is not None, name
            assert (parsed.model_stem, parsed.task_id, parsed.extractor, parsed.regime) == (
                "dna_gpt0", task_id, "dnagptextractor", regime)


def test_a_task_id_that_prefixes_another_is_not_confused(spec):
    short = "InstaDeepAI_nucleotide_transformer_downstream_tasks_H3"
    longer = "InstaDeepAI_nucleotide_transformer_downstream_tasks_H3K14ac"
    assert parse_legacy_name(legacy_name("m", longer, "x", "full"), spec).task_id == longer
    assert parse_legacy_name(legacy_name("m", short, "x", "10shot"), spec).task_id == short
    assert parse_legacy_name("results_m_not_a_task_x.json", spec) is None
    assert parse_legacy_name("notes.json", spec) is None


def test_packed_logs_reproduce_the_published_submission(grover_logs, published, spec):
    meta = default_model_meta()["GROVER"]
    report = pack_logs(grover_logs, meta, spec)
    assert report.complete and report.lines() == []
    assert report.submission.results == published["GROVER"]["results"]
    assert report.submission.meta["display"] == "GROVER"
    assert check_submission(report.submission.to_json(), "packed", stem="GROVER") == []


def test_cli_pack_writes_a_valid_submission(grover_logs, tmp_path, published, capsys):
    out = tmp_path / "out" / "GROVER.json"
    assert main(["pack", str(grover_logs), "--model-id", "GROVER", "--suite", "full", "--out", str(out)]) == 0
    assert "(valid)" in capsys.readouterr().err
    assert json.loads(out.read_text())["results"] == published["GROVER"]["results"]


def test_missing_tasks_and_regimes_are_reported_and_nothing_is_written(grover_logs, tmp_path,
                                                                        capsys, spec):
    gone_full, gone_1shot = spec.task_ids[3], spec.task_ids[70]
    (grover_logs / legacy_name("PoetschLab/GROVER", gone_full, "groverextractor", "full")).unlink()
    for path in grover_logs.glob("*_k-1.json"):
        if gone_1shot in path.name or spec.task_ids[71] in path.name:
            path.unlink()
    report = pack_logs(grover_logs, default_model_meta()["GROVER"], spec)
    assert report.missing == {"full": [gone_full], "1shot": [spec.task_ids[70], spec.task_ids[71]]}
    assert not report.complete

    out = tmp_path / "GROVER.json"
    assert main(["pack", str(grover_logs), "--model-id", "GROVER", "--suite", "full", "--out", str(out)]) == 1
    stdout = capsys.readouterr().out
    assert f"missing: regime full: 1 task(s): {gone_full}" in stdout
    assert f"missing: regime 1shot: 2 task(s): {spec.task_ids[70]}, {spec.task_ids[71]}" in stdout
    assert not out.exists()

    assert main(["pack", str(grover_logs), "--model-id", "GROVER", "--suite", "full", "--out", str(out),
                 "--allow-incomplete"]) == 1  # written, but validation names the gaps
    assert out.exists()
    assert "results/full: missing 1 of 100 tasks" in capsys.readouterr().out


def test_strays_conflicts_and_bad_values(grover_logs, spec):
    (grover_logs / "notes.json").write_text("{}")
    (grover_logs / "results_GROVER_no_such_task_groverextractor.json").write_text("{}")
    task = spec.task_ids[5]
    second = grover_logs / legacy_name("PoetschLab/GROVER", task, "otherextractor", "full")
    second.write_text(json.dumps({"mcc": {"mean": 0.1}, "accuracy": {"mean": 0.5},
                                  "f1_score": {"mean": 0.5}}))
    bad = grover_logs / legacy_name("PoetschLab/GROVER", spec.task_ids[9], "groverextractor", "10shot")
    bad.write_text('{"mcc": {"mean": NaN}, "accuracy": {"mean": 0.5}, "f1_score": {"mean": 0.5}}')

    report = pack_logs(grover_logs, default_model_meta()["GROVER"], spec)
    assert len(report.unrecognised) == 2 and any("notes.json" in u for u in report.unrecognised)
    assert any(e.startswith(f"full/{task}: several files") for e in report.errors)
    assert f"{bad.name}: mcc.mean is nan, not a finite number" in report.errors
    assert report.missing == {"full": [task], "10shot": [spec.task_ids[9]]}

    chosen = pack_logs(grover_logs, default_model_meta()["GROVER"], spec,
                       extractor="groverextractor")
    assert not any("several files" in e for e in chosen.errors)
    assert task in chosen.submission.results["full"]


def test_metadata_for_a_model_without_a_card():
    with pytest.raises(ValueError, match="give --display and --params"):
        resolve_meta("new-model", {"display": None}, default_model_meta())
    meta = resolve_meta("new-model", {"display": "New", "params": 5}, default_model_meta())
    assert (meta.display, meta.params, meta.provenance) == ("New", 5, "self-reported")
    listed = resolve_meta("GROVER", {"submitted_by": "me"}, default_model_meta())
    assert (listed.display, listed.provenance, listed.submitted_by) == ("GROVER", "official", "me")


def test_pack_for_lite_needs_an_explicit_destination(grover_logs, capsys):
    assert main(["pack", str(grover_logs), "--model-id", "GROVER", "--suite", "lite"]) == 2
    assert "give --out" in capsys.readouterr().err
