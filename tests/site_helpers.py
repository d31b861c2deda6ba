"""What the site tests share: the site's static files, a scratch copy of the site with extra
rows, and readers of the table the page draws."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

from helpers import KMER4_LITE

from stages import paths
from stages.io_utils import atomic_write_text
from stages.leaderboard import render_leaderboard
from stages.model_meta import default_model_meta
from stages.space_sync import SITE_FILES

ARTIFACTS = Path(__file__).parent / "artifacts"


def copy_site(source: Path, site: Path) -> Path:
    """The page's static files (not the JSON) from ``source`` into ``site``."""
    site.mkdir(parents=True, exist_ok=True)
    for name in SITE_FILES:
        shutil.copyfile(source / name, site / name)
    return site


def extended_site_dir(folder: Path, writer_submission) -> Path:
    """The 41 published rows plus ``kmer-4`` on the full suite as ``geneb run`` writes it (GENEB
    extraction, run settings, noise floor), its card saying ``reproduced``; the cards of GROVER
    and kmer-4 say zero-shot."""
    subs = folder / "submissions"
    subs.mkdir(parents=True)
    for path in paths.SUBMISSIONS_DIR.glob("*.json"):
        shutil.copyfile(path, subs / path.name)
    kmer = writer_submission("full")
    kmer["meta"]["provenance"] = "reproduced"
    # the machine block of a real `geneb run` (the writer fixture records none)
    kmer["run_settings"]["machine"] = json.loads(KMER4_LITE.read_text())["run_settings"]["machine"]
    (subs / "kmer-4.json").write_text(json.dumps(kmer))
    meta = dict(default_model_meta())
    meta["kmer-4"] = replace(meta["kmer-4"], provenance="reproduced", zero_shot=True)
    meta["GROVER"] = replace(meta["GROVER"], zero_shot=True)
    site = folder / "site"
    for name, text in render_leaderboard(subs, "full", model_meta=meta).items():
        atomic_write_text(site / name, text)
    (site / "kmer-4.submission.json").write_text(json.dumps(kmer))  # what the tests compare with
    return copy_site(paths.LEADERBOARD_DIR, site)


def shown_models(page) -> list[str]:
    return page.eval_on_selector_all("#board tbody tr[data-model]", "rows => rows.map(r => r.dataset.model)")


def column_texts(page, key: str) -> list[str]:
    return page.eval_on_selector_all(f'#board tbody td[data-key="{key}"]',
                                     "cells => cells.map(c => c.textContent)")


def big_site_dir(folder: Path, copies: int) -> Path:
    """The committed board with every row repeated ``copies`` times under new ids (``<id>-copy<k>``,
    display ``<name> #<k>``): a long table for the page, not a build (numbers are the real ones)."""
    site = copy_site(paths.LEADERBOARD_DIR, folder / "site")
    for name in ("leaderboard.json", "leaderboard_tasks.json"):
        payload = json.loads((paths.LEADERBOARD_DIR / name).read_text(encoding="utf-8"))
        payload["data"] = {regime: [{**row, "model": f"{row['model']}-copy{k}", "disp": f"{row['disp']} #{k}"}
                                    for k in range(copies) for row in rows]
                           for regime, rows in payload["data"].items()}
        payload["n_models"] *= copies
        (site / name).write_text(json.dumps(payload), encoding="utf-8")
    return site
