"""params.yaml, dvc.yaml and the embed/score stage logic, without running DVC."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from stages import params as params_file
from stages import paths
from stages.code_hash import extractor_code_hash
from stages.code_manifest import PER_MODEL, STEP_CODE
from stages.dvc_reports import REPORT_FILES, report_paths
from stages.embedding_files import CODE_STAMP, SETTINGS_RECORD, read_embeddings
from stages.extractors.registry import RegistryError
from stages.params import ParamsError, load_params, resolve_overrides
from stages.pipeline import PipelineError, embed_stage, score_stage

DVC_YAML = yaml.safe_load((paths.REPO_ROOT / "dvc.yaml").read_text())


def write_params(tmp_path: Path, body: dict) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(body))
    return path


def test_repository_params_are_valid_and_lite_by_default():
    params = load_params()
    assert params.suite == "lite"
    assert "kmer-4" in params.models
    assert all(isinstance(s, dict) for s in params.models.values())


@pytest.mark.parametrize("body, field", [
    ({"suite": "nope", "models": {"kmer-4": {}}}, "field 'suite'"),
    ({"suite": "lite", "models": {}}, "field 'models'"),
    ({"suite": "lite", "models": {"not-registered": {}}}, "models.not-registered"),
    ({"suite": "lite", "models": {"kmer-4": {"settings": {"poolin": "cls"}}}}, "models.kmer-4"),
    ({"suite": "lite", "models": {"kmer-4": {"setting": {}}}}, "models.kmer-4"),
    ({"suite": "lite", "models": {"kmer.4": {}}}, "models.kmer.4"),
])
def test_bad_params_name_file_and_field(tmp_path, body, field):
    path = write_params(tmp_path, body)
    with pytest.raises(ParamsError) as err:
        load_params(path)
    assert str(path) in str(err.value) and field in str(err.value)


def test_engine_section_is_checked_with_the_rest(tmp_path):
    path = write_params(tmp_path, {"suite": "lite", "models": {"kmer-4": {}},
                                   "engine": {"shard_size": 0}})
    with pytest.raises(ParamsError, match=r"field 'engine': engine.shard_size must be >= 1") as err:
        load_params(path)
    assert str(path) in str(err.value)


def test_written_params_read_back_the_same(tmp_path):
    params = load_params()
    again = load_params(params_file.write_params(params, tmp_path / "params.yaml"))
    assert (again.suite, again.models, again.engine) == (params.suite, params.models, params.engine)


def test_overrides_come_from_params_or_json_never_both(tmp_path):
    path = write_params(tmp_path, {"suite": "lite",
                                   "models": {"kmer-4": {"settings": {"strand": "both"}}}})
    assert resolve_overrides("kmer-4", None, path) == {"strand": "both"}
    assert resolve_overrides("kmer-4", '{"layer": -2}', None) == {"layer": -2}
    assert resolve_overrides("kmer-4", None, None) is None
    with pytest.raises(ParamsError, match="not both"):
        resolve_overrides("kmer-4", "{}", path)
    with pytest.raises(ParamsError, match="no entry 'kmer-6'"):
        resolve_overrides("kmer-6", None, path)
    with pytest.raises(ParamsError, match="not valid JSON"):
        resolve_overrides("kmer-4", "{strand: both", None)


def test_suite_data_dirs_follow_the_dvc_yaml_template(spec):
    # dvc.yaml declares `data/${suite}/tasks` as the manifest's dependency and the manifest as
    # every embed stage's: they must be what the stages read, for every suite.
    manifest = DVC_YAML["stages"]["manifest"]
    assert "data/${suite}/tasks" in manifest["deps"]
    assert _out_paths(manifest["outs"]) == ["data/lite/manifest.json"]
    assert "data/${suite}/manifest.json" in DVC_YAML["stages"]["embed"]["do"]["deps"]
    assert "--manifest data/${suite}/manifest.json" in DVC_YAML["stages"]["embed"]["do"]["cmd"]
    for name, suite in spec.suites.items():
        assert suite.data_dir == paths.REPO_ROOT / "data" / name / "tasks"


def _expand(text: str) -> str:
    return text.replace("${suite}", "lite").replace("${key}", "kmer-4")


def _out_paths(entries: list) -> list[str]:
    return [_expand(next(iter(e)) if isinstance(e, dict) else e) for e in entries]


def test_stage_commands_write_exactly_their_declared_outputs():
    embed, score = DVC_YAML["stages"]["embed"]["do"], DVC_YAML["stages"]["score"]["do"]
    cmd = _expand(embed["cmd"])
    assert cmd.startswith("geneb embed ") and "--out embeddings/lite/kmer-4" in cmd
    assert _out_paths(embed["outs"]) == ["embeddings/lite/kmer-4"]
    assert embed["outs"][0]["embeddings/${suite}/${key}"]["persist"] is True
    cmd = _expand(score["cmd"])
    assert cmd.startswith("geneb score ") and "--embeddings embeddings/lite/kmer-4" in cmd
    assert "embeddings/${suite}/${key}" in score["deps"]
    # the submission, then stages/dvc_reports.py's files: the metrics row, details, plot data
    reports = {kind: f"results/lite/{pattern.format(model='kmer-4')}"
               for kind, pattern in REPORT_FILES.items()}
    assert _out_paths(score["outs"]) == ["results/lite/submissions/kmer-4.json", reports["details"]]
    assert _out_paths(score["metrics"]) == [reports["metrics"]]
    assert _out_paths(score["plots"]) == [reports["categories"], reports["regimes"]]
    assert embed["params"] == ["suite", "models.${key}"]
    assert "params" not in score and "--params" not in score["cmd"]  # settings come with the embeddings
    for stage in (embed, score):
        for dep in stage["deps"]:
            assert "${" in dep or (paths.REPO_ROOT / dep).exists(), dep


def test_leaderboard_stage_reads_lite_submissions_and_writes_lite_board():
    board = DVC_YAML["stages"]["leaderboard"]
    cmd = _expand(board["cmd"])
    assert cmd.startswith("geneb leaderboard --suite lite")
    assert "--submissions results/lite/submissions" in cmd
    assert "--out results/lite/leaderboard" in cmd
    assert "results/${suite}/submissions" in board["deps"]
    assert _out_paths(board["outs"]) == ["results/lite/leaderboard"]
    for dep in board["deps"]:
        assert "${" in dep or (paths.REPO_ROOT / dep).exists(), dep


def test_score_never_imports_an_extractor_family():
    source = (paths.REPO_ROOT / "stages" / "pipeline.py").read_text()
    score_body = source[source.index("def score_stage"):]
    assert "load_extractor" not in score_body and "embed_suite" not in score_body
    assert not re.search(r"import .*extractors\.(kmer|hf|hyena|caduceus)", source)
    driver = (paths.REPO_ROOT / "stages" / "run.py").read_text()
    score_body = driver[driver.index("def score("):driver.index("def run_model")]
    assert "load_extractor" not in score_body and "embed_suite" not in score_body
    assert not re.search(r"^from stages\.(embed|engines\.\w+|extractors\.(kmer|hf|hyena|caduceus))\b",
                         driver, flags=re.MULTILINE)  # module level: what `geneb score` imports


def _fake_extractors(root: Path, alpha_as_package: bool = False) -> Path:
    """A package ``genebfake`` laid out like ``stages`` (extractors with two families, taskdata)."""
    extractors = root / "genebfake" / "extractors"
    extractors.mkdir(parents=True)
    (root / "genebfake" / "__init__.py").write_text("")
    (root / "genebfake" / "taskdata.py").write_text("# reader\n")
    for name in ("__init__", "base", "shared"):
        (extractors / f"{name}.py").write_text(f"# {name}\n")
    (extractors / "beta.py").write_text(_family("beta"))
    alpha = extractors / ("alpha/__init__.py" if alpha_as_package else "alpha.py")
    alpha.parent.mkdir(exist_ok=True)
    alpha.write_text(_family("alpha"))
    return extractors


def _family(text: str) -> str:
    """A family module's source: it defines ``load`` (what makes a module a family)."""
    return f"def load(*args, **kwargs):\n    return None  # {text}\n"


