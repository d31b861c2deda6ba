"""``geneb lockcheck``: each kind of stale change, made in a scratch clone without any pull,
fails the check with the stage and the reason; the clean clone passes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from stages import paths
from stages.cli import main
from stages.dvc_lockcheck import check_lock, format_report
from stages.dvc_scratch import TEST_MODELS, TEST_TASKS, build_pipeline_origin, clone


@pytest.fixture(scope="module")
def origin(tmp_path_factory) -> Path:
    dest = tmp_path_factory.getbasetemp() / "dvc-origin"
    return build_pipeline_origin(paths.REPO_ROOT, dest, TEST_TASKS, TEST_MODELS)


@pytest.fixture
def fresh(origin, tmp_path) -> Path:
    """A clone as CI sees it: git files only, no DVC cache, no embeddings."""
    repo = clone(origin, tmp_path / "clone")
    assert not (repo / "embeddings").exists()
    return repo


def edit_params(repo: Path, change: Callable[[dict], None]) -> None:
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    change(params)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def edit_json(path: Path, change: Callable[[dict], None]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_clean_clone_passes_without_pulling(fresh):
    report = check_lock(fresh)
    assert report.ok, format_report(report)
    assert report.dry_run_exit == 0
    assert main(["lockcheck", "--repo", str(fresh)]) == 0


def _set_strand(params: dict) -> None:
    params["models"]["kmer-3"]["settings"] = {"strand": "both"}


def _add_model(params: dict) -> None:
    params["models"]["kmer-5"] = {"settings": {}}


def _drop_model(params: dict) -> None:
    del params["models"]["kmer-4"]


def _bump_metric(data: dict) -> None:
    data["MCC"]["full"] = 0.99


TASK = TEST_TASKS[0]
SCENARIOS = {
    "probe code edited": (
        lambda r: append(r / "stages/probe.py", "\n# edited\n"),
        [("score@kmer-3", "stages/probe.py (modified)"),
         ("score@kmer-4", "stages/probe.py (modified)")], ["embed@kmer-3"]),
    "extractor code edited": (
        lambda r: append(r / "stages/extractors/kmer.py", "\n# edited\n"),
        [("embed@kmer-3", "code changed: stages/extractors/kmer.py (modified)"),
         ("code", "stages (modified)")], ["score@kmer-3"]),
    "one model's settings edited": (
        lambda r: edit_params(r, _set_strand),
        [("embed@kmer-3", "params.yaml models.kmer-3 (modified)")],
        ["embed@kmer-4", "score@kmer-3", "score@kmer-4"]),
    "task CSV changed": (
        lambda r: append(r / f"data/lite/tasks/{TASK}/train.csv", "ACGTACGTAC,0\n"),
        [("manifest", "data/lite/tasks (modified)")], ["embed@kmer-3", "embed@kmer-4"]),
    "metrics hand-edited": (
        lambda r: edit_json(r / "results/lite/metrics/kmer-4.json", _bump_metric),
        [("score@kmer-4", "changed outs: results/lite/metrics/kmer-4.json (modified)")],
        ["score@kmer-3"]),
    "submission deleted": (
        lambda r: (r / "results/lite/submissions/kmer-3.json").unlink(),
        [("score@kmer-3", "results/lite/submissions/kmer-3.json (deleted)")], []),
    "stage command edited": (
        lambda r: (r / "dvc.yaml").write_text(
            (r / "dvc.yaml").read_text().replace("--params params.yaml\n",
                                                 "--params params.yaml --quiet\n")),
        [("embed@kmer-3", "changed command")], []),
    "leaderboard hand-edited": (
        lambda r: append(r / "results/lite/leaderboard/leaderboard.json", " "),
        [("leaderboard", "results/lite/leaderboard (modified)")], ["score@kmer-3"]),
    "leaderboard code edited": (
        lambda r: append(r / "stages/leaderboard.py", "\n# edited\n"),
        [("leaderboard", "stages/leaderboard.py (modified)")], ["score@kmer-3"]),
    "model added but not run": (
        lambda r: edit_params(r, _add_model),
        [("embed@kmer-5", "never run"), ("score@kmer-5", "never run")], ["embed@kmer-3"]),
    "model removed, lock and results left": (
        lambda r: edit_params(r, _drop_model),
        [("embed@kmer-4", "orphan: in dvc.lock"), ("score@kmer-4", "orphan: in dvc.lock"),
         ("results/lite/submissions/kmer-4.json", "orphan: model 'kmer-4'"),
         ("results/lite/metrics/kmer-4.json", "orphan: model 'kmer-4'"),
         ("results/lite/metrics/details/kmer-4.json", "orphan: model 'kmer-4'"),
         ("results/lite/plots/kmer-4/categories.json", "orphan: model 'kmer-4'"),
         ("results/lite/plots/kmer-4/regimes.json", "orphan: model 'kmer-4'")], ["embed@kmer-3"]),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_stale_change_fails_naming_stage_and_reason(fresh, name, capsys):
    mutate, expected, untouched = SCENARIOS[name]
    mutate(fresh)
    report = check_lock(fresh)
    text = format_report(report)
    assert not report.ok, f"{name}: check passed\n{text}"
    for stage, why in expected:
        assert any(f.stage == stage and why in f.why for f in report.findings), \
            f"{name}: no finding ({stage}, {why!r}) in\n{text}"
    flagged = {f.stage for f in report.findings}
    assert not flagged & set(untouched), f"{name}: unrelated stages flagged\n{text}"
    assert text.startswith("lockcheck: FAIL") and "run `dvc repro`" in text


def test_exit_code_alone_misses_a_stale_stage_with_git_inputs(fresh):
    # Everything the leaderboard reads is in git, so the dry run exits 0 yet would run it.
    append(fresh / "stages/leaderboard.py", "\n# edited\n")
    report = check_lock(fresh)
    assert report.dry_run_exit == 0 and not report.ok


def test_cli_exit_code_and_message(fresh, capsys):
    append(fresh / "stages/aggregate.py", "\n# edited\n")
    assert main(["lockcheck", "--repo", str(fresh)]) == 1
    out = capsys.readouterr().out
    assert "score@kmer-3: code changed: stages/aggregate.py (modified)" in out


def test_unusable_params_is_a_finding_not_a_crash(fresh):
    edit_params(fresh, lambda params: params["models"].update({"not-registered": {"settings": {}}}))
    report = check_lock(fresh)
    assert any(f.stage == "params.yaml" and "field 'models.not-registered'" in f.why
               for f in report.findings), format_report(report)
