"""``geneb reproduce`` on the committed lite runs: a faithful re-run matches, a tampered one does not."""

from __future__ import annotations

import json

import pytest

from stages import paths
from stages.cli import main
from stages.compare import load_submission
from stages.extractors.registry import registered_models
from stages.reproduce import reproduce

LITE = paths.REPO_ROOT / "results" / "lite" / "submissions"
SMALL = ["leannmlindsey_GUE_mouse_3", "leannmlindsey_GUE_mouse_2"]  # 2,143 and 2,328 rows
HYENA = "hyenadna-tiny-1k-anticapt"


def tampered_copy(source: dict, task: str, regime: str, metric: str, delta: float) -> dict:
    """The submission with one task mean (and its per-seed values, so it still validates) moved."""
    data = json.loads(json.dumps(source))
    data["results"][regime][task][metric] += delta
    seeds = data["run_settings"]["per_seed"][regime][task]
    seeds[metric] = [v + delta for v in seeds[metric]]
    return data


def test_kmer4_lite_run_reproduces_exactly():
    submission = load_submission(LITE / "kmer-4.json")
    report = reproduce(submission, SMALL)
    assert report["matched"] and report["problems"] == [] and report["tasks"] == SMALL
    assert len(report["rows"]) == 2 * 3 * 3  # tasks x regimes x metrics
    assert report["max_abs_diff"] == 0.0  # k-mer counts and lbfgs on CPU are deterministic
    row = next(r for r in report["rows"] if (r["task"], r["regime"], r["metric"])
               == ("leannmlindsey_GUE_mouse_3", "1shot", "F1"))
    assert row["submitted"] == submission["results"]["1shot"]["leannmlindsey_GUE_mouse_3"]["F1"]


def test_tampered_score_and_changed_data_are_caught():
    original = load_submission(LITE / "kmer-4.json")
    task = SMALL[0]
    tampered = tampered_copy(original, task, "10shot", "MCC", 0.01)
    tampered["run_settings"]["data_md5"][task]["test"] = "0" * 32
    report = reproduce(tampered, [task])
    assert not report["matched"]
    bad = [r for r in report["rows"] if not r["ok"]]
    assert [(r["regime"], r["metric"]) for r in bad] == [("10shot", "MCC")]
    assert bad[0]["diff"] == pytest.approx(-0.01, abs=1e-12)
    assert report["problems"] == [f"{task}: test md5 "
                                  f"{original['run_settings']['data_md5'][task]['test']} "
                                  f"({paths.REPO_ROOT / 'data/lite/tasks'}) differs from the "
                                  f"submission's {'0' * 32}"]
    with pytest.raises(ValueError, match="not in its submission"):
        reproduce(original, ["leannmlindsey_GUE_prom_core_alll"])


def test_cli_exit_codes_and_evidence_file(tmp_path, capsys):
    out = tmp_path / "evidence.json"
    assert main(["reproduce", "kmer-4", "--tasks", SMALL[0], "--out", str(out)]) == 0
    assert "MATCH" in capsys.readouterr().out
    evidence = json.loads(out.read_text())
    assert evidence["matched"] and evidence["check"] == "reproduced"
    assert evidence["tolerance"] == 1e-3
    moved = tampered_copy(load_submission(LITE / "kmer-4.json"), SMALL[0], "full", "Acc", 0.002)
    path = tmp_path / "kmer-4.json"
    path.write_text(json.dumps(moved))
    assert main(["reproduce", "kmer-4", "--tasks", SMALL[0], "--submission", str(path)]) == 1
    assert "NO MATCH" in capsys.readouterr().out
    assert main(["reproduce", "kmer-4", "--tasks", SMALL[0], "--submission", str(path),
                 "--tolerance", "0.0021"]) == 0


def test_hyenadna_lite_run_reproduces():
    if HYENA not in registered_models():
        pytest.skip(f"{HYENA} is not registered in benchmark/model_registry.yaml yet")
    if not (LITE / f"{HYENA}.json").is_file():
        pytest.skip(f"no committed lite run {LITE / (HYENA + '.json')} yet")
    pytest.importorskip("anticapt", reason="the anticapt package holds the HyenaDNA weights")
    report = reproduce(load_submission(LITE / f"{HYENA}.json"), SMALL[:1])
    assert report["problems"] == []
    assert report["matched"], report["rows"]