def _use_fake(monkeypatch, root: Path) -> None:
    import importlib
    import sys

    from stages import code_hash
    from stages.extractors import registry

    for name in [m for m in sys.modules if m.split(".")[0] == "genebfake"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(root))
    importlib.invalidate_caches()
    monkeypatch.setattr(code_hash, "EXTRACTOR_SHARED", ("genebfake.extractors", "genebfake.taskdata"))
    monkeypatch.setattr(registry, "FAMILY_PACKAGE", "genebfake.extractors")


def test_code_hash_follows_own_family_not_others(tmp_path, monkeypatch):
    extractors = _fake_extractors(tmp_path / "repo")
    _use_fake(monkeypatch, tmp_path / "repo")
    before = extractor_code_hash("alpha")
    (extractors / "beta.py").write_text(_family("beta changed"))
    assert extractor_code_hash("alpha") == before
    (extractors / "shared.py").write_text("# helper changed\n")
    after_shared = extractor_code_hash("alpha")
    assert after_shared != before
    (extractors / "alpha.py").write_text(_family("alpha changed"))
    assert extractor_code_hash("alpha") != after_shared
    with pytest.raises(RegistryError, match="unknown extractor family"):
        extractor_code_hash("gamma")


def test_code_hash_names_modules_not_paths(tmp_path, monkeypatch):
    # The same modules elsewhere on disk, the family module turned into a package: same stamp.
    _fake_extractors(tmp_path / "one")
    _use_fake(monkeypatch, tmp_path / "one")
    here = extractor_code_hash("alpha")
    _fake_extractors(tmp_path / "elsewhere" / "two", alpha_as_package=True)
    _use_fake(monkeypatch, tmp_path / "elsewhere" / "two")
    assert extractor_code_hash("alpha") == here


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    out = tmp_path_factory.mktemp("emb") / "kmer-3"
    status = embed_stage("kmer-3", "lite", out, progress=False)
    return out, status


