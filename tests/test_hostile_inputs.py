"""Hostile files for ``geneb probe`` and ``geneb validate``: each gives one short line naming the
file (and the array or field), exit 2 for probe and 1 for validate, no traceback, nothing written,
and never more than an excerpt of the data."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from stages import paths
from stages.cli import main
from stages.untrusted_json import MAX_DEPTH

ARRAYS = ("train_X", "train_y", "test_X", "test_y")


@pytest.fixture()
def arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    train_y, test_y = np.repeat([0, 1], 20), np.repeat([0, 1], 10)
    return {"train_X": rng.normal(size=(40, 4)).astype(np.float32), "train_y": train_y,
            "test_X": rng.normal(size=(20, 4)).astype(np.float32), "test_y": test_y}


def _probe(capsys, *args: str) -> tuple[int, str]:
    rc = main(["probe", *args])
    captured = capsys.readouterr()
    return rc, captured.err


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in err and len(lines[0]) < 300
    return lines[0]


def _truncated(path, arrays):
    np.savez(path, **arrays)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _not_zip(path, arrays):
    path.write_text("train_X,train_y\n1,2\n", encoding="utf-8")


def _corrupt_member(path, arrays):
    np.savez(path, **arrays)
    data = bytearray(path.read_bytes())
    start = data.index(b"train_X.npy") + 200
    data[start:start + 16] = b"\xff" * 16
    path.write_bytes(bytes(data))


def _with(**changes):
    def make(path, arrays):
        np.savez(path, **{**arrays, **changes})
    return make


# (how the file is made, what the one line must say)
BAD_FILES = {
    "string X": (_with(train_X=np.full((40, 4), "ACGT")), "train_X must hold real numbers, got "
                 "dtype <U4"),
    "complex X": (_with(test_X=np.ones((20, 4)) + 1j), "test_X must hold real numbers, got dtype "
                  "complex128"),
    "X without columns": (_with(train_X=np.ones((40, 0))), "train_X has no columns"),
    "truncated npz": (_truncated, "truncated or corrupt .npz archive"),
    "not a zip": (_not_zip, "not an .npz archive"),
    "corrupt member": (_corrupt_member, "array 'train_X' is unreadable, the file is truncated or "
                       "corrupt"),
    "object array": (_with(train_X=np.array([[object()] * 4] * 40, dtype=object)),
                     "array 'train_X' holds Python objects (dtype object)"),
    "meta not JSON": (_with(meta=np.array("{not json")), "array 'meta' is not a JSON record"),
    "string labels": (_with(test_y=np.array(["a", "b"] * 10)), "test_y must hold integer labels"),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
def test_probe_names_the_file_of_a_hostile_npz(tmp_path, capsys, arrays, case):
    make, phrase = BAD_FILES[case]
    emb, out = tmp_path / "hostile.npz", tmp_path / "result.json"
    make(emb, arrays)
    rc, err = _probe(capsys, str(emb), "--out", str(out))
    line = _one_line(err)
    assert rc == 2
    assert line.startswith(f"geneb probe: error: {emb}: ") and phrase in line, line
    assert not out.exists()


def test_probe_never_prints_the_matrix(tmp_path, capsys, arrays):
    emb = tmp_path / "complex.npz"
    np.savez(emb, **{**arrays, "train_X": np.full((5000, 4), 1.2345678 + 1j),
                     "train_y": np.arange(5000) % 2})
    rc, err = _probe(capsys, str(emb))
    assert rc == 2 and "1.2345678" not in err
    _one_line(err)


def test_probe_one_npy_array_is_not_an_archive(tmp_path, capsys):
    emb = tmp_path / "single.npy"
    np.save(emb, np.zeros((3, 3)))
    rc, err = _probe(capsys, str(emb))
    assert rc == 2 and "holds one .npy array, not an .npz archive" in _one_line(err)


@pytest.mark.parametrize("where", ["directory", "below a file"])
def test_probe_refuses_an_unwritable_out_before_probing(tmp_path, capsys, arrays, where,
                                                         monkeypatch):
    emb = tmp_path / "emb.npz"
    np.savez(emb, **arrays)
    out = tmp_path / "outdir" if where == "directory" else emb / "result.json"
    out.mkdir() if where == "directory" else None
    monkeypatch.setattr("stages.probe.probe_task", lambda *a, **k: pytest.fail("probe ran"))
    rc, err = _probe(capsys, str(emb), "--out", str(out))
    line = _one_line(err)
    assert rc == 2 and line.startswith(f"geneb probe: error: --out {out}: ")
    assert ("is a directory" if where == "directory" else "is a file, not a directory") in line
    assert list(tmp_path.rglob("*.tmp")) == [] and list(tmp_path.rglob("*.json")) == []


# ---- geneb validate -------------------------------------------------------------------------

def _validate(capsys, path) -> tuple[int, list[str]]:
    rc = main(["validate", str(path)])
    return rc, capsys.readouterr().out.splitlines()


@pytest.fixture
def submission(published) -> dict:
    return copy.deepcopy(published["splicebert-1024nt"])


def _write(tmp_path, data) -> object:
    path = tmp_path / "splicebert-1024nt.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("depth", [100_000, 900, MAX_DEPTH + 1])
def test_validate_deep_nesting_is_one_problem(tmp_path, capsys, depth):
    path = tmp_path / "deep.json"
    path.write_text('{"model_id": ' + "[" * depth + "]" * depth + "}", encoding="utf-8")
    rc, lines = _validate(capsys, path)
    assert rc == 1
    assert lines == [f"{path}: <file>: nests arrays or objects more than {MAX_DEPTH} levels deep"]


def test_validate_accepts_nesting_up_to_the_limit(tmp_path, capsys, submission):
    submission["run_settings"] = {"extractor": {"settings": {"a": [[[[[[[[[[]]]]]]]]]]}}}
    rc, lines = _validate(capsys, _write(tmp_path, submission))
    assert not any("levels deep" in line for line in lines)


@pytest.mark.parametrize(("keys", "value", "field", "phrase"), [
    (["meta", "display"], "A" * 100_000, "meta/display",
     "is 100,000 characters long; at most 120 allowed"),
    (["suite"], "s" * 100_000, "suite", "; known: full, lite"),
    (["meta", "url"], list(range(30_000)), "meta/url", "is not of type 'string'"),
    (["k" * 100_000], 1, "<root>", "was unexpected)"),
    (["meta", "params"], 1e30, "meta/params", "1e+30 is outside [0, 10000000000000]"),
    (["meta", "url"], "javascript:alert(1)", "meta/url",
     "must be an http:// or https:// URL (or empty)"),
    (["meta", "url"], "data:text/html,<script>", "meta/url", "must be an http:// or https:// URL"),
    (["meta", "url"], "https://example.org/a b", "meta/url", "must be an http:// or https:// URL"),
])
def test_validate_hostile_values_are_one_short_line(tmp_path, capsys, submission, keys, value,
                                                     field, phrase):
    node = submission
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    path = _write(tmp_path, submission)
    rc, lines = _validate(capsys, path)
    assert rc == 1 and len(lines) == 1, lines
    assert lines[0].startswith(f"{path}: {field}: ") and phrase in lines[0], lines[0]
    assert len(lines[0]) < 300


def test_validate_keys_with_newlines_stay_on_one_line(tmp_path, capsys, submission):
    submission["results"]["full"]["evil\ntask"] = {"MCC": 0.1, "Acc": 0.5, "F1": 0.5}
    rc, lines = _validate(capsys, _write(tmp_path, submission))
    assert rc == 1
    assert lines == [f"{tmp_path / 'splicebert-1024nt.json'}: results/full/evil\\ntask: "
                     "unknown task id"]


@pytest.mark.parametrize(("params", "ok"), [(0, True), (10**13, True), (10**13 + 1, False),
                                            (265_000_000, True)])
def test_validate_plausible_parameter_counts(tmp_path, capsys, submission, params, ok):
    submission["meta"]["params"] = params
    rc, lines = _validate(capsys, _write(tmp_path, submission))
    assert (rc == 0) == ok, lines


@pytest.mark.parametrize("url", ["", "http://example.org", "https://doi.org/10.5281/zenodo.1"])
def test_validate_http_urls_and_empty_are_accepted(tmp_path, capsys, submission, url):
    submission["meta"]["url"] = url
    assert _validate(capsys, _write(tmp_path, submission)) == (0, [])


def test_validate_one_sided_bound_says_at_least(tmp_path, capsys):
    lite = json.loads((paths.REPO_ROOT / "results/lite/submissions/kmer-4.json").read_text())
    record = next(iter(lite["run_settings"]["per_seed"]["full"].values()))
    record["n_iter"][0] = -1
    path = tmp_path / "kmer-4.json"
    path.write_text(json.dumps(lite), encoding="utf-8")
    rc, lines = _validate(capsys, path)
    assert rc == 1 and len(lines) == 1, lines
    assert lines[0].endswith("/n_iter/0: -1 must be at least 0")


def test_validate_duplicate_long_key_is_cut(tmp_path, capsys):
    key = "x" * 10_000
    path = tmp_path / "dup.json"
    path.write_text(f'{{"{key}": 1, "{key}": 2}}', encoding="utf-8")
    rc, lines = _validate(capsys, path)
    assert rc == 1 and len(lines) == 1 and len(lines[0]) < 300
    assert "appears more than once in one object" in lines[0]
