"""Seed intervals and bootstrap rank intervals, checked against independent hand computations."""

from __future__ import annotations

import json
import math
import statistics

import numpy as np
import pytest
from helpers import KMER4_LITE, hand_macro

from stages import paths
from stages.aggregate import summarize_regime
from stages.cli import main
from stages.submission import Submission
from stages.submission_store import load_submissions
from stages.uncertainty import (
    NoPerSeedScores,
    RankInterval,
    _column_groups,
    rank_intervals,
    resampled_aggregate,
    score_matrix,
    seed_intervals,
    t_interval,
)

T_975_DF4 = 2.7764451051977987  # Student t, 97.5th percentile, 4 degrees of freedom (tables)
@pytest.fixture(scope="module")
def published_list():
    return load_submissions(paths.SUBMISSIONS_DIR)


@pytest.fixture(scope="module")
def kmer4():
    return json.loads(KMER4_LITE.read_text())


def test_t_interval_matches_the_textbook_formula():
    iv = t_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    half = T_975_DF4 * statistics.stdev([1, 2, 3, 4, 5]) / math.sqrt(5)
    assert iv.mean == 3.0 and iv.n == 5
    assert iv.lo == pytest.approx(3.0 - half, abs=1e-12) and iv.hi == pytest.approx(3.0 + half)
    assert t_interval([0.7] * 5).lo == pytest.approx(0.7) == t_interval([0.7] * 5).hi
    single = t_interval([0.3])
    assert (single.lo, single.hi, single.n) == (None, None, 1)
    with pytest.raises(ValueError, match="finite"):
        t_interval([0.1, float("nan")])


def test_seed_intervals_of_a_lite_run_equal_hand_per_seed_aggregates(kmer4, spec, lite):
    block = kmer4["run_settings"]["per_seed"]["10shot"]
    result = seed_intervals(Submission.from_json(kmer4), "10shot", "MCC", spec)
    per_seed_macro = [hand_macro({t: block[t]["MCC"][i] for t in lite.task_ids}, spec)
                      for i in range(5)]
    half = T_975_DF4 * statistics.stdev(per_seed_macro) / math.sqrt(5)
    macro = result["macro"]
    assert macro.mean == pytest.approx(statistics.fmean(per_seed_macro), abs=1e-12)
    assert (macro.lo, macro.hi) == pytest.approx((macro.mean - half, macro.mean + half), abs=1e-12)
    # the mean of per-seed Macros is the Macro of the per-task means that the leaderboard shows
    means = {t: kmer4["results"]["10shot"][t]["MCC"] for t in lite.task_ids}
    assert macro.mean == pytest.approx(hand_macro(means, spec), abs=1e-12)
    assert 0 < macro.hi - macro.lo < 0.5

    task = "leannmlindsey_GUE_mouse_0"
    values = block[task]["MCC"]
    t_half = T_975_DF4 * statistics.stdev(values) / math.sqrt(5)
    assert result["tasks"][task].lo == pytest.approx(statistics.fmean(values) - t_half, abs=1e-12)
    tf = [statistics.fmean(block[t]["MCC"][i] for t in lite.task_ids
                           if spec.task(t).category == "TF Binding") for i in range(5)]
    assert result["categories"]["TF Binding"].hi == pytest.approx(
        statistics.fmean(tf) + T_975_DF4 * statistics.stdev(tf) / math.sqrt(5), abs=1e-12)
    assert set(result["categories"]) == {"Promoters", "TF Binding", "Mouse Enh."}


def test_full_regime_has_zero_width_because_lbfgs_ignores_the_seed(kmer4, spec):
    macro = seed_intervals(Submission.from_json(kmer4), "full", "MCC", spec)["macro"]
    assert macro.lo == pytest.approx(macro.mean, abs=1e-12) == macro.hi


def test_means_only_published_submission_says_why_no_seed_interval(published_list, spec):
    with pytest.raises(NoPerSeedScores, match="means-only"):
        seed_intervals(published_list[0], "10shot", "MCC", spec)


def test_misaligned_seeds_are_rejected_with_the_task_named(kmer4, spec):
    broken = json.loads(json.dumps(kmer4))
    block = broken["run_settings"]["per_seed"]["1shot"]
    block["leannmlindsey_GUE_mouse_3"]["seeds"] = [1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="leannmlindsey_GUE_mouse_3.seeds"):
        seed_intervals(Submission.from_json(broken), "1shot", "MCC", spec)
    short = json.loads(json.dumps(kmer4))
    short["run_settings"]["per_seed"]["1shot"]["leannmlindsey_GUE_mouse_3"]["F1"] = [0.5]
    with pytest.raises(ValueError, match=r"mouse_3\.F1 must be a list of 5"):
        seed_intervals(Submission.from_json(short), "1shot", "F1", spec)


def test_vectorised_aggregate_equals_the_aggregate_module_on_published(published_list, spec):
    task_ids = spec.task_ids
    _, scores = score_matrix(published_list, "1shot", "MCC", task_ids)
    groups = _column_groups(spec, task_ids)
    identity = [cols[None, :] for cols in groups]
    for kind in ("macro", "micro"):
        fast = resampled_aggregate(scores, identity, kind)[:, 0]
        slow = [summarize_regime(s.results["1shot"], spec, task_ids)["MCC"][kind]
                for s in published_list]
        assert fast == pytest.approx(slow, abs=1e-12)