def test_embed_stage_is_incremental_and_stamped(embedded, lite, capsys):
    out, status = embedded
    assert set(status) == set(lite.task_ids) and not any(status.values())
    stamp = json.loads((out / CODE_STAMP).read_text())
    assert stamp == extractor_code_hash("kmer")
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.glob("*.npz")}
    again = embed_stage("kmer-3", "lite", out, progress=False)
    assert all(again.values())
    assert mtimes == {p.name: p.stat().st_mtime_ns for p in out.glob("*.npz")}
    assert "0 task(s) embedded, 13 reused" in capsys.readouterr().out


def test_embed_stage_recomputes_everything_after_a_code_change(embedded, capsys):
    out, _ = embedded
    (out / CODE_STAMP).write_text(json.dumps({"family": "kmer", "sha256": "old code"}))
    status = embed_stage("kmer-3", "lite", out, progress=False)
    assert not any(status.values())
    assert "extractor code changed" in capsys.readouterr().out


def test_score_stage_writes_submission_and_metrics(embedded, tmp_path, lite):
    out, _ = embedded
    sub, reports = tmp_path / "s.json", tmp_path / "reports"
    submission = score_stage("kmer-3", "lite", out, {"options": {"k": 3}}, sub, reports,
                             progress=False).to_json()
    assert json.loads(sub.read_text())["results"] == json.loads(json.dumps(submission["results"]))
    assert sorted(p.relative_to(reports).as_posix() for p in reports.rglob("*.json")) == \
        sorted(pattern.format(model="kmer-3") for pattern in REPORT_FILES.values())
    metrics = json.loads(report_paths(reports, "kmer-3")["details"].read_text())
    assert metrics["model_id"] == "kmer-3" and metrics["suite"] == "lite"
    assert set(metrics["full"]["MCC"]) == {"macro", "micro", "categories"}
    task = lite.task_ids[0]
    assert read_embeddings(out / f"{task}.npz").meta["key"]["settings"]["options"] == {"k": 3}


def test_score_stage_without_embeddings_says_how_to_get_them(tmp_path):
    with pytest.raises(PipelineError, match=r"dvc pull .*dvc repro embed@kmer-3"):
        score_stage("kmer-3", "lite", tmp_path / "absent", progress=False)


def test_score_stage_takes_the_settings_the_embeddings_were_made_with(embedded, tmp_path):
    out, _ = embedded
    recorded = json.loads((out / SETTINGS_RECORD).read_text())
    assert recorded["model_id"] == "kmer-3"
    submission = score_stage("kmer-3", "lite", out, submission=tmp_path / "s.json",
                             reports=tmp_path / "r", progress=False).to_json()
    assert submission["run_settings"]["extractor"]["declared_settings"] == recorded["declared_settings"]
    with pytest.raises(PipelineError, match="another model's embeddings"):
        score_stage("kmer-4", "lite", out, submission=tmp_path / "s4.json",
                    reports=tmp_path / "r4", progress=False)


def test_every_stage_takes_its_code_through_its_step_manifest():
    # The `code` stage alone depends on stages/ and benchmark/; each step depends on
    # manifests/code/<step>.json, or its model's manifests/code/<step>/<model>.json, whose file
    # list tests/test_code_manifest.py checks against what the step's command really imports and
    # opens.
    code = DVC_YAML["stages"]["code"]
    assert code["deps"] == ["stages", "benchmark", "pyproject.toml"]
    assert code["params"] == ["suite", "models"]
    listed = {entry for entries in STEP_CODE.values() for entry in entries}
    outside = [entry for entry in listed
               if not any(entry == dep or entry.startswith(dep + "/") for dep in code["deps"])]
    assert outside == [], "a step lists a file the code stage does not depend on"
    assert code["cmd"].startswith("geneb code-manifest ")
    assert _out_paths(code["outs"]) == [f"manifests/code/{step}" + ("" if step in PER_MODEL else ".json")
                                        for step in STEP_CODE]
    for step in STEP_CODE:
        stage = DVC_YAML["stages"][step]
        deps = stage.get("do", stage)["deps"]
        mine = f"manifests/code/{step}/${{key}}.json" if step in PER_MODEL else f"manifests/code/{step}.json"
        assert mine in deps, step
        assert not [dep for dep in deps if dep.startswith(("stages", "benchmark"))], step
