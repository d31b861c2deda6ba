"""``geneb plots``: the leaderboard as figures for papers (matplotlib, Agg backend, SVG and PNG).

Not the site's pictures: the page draws its plots from the leaderboard JSON itself
(``leaderboard/plots.js``), so they never go stale; these files are made on request, into a
folder you name (``--out``), and are never committed.

* ``heatmap-<regime>``: models (rows, by that regime's Macro) x categories, cell = category mean.
* ``size-vs-macro``: parameter count (log scale) against Macro, one panel per regime, with
  Spearman's rho. Parameter counts come from the model cards (``benchmark/models/``, the corrected ones).
* ``rank-shift``: each model's Macro rank in the full, 10-shot and 1-shot regimes, joined by lines.
* ``rank-intervals-<regime>``: each model's Macro rank with its 95% bootstrap rank interval
  (:mod:`stages.uncertainty`).

Inputs are the validated submissions the leaderboard is built from (:func:`stages.leaderboard.
load_entries`); means come from :mod:`stages.aggregate`. Output is deterministic for a given
matplotlib version (fixed SVG hash salt, no dates or version strings in the files).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from stages import paths  # noqa: E402
from stages.aggregate import summarize_regime  # noqa: E402
from stages.io_utils import atomic_write  # noqa: E402
from stages.spec import BenchmarkSpec, default_spec  # noqa: E402
from stages.submission import DEFAULT_SUITE  # noqa: E402
from stages.uncertainty import rank_intervals  # noqa: E402

FORMATS: tuple[str, ...] = ("svg",)  # PNG on request: --format svg png
REGIME_NAMES = {"full": "full data", "10shot": "10-shot", "1shot": "1-shot"}


class Board:
    """What the plots need of each model: display name, parameter count and aggregates."""

    def __init__(self, entries: Sequence, spec: BenchmarkSpec, task_ids: Sequence[str],
                 metric: str):
        self.spec, self.metric, self.task_ids = spec, metric, tuple(task_ids)
        self.ids = [e.model_id for e in entries]
        self.display = {e.model_id: e.meta.display for e in entries}
        self.params = {e.model_id: e.meta.params for e in entries}
        self.results = {e.model_id: e.results for e in entries}
        self.summary = {
            (e.model_id, regime): summarize_regime(e.results.get(regime, {}), spec,
                                                   task_ids)[metric]
            for e in entries for regime in spec.regimes}

    def macro(self, model_id: str, regime: str) -> float | None:
        return self.summary[(model_id, regime)]["macro"]

    def ranked(self, regime: str) -> list[str]:
        """Complete models by Macro, best first (ties by model id)."""
        complete = [m for m in self.ids if self.macro(m, regime) is not None]
        return sorted(complete, key=lambda m: (-self.macro(m, regime), m))  # type: ignore[operator]


def _save(fig: plt.Figure, out_dir: Path, name: str, formats: Sequence[str]) -> list[Path]:
    written = []
    for fmt in formats:
        path = Path(out_dir) / f"{name}.{fmt}"
        metadata = {"Date": None, "Creator": None} if fmt == "svg" else {"Software": None}
        atomic_write(path, lambda handle, f=fmt, m=metadata: fig.savefig(
            handle, format=f, metadata=m, dpi=110, bbox_inches="tight"))
        written.append(path)
    plt.close(fig)
    return written


def heatmap(board: Board, regime: str) -> plt.Figure:
    models = board.ranked(regime)
    categories = list(board.spec.tasks_by_category(board.task_ids))
    values = np.array([[board.summary[(m, regime)]["categories"][c] for c in categories]
                       + [board.macro(m, regime)] for m in models], dtype=float)
    fig, ax = plt.subplots(figsize=(1.0 + 0.62 * (len(categories) + 1), 1.6 + 0.26 * len(models)))
    # interpolation "none": the SVG embeds one pixel per cell, not a screen-sized raster
    image = ax.imshow(values, aspect="auto", cmap="viridis", interpolation="none")
    ax.set_xticks(range(len(categories) + 1), [*categories, "Macro"], rotation=40, ha="right")
    ax.set_yticks(range(len(models)), [f"{i + 1}. {board.display[m]}" for i, m in enumerate(models)])
    ax.axvline(len(categories) - 0.5, color="white", lw=2)
    threshold = np.nanmin(values) + 0.6 * (np.nanmax(values) - np.nanmin(values))
    for (row, col), value in np.ndenumerate(values):
        label = f"{value:.2f}".replace("-0.00", "0.00")
        ax.text(col, row, label, ha="center", va="center", fontsize=6.5,
                color="black" if value > threshold else "white")
    fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02, label=f"mean {board.metric}")
    ax.set_title(f"GENEB {REGIME_NAMES.get(regime, regime)}: {board.metric} per category "
                 "(rows by Macro)")
    return fig


def size_vs_macro(board: Board) -> plt.Figure:
    fig, axes = plt.subplots(1, len(board.spec.regimes), figsize=(5.2 * len(board.spec.regimes), 4.6),
                             sharey=False)
    for ax, regime in zip(np.atleast_1d(axes), board.spec.regimes, strict=True):
        models = [m for m in board.ranked(regime) if board.params.get(m)]
        x = np.array([board.params[m] for m in models], dtype=float)
        y = np.array([board.macro(m, regime) for m in models], dtype=float)
        ax.scatter(x, y, s=28, color="#2b6cb0", alpha=0.85, edgecolor="white", linewidth=0.5)
        for m, offset in zip(models[:2] + models[-1:], ((4, 3), (4, -10), (4, 3)), strict=False):
            ax.annotate(board.display[m], (board.params[m], board.macro(m, regime)), fontsize=7,
                        xytext=offset, textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel("parameters (log scale)")
        ax.set_ylabel(f"Macro {board.metric}")
        rho = stats.spearmanr(x, y).statistic if len(models) > 2 else float("nan")
        ax.set_title(f"{REGIME_NAMES.get(regime, regime)}: Spearman rho = {rho:.2f} (n={len(models)})",
                     fontsize=10)
        ax.grid(alpha=0.3)
    fig.suptitle("Model size vs Macro: bigger is not reliably better", fontsize=12)
    fig.tight_layout()
    return fig


def rank_shift(board: Board) -> plt.Figure:
    regimes = list(board.spec.regimes)
    ranks = {r: {m: i + 1 for i, m in enumerate(board.ranked(r))} for r in regimes}
    models = [m for m in board.ranked(regimes[0]) if all(m in ranks[r] for r in regimes)]
    fig, ax = plt.subplots(figsize=(8.5, 1.5 + 0.27 * len(models)))
    for m in models:
        ys = [ranks[r][m] for r in regimes]
        change = ys[-1] - ys[0]
        color = "#2f855a" if change <= -5 else "#c53030" if change >= 5 else "#a0aec0"
        ax.plot(range(len(regimes)), ys, marker="o", ms=3.5, lw=1.6 if color != "#a0aec0" else 1,
                color=color, alpha=0.9)
        ax.text(-0.06, ys[0], board.display[m], ha="right", va="center", fontsize=7)
        ax.text(len(regimes) - 1 + 0.06, ys[-1], f"{ys[-1]}. {board.display[m]}", ha="left",
                va="center", fontsize=7, color=color if color != "#a0aec0" else "black")
    ax.set_xticks(range(len(regimes)), [REGIME_NAMES.get(r, r) for r in regimes])
    ax.set_xlim(-0.9, len(regimes) - 1 + 0.9)
    ax.set_ylim(len(models) + 0.8, 0.2)
    ax.set_yticks([1, *range(5, len(models) + 1, 5)])
    ax.set_ylabel(f"rank by Macro {board.metric}")
    ax.tick_params(axis="x", top=True, labeltop=True)
    ax.set_title("Full-data vs few-shot ranks (green: up 5+ places by 1-shot, red: down 5+)",
                 fontsize=10)
    for side in ("left", "right"):
        ax.spines[side].set_visible(False)
    return fig


def rank_interval_plot(board: Board, regime: str, entries: Sequence) -> plt.Figure:
    intervals = rank_intervals([e.submission for e in entries],
                               regime, board.metric, board.spec, board.task_ids)
    models = [m for m in board.ranked(regime) if intervals.get(m)]
    fig, ax = plt.subplots(figsize=(7.5, 1.4 + 0.25 * len(models)))
    for row, m in enumerate(models):
        ri = intervals[m]
        ax.plot([ri.lo, ri.hi], [row, row], color="#2b6cb0", lw=2.2, solid_capstyle="round")
        ax.plot(ri.rank, row, "o", color="#1a365d", ms=4)
    ax.set_yticks(range(len(models)), [f"{intervals[m].label()}  {board.display[m]}"
                                       for m in models], fontsize=7.5)
    ax.invert_yaxis()
    ax.set_xlabel(f"rank by Macro {board.metric} (dot) and 95% bootstrap interval (bar)")
    ax.set_xlim(0.5, len(models) + 0.5)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(f"{REGIME_NAMES.get(regime, regime)}: how sure is each rank? "
                 "(tasks resampled within categories)", fontsize=10)
    return fig


def write_plots(out_dir: Path, submissions_dir: Path = paths.SUBMISSIONS_DIR,
                suite: str = DEFAULT_SUITE, metric: str | None = None,
                formats: Sequence[str] = FORMATS, spec: BenchmarkSpec | None = None) -> list[Path]:
    """Render every plot of the validated submissions in ``submissions_dir``; returns the files."""
    from stages.leaderboard import load_entries
    from stages.model_meta import default_model_meta

    spec = spec or default_spec()
    chosen = spec.suite(suite)
    entries = load_entries(Path(submissions_dir), chosen, spec, default_model_meta())
    board = Board(entries, spec, chosen.task_ids, metric or spec.primary_metric)
    plt.rcParams.update({"svg.hashsalt": "geneb", "svg.fonttype": "none", "font.size": 8,
                         "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
                         "axes.titlesize": 10})
    written: list[Path] = []
    for regime in spec.regimes:
        written += _save(heatmap(board, regime), out_dir, f"heatmap-{regime}", formats)
        written += _save(rank_interval_plot(board, regime, entries), out_dir,
                         f"rank-intervals-{regime}", formats)
    written += _save(size_vs_macro(board), out_dir, "size-vs-macro", formats)
    written += _save(rank_shift(board), out_dir, "rank-shift", formats)
    return written
