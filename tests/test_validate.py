"""``geneb validate``: the 41 published files pass; every kind of defect gives one line naming the
file, the field and the fault, and a non-zero exit."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from stages import paths
from stages.cli import main
from stages.validate import MAX_FILE_BYTES, model_id_problems, validate_file, validate_files

SHARED_SUBMISSIONS = paths.REPO_ROOT.parent / "shared" / "reference" / "geneb" / "submissions"
FIRST_TASK = "InstaDeepAI_nucleotide_transformer_downstream_tasks_H3"


def run_validate(capsys, *args: str) -> tuple[int, list[str]]:
    rc = main(["validate", *args])
    return rc, capsys.readouterr().out.splitlines()


def write(folder: Path, data: dict, name: str | None = None) -> Path:
    path = folder / f"{name or data['model_id']}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def splicebert(published) -> dict:
    """The self-reported published submission: not official, so a free base for mutations."""
    return copy.deepcopy(published["splicebert-1024nt"])


def test_all_published_submissions_validate(capsys):
    files = sorted(paths.SUBMISSIONS_DIR.glob("*.json"))
    assert len(files) == 41
    rc, lines = run_validate(capsys, *map(str, files))
    assert (rc, lines) == (0, [])


def test_submissions_are_the_published_files_byte_for_byte():
    if not SHARED_SUBMISSIONS.is_dir():
        pytest.skip("shared/reference is not beside this checkout")
    ours = sorted(p.name for p in paths.SUBMISSIONS_DIR.glob("*.json"))
    assert ours == sorted(p.name for p in SHARED_SUBMISSIONS.glob("*.json"))
    for name in ours:
        assert (paths.SUBMISSIONS_DIR / name).read_bytes() == (SHARED_SUBMISSIONS / name).read_bytes()


def _set(data: dict, dotted: list, value) -> dict:
    node = data
    for key in dotted[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[dotted[-1]]
    else:
        node[dotted[-1]] = value
    return data


_DELETE = object()

# (what changes, the expected field, a phrase of the expected message)
DEFECTS = [
    (["meta", "params"], "big", "meta/params", "'big' is not of type 'integer'"),
    (["meta", "provenance"], "trusted", "meta/provenance", "is not one of"),
    (["meta", "display"], "bell\x07name", "meta/display", "contains control characters"),
    (["unexpected"], 1, "<root>", "'unexpected' was unexpected"),
    (["schema_version"], "2.0", "schema_version", "'1.0' was expected"),
    (["results", "full", FIRST_TASK, "MCC"], 1.5, f"results/full/{FIRST_TASK}/MCC",
     "1.5 is outside [-1, 1]"),
    (["results", "full", FIRST_TASK, "MCC"], -1.2, f"results/full/{FIRST_TASK}/MCC",
     "-1.2 is outside [-1, 1]"),
    (["results", "10shot", FIRST_TASK, "Acc"], -0.1, f"results/10shot/{FIRST_TASK}/Acc",
     "-0.1 is outside [0, 1]"),
    (["results", "1shot", FIRST_TASK, "F1"], 1.01, f"results/1shot/{FIRST_TASK}/F1",
     "1.01 is outside [0, 1]"),
    (["results", "full", FIRST_TASK, "MCC"], "0.5", f"results/full/{FIRST_TASK}/MCC",
     "'0.5' is not of type 'number'"),
    (["results", "full", FIRST_TASK, "Acc"], True, f"results/full/{FIRST_TASK}/Acc",
     "True is not of type 'number'"),
    (["results", "full", FIRST_TASK, "F1"], _DELETE, f"results/full/{FIRST_TASK}",
     "'F1' is a required property"),
    (["results", "1shot"], _DELETE, "results", "missing regime(s): 1shot"),
    (["results", "10shot", FIRST_TASK], _DELETE, "results/10shot",
     f"missing 1 of 100 tasks: {FIRST_TASK}"),
    (["results", "full", "made_up_task"], {"MCC": 0.1, "Acc": 0.5, "F1": 0.5},
     "results/full/made_up_task", "unknown task id"),
    (["suite"], "huge", "suite", "unknown suite 'huge'"),
]


@pytest.mark.parametrize(("keys", "value", "field", "phrase"), DEFECTS,
                         ids=[f"{d[2]}:{d[3][:24]}" for d in DEFECTS])
def test_each_defect_is_one_clear_line(tmp_path, capsys, splicebert, keys, value, field, phrase):
    path = write(tmp_path, _set(splicebert, keys, value))
    rc, lines = run_validate(capsys, str(path))
    assert rc == 1
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{path}: {field}: ")
    assert phrase in lines[0]


def test_an_extra_regime_and_a_whole_missing_regime_are_named(tmp_path, capsys, splicebert):
    splicebert["results"]["5shot"] = splicebert["results"].pop("10shot")
    rc, lines = run_validate(capsys, str(write(tmp_path, splicebert)))
    assert rc == 1
    assert any(": results: missing regime(s): 10shot" in line for line in lines)
    assert any(": results/5shot: unknown regime; expected full, 10shot, 1shot" in line for line in lines)


def test_many_missing_tasks_are_summarised_in_one_line(tmp_path, capsys, splicebert, spec):
    for task_id in spec.task_ids[:60]:
        del splicebert["results"]["full"][task_id]
    rc, lines = run_validate(capsys, str(write(tmp_path, splicebert)))
    assert rc == 1 and len(lines) == 1
    assert "results/full: missing 60 of 100 tasks:" in lines[0] and "(and 55 more)" in lines[0]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_are_rejected(tmp_path, capsys, splicebert, literal):
    splicebert["results"]["full"][FIRST_TASK]["MCC"] = "__HERE__"
    path = tmp_path / "splicebert-1024nt.json"
    path.write_text(json.dumps(splicebert).replace('"__HERE__"', literal), encoding="utf-8")
    rc, lines = run_validate(capsys, str(path))
    assert rc == 1
    assert len(lines) == 1, lines  # the schema's own complaint about the same value is not repeated
    assert lines[0].startswith(f"{path}: results/full/{FIRST_TASK}/MCC: ")
    assert "not allowed: every score must be a finite number" in lines[0]


def test_model_id_must_equal_the_file_name(tmp_path, capsys, splicebert):
    path = write(tmp_path, splicebert, name="SpliceBERT")
    rc, lines = run_validate(capsys, str(path))
    assert rc == 1
    assert lines == [f"{path}: model_id: 'splicebert-1024nt' does not match the file name "
                     "'SpliceBERT.json' (a submission is stored as <model_id>.json)"]


@pytest.mark.parametrize(("model_id", "phrase"), [
    ("../evil", "contains a path separator"),
    ("a..b", "contains '..'"),
    ("a\\b", "contains a path separator"),
    ("x" * 101, "is 101 characters long; at most 100 allowed"),
    ("bad\x01id", "contains control characters"),
    (".hidden", "may only use letters, digits"),
    ("sp ace", "may only use letters, digits"),
    ("", "is empty"),
])
def test_unsafe_model_ids(tmp_path, capsys, splicebert, model_id, phrase):
    assert any(phrase in message for message in model_id_problems(model_id))
    splicebert["model_id"] = model_id
    path = write(tmp_path, splicebert, name="renamed")
    rc, lines = run_validate(capsys, str(path))
    assert rc == 1
    assert any(line.startswith(f"{path}: model_id: ") and phrase in line for line in lines)


def test_published_model_ids_are_safe(published):
    assert all(model_id_problems(model_id) == [] for model_id in published)


def test_ids_differing_only_by_case_are_both_reported(tmp_path, capsys, splicebert):
    lower = write(tmp_path, splicebert)
    upper_data = dict(splicebert, model_id="SpliceBERT-1024nt")
    upper = write(tmp_path, upper_data)
    rc, lines = run_validate(capsys, str(lower), str(upper))
    assert rc == 1
    assert lines == [
        f"{lower}: model_id: 'splicebert-1024nt' differs only by case from {upper}; "
        "model ids must be unique ignoring case",
        f"{upper}: model_id: 'SpliceBERT-1024nt' differs only by case from {lower}; "
        "model ids must be unique ignoring case",
    ]


@pytest.mark.parametrize(("model_id", "claim", "phrase"), [
    ("my-new-model", "official", "'official' is granted by the maintainers only; "
                                 "benchmark/models/ has no card for this model"),
    ("my-new-model", "verified", "'verified' is granted by the maintainers only"),
    ("splicebert-1024nt", "official",
     "its card in benchmark/models/splicebert-1024nt.yaml lists it as 'self-reported'"),
    ("GROVER", "verified", "benchmark/models/GROVER.yaml lists it as 'official'"),
    ("GROVER", "self-reported",
     "'self-reported' disagrees with its card in benchmark/models/GROVER.yaml ('official')"),
])
def test_provenance_claims_are_checked_against_model_meta(tmp_path, capsys, splicebert,
                                                          model_id, claim, phrase):
    splicebert["model_id"] = model_id
    splicebert["meta"]["provenance"] = claim
    rc, lines = run_validate(capsys, str(write(tmp_path, splicebert)))
    assert rc == 1
    assert len(lines) == 1 and ": meta/provenance: " in lines[0] and phrase in lines[0]


def test_self_reported_new_model_is_accepted(tmp_path, capsys, splicebert):
    splicebert["model_id"] = "my-new-model"
    rc, lines = run_validate(capsys, str(write(tmp_path, splicebert)))
    assert (rc, lines) == (0, [])


def test_oversized_file_is_rejected_before_parsing(tmp_path, capsys, published):
    path = tmp_path / "GROVER.json"
    text = json.dumps(published["GROVER"])
    path.write_text(text + " " * (MAX_FILE_BYTES + 1 - len(text)), encoding="utf-8")
    rc, lines = run_validate(capsys, str(path))
    assert rc == 1
    assert lines == [f"{path}: <file>: is {MAX_FILE_BYTES + 1:,} bytes; "
                     f"the limit is {MAX_FILE_BYTES:,} bytes"]


@pytest.mark.parametrize(("content", "phrase"), [
    (b'{"model_id": "x", ', "is not valid JSON"),
    (b'{"model_id": "a", "model_id": "b"}', "key 'model_id' appears more than once"),
    (b'\xff\xfe{}', "is not UTF-8 text"),
    (b'[1, 2]', "must be a JSON object"),
])
def test_unreadable_files(tmp_path, capsys, content, phrase):
    path = tmp_path / "broken.json"
    path.write_bytes(content)
    rc, lines = run_validate(capsys, str(path))
    assert rc == 1 and len(lines) == 1 and phrase in lines[0] and lines[0].startswith(f"{path}: ")


def test_the_run_writer_output_validates_for_its_suite(tmp_path, capsys, writer_submission):
    path = write(tmp_path, writer_submission("lite"))
    assert run_validate(capsys, "--suite", "lite", str(path)) == (0, [])


def test_a_lite_result_is_not_a_geneb_result(tmp_path, capsys, writer_submission):
    path = write(tmp_path, writer_submission("lite"))
    rc, lines = run_validate(capsys, "--suite", "full", str(path))  # CI's check of submissions/
    assert rc == 1
    assert lines == [f"{path}: suite: 'lite' is a subsample smoke-test suite; its scores are not "
                     "GENEB scores and cannot be submitted as GENEB results"]


def test_a_lite_result_relabelled_full_is_still_caught(tmp_path, capsys, writer_submission):
    data = writer_submission("lite")
    data["suite"] = "full"
    rc, lines = run_validate(capsys, str(write(tmp_path, data)))
    assert rc == 1
    fields = [line.split(": ")[1] for line in lines]
    assert "run_settings/suite/name" in fields and "run_settings/suite/subsample" in fields
    assert {"results/full", "results/10shot", "results/1shot"} <= set(fields)  # 87 tasks missing


def test_a_full_result_is_rejected_by_a_lite_board(tmp_path, capsys):
    path = paths.SUBMISSIONS_DIR / "GROVER.json"
    rc, lines = run_validate(capsys, "--suite", "lite", str(path))
    assert rc == 1
    assert f"{path}: suite: file claims suite 'full' but this is the 'lite' leaderboard" in lines


def test_run_settings_must_describe_the_result(tmp_path, capsys, spec, writer_submission):
    data = writer_submission("lite")
    task = spec.suite("lite").task_ids[0]
    data["results"]["full"][task]["Acc"] += 0.01
    data["run_settings"]["dataset"]["revision"] = "0" * 40
    data["run_settings"]["per_seed"]["1shot"][task]["seeds"] = [1, 2, 3, 4, 5]
    rc, lines = run_validate(capsys, "--suite", "lite", str(write(tmp_path, data)))
    assert rc == 1
    assert [line.split(": ")[1] for line in lines] == [
        "run_settings/dataset/revision",
        f"run_settings/per_seed/full/{task}/Acc",
        f"run_settings/per_seed/1shot/{task}/seeds",
    ]


def test_exact_numbers_and_noise_floor_must_describe_the_result(tmp_path, capsys, spec,
                                                                writer_submission):
    data = writer_submission("lite")
    first, second = spec.suite("lite").task_ids[:2]
    data["exact_results"]["10shot"][first]["MCC"] -= 0.01
    del data["exact_results"]["1shot"][second]
    del data["run_settings"]["noise_floor"]["results"]["full"][second]
    rc, lines = run_validate(capsys, "--suite", "lite", str(write(tmp_path, data)))
    assert rc == 1
    assert [line.split(": ", 2)[1:] for line in lines] == [
        ["exact_results/1shot", f"missing 1 of 13 tasks: {second}"],
        [f"run_settings/exact_per_seed/10shot/{first}/MCC",
         f"per-seed values do not average to the reported {data['exact_results']['10shot'][first]['MCC']}"],
        ["run_settings/noise_floor/results/full", f"no noise floor for 1 task(s): {second}"],
    ]


def test_validate_files_returns_parsed_data_for_callers(published):
    checked = validate_files([paths.SUBMISSIONS_DIR / "GROVER.json"])
    assert checked[0].problems == [] and checked[0].data == published["GROVER"]
    assert validate_file(paths.SUBMISSIONS_DIR / "GROVER.json").data == published["GROVER"]
