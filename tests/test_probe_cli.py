"""``geneb probe EMB.npz``: the whole protocol on embeddings computed elsewhere, with clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stages.cli import main
from stages.probe import probe_task
from stages.probe_reference import reference_probe


def _write(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.fixture()
def blobs():
    rng = np.random.default_rng(0)
    train_y = np.repeat([0, 1, 2], 40)
    test_y = np.repeat([0, 1, 2], 20)
    centers = rng.normal(size=(3, 8)) * 2
    train_X = (centers[train_y] + rng.normal(size=(120, 8))).astype(np.float32)
    test_X = (centers[test_y] + rng.normal(size=(60, 8))).astype(np.float32)
    return train_X, train_y, test_X, test_y


def test_probe_cli_writes_all_regimes(tmp_path, blobs, spec, capsys):
    train_X, train_y, test_X, test_y = blobs
    emb = _write(tmp_path / "emb.npz", train_X=train_X, train_y=train_y, test_X=test_X, test_y=test_y)
    out = tmp_path / "result.json"
    assert main(["probe", str(emb), "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    plain = reference_probe(train_X, train_y, test_X, test_y, list(spec.protocol.seeds),
                            list(spec.protocol.few_shot_k))
    for regime in ("full", "10shot", "1shot"):
        for metric in ("MCC", "Acc", "F1"):
            assert result[regime][metric] == pytest.approx(np.mean(plain[regime][metric]), abs=1e-12)
            assert len(result[regime]["per_seed"][metric]) == 5
    assert "10shot" in capsys.readouterr().out


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.update(train_X=d["train_X"][:, :, None]), "must be 2-D"),
        (lambda d: d.update(test_X=d["test_X"][:, :5]), "dimensions"),
        (lambda d: d.update(train_y=d["train_y"][:-3]), "rows but train_y"),
        (lambda d: d["test_X"].__setitem__((7, 2), np.nan), "test_X row 7 holds NaN"),
        (lambda d: d["train_X"].__setitem__((3, 0), np.inf), "train_X row 3 holds NaN or infinity"),
        (lambda d: d.update(test_y=np.where(d["test_y"] == 2, 5, d["test_y"])), "absent from train_y"),
        (lambda d: d.update(train_y=d["train_y"].astype(float)), "integer labels"),
        (lambda d: d.pop("test_y"), "missing array(s) ['test_y']"),
    ],
)
def test_probe_cli_rejects_bad_embeddings(tmp_path, blobs, mutate, message, capsys):
    arrays = dict(zip(("train_X", "train_y", "test_X", "test_y"), (a.copy() for a in blobs), strict=True))
    mutate(arrays)
    emb = _write(tmp_path / "bad.npz", **arrays)
    out = tmp_path / "result.json"
    assert main(["probe", str(emb), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "bad.npz" in err
    assert not out.exists()


def test_probe_task_records_seeds_and_convergence(blobs, spec):
    results = probe_task(*blobs, spec.protocol)
    assert results["1shot"].seeds == list(spec.protocol.seeds)
    assert results["full"].converged == [True] * 5
    assert results["full"].std["MCC"] < 1e-12
