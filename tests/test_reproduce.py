"""``geneb reproduce`` on the committed lite runs: a faithful re-run matches, a tampered one does
not. Every assertion holds on any CPU: exact numbers must be identical (k-mer embeddings are
byte-identical everywhere), protocol numbers only within the recorded machine noise floor."""

from __future__ import annotations

import json

import pytest

from stages import paths
from stages.cli import main
from stages.extractors.registry import registered_models
from stages.reproduce import reproduce
from stages.score_check import format_check
from stages.submission import Submission
from stages.submission_store import load_submission

LITE = paths.REPO_ROOT / "results" / "lite" / "submissions"
SMALL = ["leannmlindsey_GUE_mouse_3", "leannmlindsey_GUE_mouse_2"]  # 2,143 and 2,328 rows
HYENA = "hyenadna-tiny-1k-anticapt"


def tampered_copy(source: Submission | dict, task: str, regime: str, metric: str, delta: float,
                  probe: str = "protocol") -> dict:
    """The submission's JSON with one task mean (and its per-seed values, so it still validates)
    moved."""
    data = json.loads(json.dumps(source.to_json() if isinstance(source, Submission) else source))
    results, per_seed = {"protocol": ("results", "per_seed"),
                         "exact": ("exact_results", "exact_per_seed")}[probe]
    data[results][regime][task][metric] += delta
    seeds = data["run_settings"][per_seed][regime][task]
    seeds[metric] = [v + delta for v in seeds[metric]]
    return data


def test_kmer4_lite_run_reproduces():
    submission = load_submission(LITE / "kmer-4.json")
    report = reproduce(submission, SMALL)
    assert report["matched"] and report["problems"] == [] and report["tasks"] == SMALL
    assert len(report["rows"]) == 2 * 2 * 3 * 3  # probes x tasks x regimes x metrics
    assert report["max_abs_diff"]["exact"] == 0.0  # identical embeddings: identical exact numbers
    assert all(e["identical"] for e in report["embeddings"].values())
    row = next(r for r in report["rows"] if (r["probe"], r["task"], r["regime"], r["metric"])
               == ("exact", "leannmlindsey_GUE_mouse_3", "1shot", "F1"))
    assert row["submitted"] == submission.exact_results["1shot"]["leannmlindsey_GUE_mouse_3"]["F1"]
    assert row["allowed"] == 0.0


def test_tampered_scores_and_changed_data_are_caught():
    """A protocol number moved far beyond any machine noise, an exact one moved by a hair."""
    original = load_submission(LITE / "kmer-4.json")
    task = SMALL[0]
    tampered = tampered_copy(original, task, "10shot", "MCC", 0.05)
    tampered = tampered_copy(tampered, task, "full", "F1", 1e-6, probe="exact")
    tampered["run_settings"]["data_md5"][task]["test"] = "0" * 32
    report = reproduce(Submission.from_json(tampered), [task])
    assert not report["matched"]
    bad = [r for r in report["rows"] if not r["ok"]]
    assert [(r["probe"], r["regime"], r["metric"]) for r in bad] == [("protocol", "10shot", "MCC"),
                                                                     ("exact", "full", "F1")]
    assert abs(bad[0]["diff"] + 0.05) <= bad[0]["allowed"] < 0.05  # the edit, plus machine noise
    assert bad[1]["diff"] == pytest.approx(-1e-6, abs=1e-12)
    assert report["problems"] == [f"{task}: test md5 "
                                  f"{original.settings('data_md5')[task]['test']} "
                                  f"({paths.REPO_ROOT / 'data/lite/tasks'}) differs from the "
                                  f"submission's {'0' * 32}"]
    with pytest.raises(ValueError, match="not in its submission"):
        reproduce(original, ["leannmlindsey_GUE_prom_core_alll"])


def test_cli_exit_codes_and_evidence_file(tmp_path, capsys):
    out = tmp_path / "evidence.json"
    assert main(["reproduce", "kmer-4", "--tasks", SMALL[0], "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "MATCH" in printed and "exact numbers: all 9 identical" in printed
    evidence = json.loads(out.read_text())
    assert evidence["matched"] and evidence["check"] == "reproduced"
    assert evidence["tolerance"] == 1e-3 and evidence["recorded_noise_floor"]
    moved = tampered_copy(load_submission(LITE / "kmer-4.json"), SMALL[0], "full", "Acc", 0.002,
                          probe="exact")
    path = tmp_path / "kmer-4.json"
    path.write_text(json.dumps(moved))
    assert main(["reproduce", "kmer-4", "--tasks", SMALL[0], "--submission", str(path),
                 "--tolerance", "0.5"]) == 1  # no tolerance excuses an exact number
    printed = capsys.readouterr().out
    assert "NO MATCH" in printed and "not machine noise" in printed
    unfloored = tampered_copy(load_submission(LITE / "kmer-4.json"), SMALL[0], "full", "Acc", 0.05)
    del unfloored["run_settings"]["noise_floor"]
    path.write_text(json.dumps(unfloored))
    assert main(["reproduce", "kmer-4", "--tasks", SMALL[0], "--submission", str(path)]) == 1
    assert "no recorded noise floor" in capsys.readouterr().out
    assert main(["reproduce", "kmer-4", "--tasks", SMALL[0], "--submission", str(path),
                 "--tolerance", "0.5"]) == 0


def test_hyenadna_lite_run_reproduces():
    if HYENA not in registered_models():
        pytest.skip(f"{HYENA} has no benchmark/models/ file with an embed section yet")
    if not (LITE / f"{HYENA}.json").is_file():
        pytest.skip(f"no committed lite run {LITE / (HYENA + '.json')} yet")
    pytest.importorskip("anticapt", reason="the anticapt package holds the HyenaDNA weights")
    report = reproduce(load_submission(LITE / f"{HYENA}.json"), SMALL[:1])
    assert report["problems"] == []
    assert report["matched"], format_check(report)
    if report["embeddings"][SMALL[0]]["identical"]:  # this CPU embeds as the committer's did
        assert report["max_abs_diff"]["exact"] == 0.0
