"""The benchmark definition is the published one, and malformed definitions are rejected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stages import paths
from stages.spec import SpecError, load_spec

REFERENCE = paths.REPO_ROOT.parent / "shared" / "reference" / "geneb" / "benchmark_spec.json"


@pytest.mark.skipif(not REFERENCE.is_file(), reason="shared/reference not beside the checkout")
def test_spec_is_the_published_file_byte_for_byte():
    assert paths.SPEC_PATH.read_bytes() == REFERENCE.read_bytes()


def test_spec_content(spec):
    assert len(spec.tasks) == 100 and len(set(spec.task_ids)) == 100
    assert len(spec.category_order) == 13
    assert spec.category_order[0] == "Histone Mod." and spec.category_order[-1] == "Chromatin Acc."
    assert spec.regimes == ("full", "10shot", "1shot")
    assert spec.metrics == ("MCC", "Acc", "F1") and spec.primary_metric == "MCC"
    assert spec.protocol.seeds == (13, 17, 42, 123, 997)
    assert spec.protocol.few_shot_k == (1, 10)
    assert spec.protocol.max_iter == 1000
    assert spec.dataset.repo_id == "DeepPavlov/geneb-tasks"
    assert spec.dataset.revision == "4edd705be573e48c585c2cf79dc320f9f43c7b04"
    assert sum(len(v) for v in spec.tasks_by_category().values()) == 100


def test_suites(spec):
    assert spec.suite("full").task_ids == spec.task_ids
    assert spec.suite("full").is_official
    lite = spec.suite("lite")
    assert len(lite.task_ids) == 13 and lite.is_subsample
    assert set(spec.tasks_by_category(lite.task_ids)) == {"Promoters", "Mouse Enh.", "TF Binding"}
    with pytest.raises(SpecError, match="unknown suite 'tiny'"):
        spec.suite("tiny")


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["tasks"][0].pop("category"), "'category' is a required property"),
        (lambda d: d["protocol"].update(seeds=[1, 1]), "field protocol/seeds"),
        (lambda d: d["dataset"].update(revision="main"), "field dataset/revision"),
        (lambda d: d["tasks"][1].update(id=d["tasks"][0]["id"]), "duplicate task id"),
        (lambda d: d["tasks"][0].update(category="Nope"), "unknown category 'Nope'"),
        (lambda d: d["categories"].update({"Promoters": 21}), "disagree with tasks"),
        (lambda d: d.update(regimes=["full"]), "field regimes"),
    ],
)
def test_malformed_spec_is_rejected(tmp_path, mutate, message):
    data = json.loads(paths.SPEC_PATH.read_text())
    mutate(data)
    with pytest.raises(SpecError) as caught:
        load_spec(_write(tmp_path, data))
    assert message in str(caught.value) and "spec.json" in str(caught.value)


def test_suite_with_unknown_task_is_rejected(tmp_path):
    suites = json.loads(paths.SUITES_PATH.read_text())
    suites["lite"]["tasks"].append("not_a_task")
    path = tmp_path / "suites.json"
    path.write_text(json.dumps(suites))
    with pytest.raises(SpecError, match="unknown tasks \\['not_a_task'\\]"):
        load_spec(suites_path=path)
