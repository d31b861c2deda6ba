"""``dvc repro`` end to end in a scratch clone: a fresh clone re-embeds and reproduces the committed
``dvc.lock`` and results byte for byte, a second run does nothing, one model's settings re-run
only that model, one changed task CSV embeds only that task, and ``dvc metrics show`` and
``dvc plots show`` list every model. (The origin's own ``dvc repro`` ran every stage from nothing.)"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
import yaml

from stages import paths
from stages.dvc_scratch import TEST_MODELS, TEST_TASKS, build_pipeline_origin, clone, run

pytestmark = pytest.mark.slow


def ran(output: str) -> list[str]:
    return re.findall(r"^Running stage '([^']+)'", output, flags=re.MULTILINE)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> tuple[Path, str]:
    origin = build_pipeline_origin(paths.REPO_ROOT, tmp_path_factory.getbasetemp() / "dvc-origin",
                                   TEST_TASKS, TEST_MODELS)
    fresh = clone(origin, tmp_path_factory.mktemp("repro") / "fresh")
    first = run(["dvc", "repro"], fresh)
    return fresh, first.output


def test_fresh_clone_reproduces_the_committed_lock_exactly(repo):
    fresh, output = repo
    # embeddings are not in git, so every embed stage runs; its files come out byte-identical to
    # the origin's, so DVC finds the recorded hashes and has nothing else to re-run
    assert sorted(ran(output)) == sorted(f"embed@{m}" for m in TEST_MODELS), output
    for model in TEST_MODELS:
        assert f"embed {model} on lite: {len(TEST_TASKS)} task(s) embedded, 0 reused" in output
        assert f"Stage 'score@{model}' didn't change, skipping" in output
        assert (fresh / f"results/lite/submissions/{model}.json").is_file()
    assert run(["git", "status", "--porcelain"], fresh).output == ""  # dvc.lock and results as committed
    board = json.loads((fresh / "results/lite/leaderboard/leaderboard.json").read_text())
    assert board["suite"] == "lite" and board["subsample"] is True
    assert sorted(row["model"] for row in board["data"]["full"]) == sorted(TEST_MODELS)
    untouched = run(["git", "status", "--porcelain", "submissions", "leaderboard"], fresh)
    assert untouched.output == ""  # the official folders are never written


def test_second_repro_does_nothing(repo):
    fresh, _ = repo
    again = run(["dvc", "repro"], fresh)
    assert ran(again.output) == [] and "Data and pipelines are up to date" in again.output
    assert run(["dvc", "status", "--json"], fresh).output.strip() == "{}"


def test_one_model_setting_reruns_only_that_model(repo):
    fresh, _ = repo
    params_path = fresh / "params.yaml"
    params = yaml.safe_load(params_path.read_text())
    params["models"]["kmer-3"]["settings"] = {"strand": "both"}
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))
    result = run(["dvc", "repro"], fresh)
    # `code` depends on the list of models (one manifest each), so it re-runs, but it writes the
    # same bytes: the setting lives in params.yaml, not in any manifest, so no other model re-runs
    assert ran(result.output) == ["code", "embed@kmer-3", "score@kmer-3", "leaderboard"], result.output
    assert run(["git", "status", "--porcelain", "manifests"], fresh).output == ""
    submission = json.loads((fresh / "results/lite/submissions/kmer-3.json").read_text())
    assert submission["run_settings"]["extractor"]["settings"]["strand"] == "both"


def test_changed_task_csv_embeds_only_that_task(repo):
    fresh, _ = repo
    task = TEST_TASKS[1]
    csv = fresh / "data/lite/tasks" / task / "test.csv"
    csv.write_text(csv.read_text() + "ACGTACGTACGTACGTACGTACGTACGTACGT,1\n")
    result = run(["dvc", "repro"], fresh)
    assert set(ran(result.output)) == {f"{s}@{m}" for m in TEST_MODELS for s in ("embed", "score")
                                       } | {"manifest", "leaderboard"}
    for model in TEST_MODELS:
        assert f"embed {model} on lite: 1 task(s) embedded, {len(TEST_TASKS) - 1} reused" in \
            result.output, result.output
    assert re.findall(r"^  embedded (\S+)", result.output, flags=re.MULTILINE) == [task] * 2
    lock = yaml.safe_load((fresh / "dvc.lock").read_text())["stages"]
    assert any(d["path"] == "data/lite/tasks" for d in lock["manifest"]["deps"])
    assert any(d["path"] == "data/lite/manifest.json" for d in lock["embed@kmer-4"]["deps"])
    manifest = json.loads((fresh / "data/lite/manifest.json").read_text())
    assert manifest["tasks"][task]["test"] == hashlib.md5(csv.read_bytes()).hexdigest()


def test_metrics_and_plots_show_every_model(repo):
    fresh, _ = repo
    shown = json.loads(run(["dvc", "metrics", "show", "--json"], fresh).output)
    files = shown[""]["data"]
    assert sorted(files) == sorted(f"results/lite/metrics/{model}.json" for model in TEST_MODELS)
    for model in TEST_MODELS:
        row = files[f"results/lite/metrics/{model}.json"]["data"]["MCC"]
        details = json.loads((fresh / f"results/lite/metrics/details/{model}.json").read_text())
        assert row["full"] == details["full"]["MCC"]["macro"] and details["model_id"] == model
    plots = json.loads(run(["dvc", "plots", "show", "--json"], fresh).output)["data"]
    assert sorted(plots) == sorted(f"results/lite/plots/{model}/{kind}.json"
                                   for model in TEST_MODELS for kind in ("categories", "regimes"))


@pytest.mark.parametrize("suite, says", [
    ("nosuch", "field 'suite': 'nosuch' is not a suite; choose one of full, lite"),
    ("full", "the 'full' suite's task data is not here"),  # before `make full-data`
])
def test_a_bad_suite_stops_the_first_stage_with_a_clear_line(repo, suite, says):
    fresh, _ = repo
    params = fresh / "params.yaml"
    before = params.read_text()
    try:
        params.write_text(re.sub(r"^suite: .*$", f"suite: {suite}", before, flags=re.MULTILINE))
        result = run(["dvc", "repro"], fresh, check=False)
    finally:
        params.write_text(before)
    assert result.returncode != 0 and says in result.output, result.output
    assert "Errno 2" not in result.output
    if suite == "full":
        assert "make full-data" in result.output
