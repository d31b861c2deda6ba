"""``geneb compare``: differences, wins and the Wilcoxon test against independent computations."""

from __future__ import annotations

import itertools
import json
import statistics

import pytest
from helpers import KMER4_LITE, hand_macro

from stages import paths
from stages.cli import main
from stages.compare import compare, format_comparison
from stages.submission import Submission
from stages.submission_store import SubmissionNotFound, find_submission, load_submission


def lite_submission(model_id: str, values: dict[str, float]) -> Submission:
    return Submission(
        schema_version="1.0", model_id=model_id, harness_version="test", meta={},
        declared_suite="lite",
        results={"full": {t: {"MCC": v, "Acc": 0.5, "F1": 0.5} for t, v in values.items()}})


def exact_two_sided_p(diffs: list[float]) -> float:
    """Exact Wilcoxon p by enumerating all 2^n sign patterns (no ties among |d|)."""
    ranks = {abs(d): i + 1 for i, d in enumerate(sorted(diffs, key=abs))}
    w_plus = sum(ranks[abs(d)] for d in diffs if d > 0)
    total = sum(ranks.values())
    observed = min(w_plus, total - w_plus)
    n = len(diffs)
    count = sum(1 for signs in itertools.product((0, 1), repeat=n)
                if min(s := sum(r for r, on in zip(range(1, n + 1), signs, strict=True) if on),
                       total - s) <= observed)
    return count / 2 ** n


def test_all_wins_gives_exact_p_and_unit_effect(spec, lite):
    b = {t: 0.3 for t in lite.task_ids}
    a = {t: 0.3 + 0.01 * (i + 1) for i, t in enumerate(lite.task_ids)}
    result = compare(lite_submission("a", a), lite_submission("b", b), spec)
    assert result["wins"] == {"a": 13, "b": 0, "ties": 0}
    assert result["wilcoxon"]["p_value"] == pytest.approx(2 / 2 ** 13)
    assert result["wilcoxon"]["rank_biserial"] == 1.0
    assert result["macro"]["diff"] == pytest.approx(hand_macro(a, spec) - hand_macro(b, spec))


def test_mixed_signs_match_brute_force_wilcoxon(spec, lite):
    diffs = [(-1) ** i * 0.01 * (i + 1) for i in range(13)]  # +1, -2, +3, ... in rank order
    b = dict.fromkeys(lite.task_ids, 0.4)
    a = {t: 0.4 + d for t, d in zip(lite.task_ids, diffs, strict=True)}
    result = compare(lite_submission("a", a), lite_submission("b", b), spec)
    w_plus, w_minus = sum(range(1, 14, 2)), sum(range(2, 14, 2))  # 49 and 42
    test = result["wilcoxon"]
    assert (test["w_plus"], test["w_minus"], test["n"]) == (w_plus, w_minus, 13)
    assert test["rank_biserial"] == pytest.approx((w_plus - w_minus) / (w_plus + w_minus))
    assert test["p_value"] == pytest.approx(exact_two_sided_p(diffs), rel=1e-9)
    assert result["wins"] == {"a": 7, "b": 6, "ties": 0}
    for category in result["categories"]:
        ids = spec.tasks_by_category(lite.task_ids)[category["category"]]
        assert category["diff"] == pytest.approx(statistics.fmean(a[t] - b[t] for t in ids))
        assert category["wins_a"] == sum(a[t] > b[t] for t in ids)


def test_differences_within_rounding_are_ties(spec, lite):
    b = dict.fromkeys(lite.task_ids, 0.5)
    a = {**b, lite.task_ids[0]: 0.50004, lite.task_ids[1]: 0.6}
    result = compare(lite_submission("a", a), lite_submission("b", b), spec)
    assert result["wins"] == {"a": 1, "b": 0, "ties": 12}
    assert result["tasks"][0]["diff"] == 0.0 and result["wilcoxon"]["n"] == 1
    same = compare(lite_submission("a", b), lite_submission("b", b), spec)
    assert same["wilcoxon"]["p_value"] is None
    assert "every task is a tie" in format_comparison(same)


def test_published_pair_agrees_with_hand_macro_and_counts(spec):
    directory = paths.SUBMISSIONS_DIR
    a = load_submission(find_submission("DNABERT-S", directory))
    b = load_submission(find_submission("GROVER", directory))
    result = compare(a, b, spec, regime="10shot", metric="F1")
    assert result["n_tasks"] == 100 and sum(result["wins"].values()) == 100
    hand = [hand_macro({t: v["F1"] for t, v in s.results["10shot"].items()}, spec)
            for s in (a, b)]
    assert (result["macro"]["a"], result["macro"]["b"]) == pytest.approx(hand, abs=1e-12)
    wins_a = sum(a.results["10shot"][t]["F1"] - b.results["10shot"][t]["F1"] > 1e-4
                 for t in spec.task_ids)
    assert result["wins"]["a"] == wins_a
    assert [c["category"] for c in result["categories"]] == list(spec.category_order)
    assert 0 <= result["wilcoxon"]["p_value"] <= 1


def test_lookup_and_errors(tmp_path, spec):
    directory = paths.SUBMISSIONS_DIR
    assert find_submission("GROVER", directory) == directory / "GROVER.json"
    assert find_submission("kmer-4", tmp_path, suite="lite") == KMER4_LITE
    with pytest.raises(SubmissionNotFound, match="no submission for model 'nope'"):
        find_submission("nope", directory)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"model_id": "x"}))
    with pytest.raises(ValueError, match=r"bad\.json: <root>: 'results' is a required property"):
        load_submission(bad)
    lite = load_submission(KMER4_LITE)
    with pytest.raises(ValueError, match="not comparable"):
        compare(lite, load_submission(directory / "GROVER.json"), spec)
    mixed = compare(lite, load_submission(directory / "GROVER.json"), spec, allow_mixed_suites=True)
    assert mixed["n_tasks"] == 13


def test_cli_json_and_table(capsys):
    directory = str(paths.SUBMISSIONS_DIR)
    assert main(["compare", "DNABERT-S", "GROVER", "--submissions", directory, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["a"]["model_id"] == "DNABERT-S" and result["metric"] == "MCC"
    assert main(["compare", "DNABERT-S", "GROVER", "--submissions", directory,
                 "--regime", "1shot"]) == 0
    text = capsys.readouterr().out
    assert "Wilcoxon signed-rank over" in text and "Macro" in text and "wins A/B/tie" in text
    assert main(["compare", "kmer-4", "GROVER", "--submissions", directory]) == 2
    assert "not comparable" in capsys.readouterr().err