def synthetic(model_id: str, values: dict[str, float]) -> Submission:
    return Submission(schema_version="1.0", model_id=model_id, harness_version="test", meta={},
                      results={"full": {t: {"MCC": v} for t, v in values.items()}})


def test_strict_dominance_gives_point_intervals(lite, spec):
    rng = np.random.default_rng(0)
    base = {t: float(rng.uniform(0, 0.5)) for t in lite.task_ids}
    subs = [synthetic(name, {t: v + shift for t, v in base.items()})
            for name, shift in (("low", 0.0), ("top", 0.3), ("mid", 0.1))]
    ranks = rank_intervals(subs, "full", "MCC", spec, lite.task_ids)
    assert ranks == {"top": RankInterval(1, 1, 1, pytest.approx(ranks["top"].score)),
                     "mid": RankInterval(2, 2, 2, pytest.approx(ranks["mid"].score)),
                     "low": RankInterval(3, 3, 3, pytest.approx(ranks["low"].score))}
    assert ranks["top"].score == pytest.approx(hand_macro(base, spec) + 0.3)


def test_models_that_trade_categories_get_overlapping_intervals(lite, spec):
    promoters = spec.tasks_by_category(lite.task_ids)["Promoters"]
    # B leads by 0.1 on every non-promoter task; on the four promoter tasks A-B is +0.9, -0.9,
    # -0.9, +0.9 (mean 0), so B has the higher Macro. A resample puts A ahead when it draws at
    # least three of the four +0.9 tasks: probability 5/16, so both intervals must be 1-2.
    b = dict.fromkeys(lite.task_ids, 0.5)
    a = {t: 0.4 for t in lite.task_ids}
    for task_id, diff in zip(promoters, (0.9, -0.9, -0.9, 0.9), strict=True):
        a[task_id] = 0.5 + diff
    subs = [synthetic("a", a), synthetic("b", b)]
    ranks = rank_intervals(subs, "full", "MCC", spec, lite.task_ids)
    assert (ranks["b"].rank, ranks["b"].lo, ranks["b"].hi) == (1, 1, 2)
    assert (ranks["a"].rank, ranks["a"].lo, ranks["a"].hi) == (2, 1, 2)
    assert rank_intervals(subs, "full", "MCC", spec, lite.task_ids) == ranks  # fixed seed


def test_a_model_missing_a_task_is_not_ranked(lite, spec):
    full = synthetic("full", dict.fromkeys(lite.task_ids, 0.5))
    holey = synthetic("holey", {t: 0.9 for t in lite.task_ids[1:]})
    ranks = rank_intervals([full, holey], "full", "MCC", spec, lite.task_ids)
    assert ranks["holey"] is None and ranks["full"] == RankInterval(1, 1, 1, 0.5)


def test_published_point_ranks_follow_hand_macro(published_list, spec):
    ranks = rank_intervals(published_list, "full", "MCC", spec, n_resamples=200)
    by_hand = sorted(published_list, key=lambda s: -hand_macro(
        {t: v["MCC"] for t, v in s.results["full"].items()}, spec))
    assert [s.model_id for s in by_hand[:5]] == sorted(
        ranks, key=lambda m: ranks[m].rank)[:5]
    assert all(1 <= r.lo <= r.hi <= len(published_list) for r in ranks.values())
    assert sum(r.hi - r.lo for r in ranks.values()) > 0  # task sampling does move ranks
    assert RankInterval(3, 2, 6, 0.1).label() == "3 (2-6)"


def test_cli_ranks_and_intervals(capsys, kmer4):
    assert main(["ranks", "--submissions", str(paths.SUBMISSIONS_DIR), "--regime", "10shot",
                 "--resamples", "100", "--json"]) == 0
    ranks = json.loads(capsys.readouterr().out)
    assert len(ranks) == 41 and all(set(r) == {"rank", "lo", "hi", "score"} for r in ranks.values())
    assert main(["intervals", str(KMER4_LITE)]) == 0
    text = capsys.readouterr().out
    assert "regime 10shot" in text and "regime 1shot" in text and "Macro" in text
    assert main(["intervals", str(paths.SUBMISSIONS_DIR / "GROVER.json")]) == 2
    assert "means-only" in capsys.readouterr().err


def test_leaderboard_rows_carry_rank_intervals_additively(published_list, spec):
    from stages.leaderboard import LEADERBOARD_FILE, render_leaderboard

    board = json.loads(render_leaderboard(paths.SUBMISSIONS_DIR)[LEADERBOARD_FILE])
    assert board["rank_intervals"]["resamples"] == 1000 and board["rank_intervals"]["seed"] == 20260
    for regime in spec.regimes:
        expected = rank_intervals(published_list, regime, "F1", spec)
        for row in board["data"][regime]:
            ri = expected[row["model"]]
            assert (row["rank_F1"], row["rank_ci_F1"]) == (ri.rank, [ri.lo, ri.hi])
            assert {"macro_MCC", "micro_MCC", "cat_MCC", "model", "disp"} <= set(row)
    first = board["data"]["full"][0]  # rows stay in the full regime's Macro MCC order
    assert first["rank_MCC"] == 1 and first["rank_ci_MCC"][0] == 1
