"""``geneb plots`` (figures for papers, not the site: the page draws its own plots from the JSON,
tests/test_site_views.py) on the published submissions: every file renders with the right numbers."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from helpers import hand_macro
from scipy import stats

from stages import paths, plots
from stages.cli import main
from stages.model_meta import default_model_meta
from stages.submission_store import load_submissions

NAMES = [f"{kind}-{regime}" for kind in ("heatmap", "rank-intervals")
         for regime in ("full", "10shot", "1shot")] + ["size-vs-macro", "rank-shift"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("plots")
    assert main(["plots", "--submissions", str(paths.SUBMISSIONS_DIR), "--out", str(out),
                 "--format", "svg", "png"]) == 0
    return out


@pytest.fixture(scope="module")
def by_hand(spec):
    """Macro MCC per regime and model, computed without stages.aggregate."""
    subs = load_submissions(paths.SUBMISSIONS_DIR)
    return {regime: {s.model_id: hand_macro({t: v["MCC"] for t, v in
                                            s.results[regime].items()}, spec)
                     for s in subs} for regime in spec.regimes}


def svg_text(path) -> str:
    root = ET.parse(path).getroot()  # also proves the file is well-formed XML
    return " ".join(t for t in root.itertext())


def test_every_plot_is_written_as_svg_and_png(rendered):
    for name in NAMES:
        assert (rendered / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (rendered / f"{name}.svg").stat().st_size > 10_000
    assert sorted(p.name for p in rendered.iterdir()) == sorted(
        f"{n}.{f}" for n in NAMES for f in ("svg", "png"))


def test_heatmap_and_rank_shift_order_models_by_hand_macro(rendered, by_hand):
    meta = default_model_meta()
    for regime in ("full", "1shot"):
        best = max(by_hand[regime], key=by_hand[regime].get)
        worst = min(by_hand[regime], key=by_hand[regime].get)
        text = svg_text(rendered / f"heatmap-{regime}.svg")
        assert f"1. {meta[best].display}" in text and f"41. {meta[worst].display}" in text
        assert "Histone Mod." in text and "Macro" in text
    one_shot_best = max(by_hand["1shot"], key=by_hand["1shot"].get)
    assert f"1. {meta[one_shot_best].display}" in svg_text(rendered / "rank-shift.svg")


def test_size_panel_reports_spearman_of_meta_params(rendered, by_hand):
    meta = default_model_meta()
    text = svg_text(rendered / "size-vs-macro.svg")
    for regime, name in (("full", "full data"), ("1shot", "1-shot")):
        ids = sorted(by_hand[regime])
        rho = stats.spearmanr([meta[m].params for m in ids], [by_hand[regime][m] for m in ids])
        assert f"{name}: Spearman rho = {rho.statistic:.2f} (n=41)" in text


def test_rank_interval_labels_and_no_volatile_metadata(rendered, by_hand):
    text = svg_text(rendered / "rank-intervals-full.svg")
    best = max(by_hand["full"], key=by_hand["full"].get)
    assert "1 (1-" in text and default_model_meta()[best].display in text
    raw = (rendered / "rank-intervals-full.svg").read_text()
    assert "<dc:date>" not in raw and "Matplotlib v" not in raw


def test_svg_output_is_deterministic(tmp_path, by_hand):
    from stages.leaderboard import load_entries

    spec = plots.default_spec()
    entries = load_entries(paths.SUBMISSIONS_DIR, spec.suite("full"), spec, default_model_meta())
    board = plots.Board(entries, spec, spec.task_ids, "MCC")
    plots.plt.rcParams.update({"svg.hashsalt": "geneb", "svg.fonttype": "none"})
    first = plots._save(plots.rank_shift(board), tmp_path / "a", "shift", ("svg",))[0]
    second = plots._save(plots.rank_shift(board), tmp_path / "b", "shift", ("svg",))[0]
    assert first.read_bytes() == second.read_bytes()
