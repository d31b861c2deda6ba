"""Leaderboard page load: time to a usable table in headless Chromium with a throttled CPU.

Usage: python benchmarks/leaderboard_load.py [--models 400] [--loads 7] [--throttle 4]
                                             [--out docs/benchmarks/leaderboard_load.json]

Two boards, each served from 127.0.0.1 by a static server:

* ``real``: the committed site, ``leaderboard/`` (the 41 published models);
* ``generated``: ``--models`` made-up models x the full suite's 100 tasks x 3 regimes, written
  as submission files (published v1.0 layout, seeded random scores, log-uniform sizes) and built
  into both JSON files by the real builder (``stages.leaderboard.render_leaderboard``: validation,
  aggregates, bootstrap rank intervals), next to the real page files;
* ``floor``: what no page can beat on this machine and browser: a blank page whose one script
  fetches and parses the real ``leaderboard.json`` and sets the same mark after the next frame,
  drawing nothing. ``real`` minus ``floor`` is the page's own cost.

Each load is a fresh browser context (empty cache) whose CPU is slowed ``--throttle`` times with
the DevTools ``Emulation.setCPUThrottlingRate`` command before navigating; loads alternate
between the two boards, so both see the same load of a shared machine (recorded per load).
"Usable table" is the page's own ``performance.mark("geneb-table-ready")``, set once the table's
first screen is drawn and painted (the mark waits for the frame after the render) and every
control is bound, in milliseconds since navigation start. Also recorded per load: the main JSON's
transfer end, and the time to open the task tab (``leaderboard_tasks.json`` fetched, parsed and
drawn) and the plots tab, measured in the page from the click to the drawn result.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from helpers import CHROMIUM, CHROMIUM_ARGS, serve  # noqa: E402

from stages import paths  # noqa: E402
from stages.leaderboard import render_leaderboard  # noqa: E402
from stages.space_sync import SITE_FILES  # noqa: E402
from stages.spec import default_spec  # noqa: E402

MARKED = "() => performance.getEntriesByName('geneb-table-ready').length === 1"
READY = "performance.getEntriesByName('geneb-table-ready')[0].startTime"
JSON_END = ("performance.getEntriesByType('resource').find(e => e.name.endsWith('/leaderboard.json'))"
            ".responseEnd")
# Clicks a tab and resolves once its content is drawn: milliseconds in the page.
TAB = """async ([tab, ready]) => {
    const start = performance.now();
    document.getElementById(tab).click();
    while (!document.querySelector(ready)) await new Promise(r => setTimeout(r, 5));
    return performance.now() - start;
}"""


def generated_site(folder: Path, n_models: int, seed: int = 2026) -> Path:
    """``n_models`` submissions over the full suite, built into a site by the real builder."""
    spec = default_spec()
    rng = random.Random(seed)
    subs = folder / "submissions"
    subs.mkdir(parents=True)
    for i in range(n_models):
        quality = rng.uniform(0.15, 0.6)
        results = {}
        for regime, drop in zip(spec.regimes, (0.0, 0.15, 0.3), strict=True):
            results[regime] = {}
            for task_id in spec.task_ids:
                mcc = max(-0.2, min(0.99, rng.gauss(quality - drop, 0.12)))
                acc = (mcc + 1) / 2
                results[regime][task_id] = {"MCC": mcc, "Acc": acc, "F1": max(0.0, acc - rng.uniform(0, 0.02))}
        model_id = f"generated-model-{i:03d}"
        submission = {"schema_version": "1.0", "model_id": model_id, "harness_version": "geneb-0.1.0",
                      "meta": {"display": f"Generated model {i:03d}", "params": int(10 ** rng.uniform(6, 10)),
                               "url": "", "zero_shot": False, "training_data": "", "provenance": "self-reported",
                               "submitted_by": "benchmark"},
                      "results": results}
        (subs / f"{model_id}.json").write_text(json.dumps(submission))
    site = folder / "site"
    site.mkdir()
    for name, text in render_leaderboard(subs, "full", spec=spec).items():
        (site / name).write_text(text, encoding="utf-8")
    for name in SITE_FILES:
        (site / name).write_bytes((paths.LEADERBOARD_DIR / name).read_bytes())
    return site


FLOOR_PAGE = '<!DOCTYPE html><html><head><script src="floor.js" defer></script></head><body><p>floor</p></body></html>'
FLOOR_SCRIPT = ('fetch("./leaderboard.json", {cache: "no-cache"}).then((r) => r.json()).then(() => '
                'requestAnimationFrame(() => setTimeout(() => performance.mark("geneb-table-ready"), 0)));')


def floor_site(folder: Path) -> Path:
    folder.mkdir()
    (folder / "index.html").write_text(FLOOR_PAGE, encoding="utf-8")
    (folder / "floor.js").write_text(FLOOR_SCRIPT, encoding="utf-8")
    (folder / "leaderboard.json").write_bytes((paths.LEADERBOARD_DIR / "leaderboard.json").read_bytes())
    return folder


def load_once(browser, url: str, throttle: float, tabs: bool = True) -> dict:
    """One load in a fresh context: the page's timings, in milliseconds."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": throttle})
    page.goto(url)
    page.wait_for_function(MARKED, timeout=120_000)
    run = {"table_ready_ms": page.evaluate(READY), "json_loaded_ms": page.evaluate(JSON_END)}
    if tabs:
        run["rows_drawn"] = page.evaluate("document.querySelectorAll('#board tbody tr[data-model]').length")
        run["tasks_tab_ms"] = page.evaluate(TAB, ["tab-tasks", "body[data-view=tasks][data-ready=true]"])
        run["plots_tab_ms"] = page.evaluate(TAB, ["tab-plots", "#plot-heatmap"])
    run["load_average"] = os.getloadavg()[0]
    context.close()
    return run


def summary(runs: list[dict]) -> dict:
    keys = [k for k in runs[0] if k.endswith("_ms")]
    return {"median": {k: round(statistics.median(r[k] for r in runs)) for k in keys},
            "range": {k: [round(min(r[k] for r in runs)), round(max(r[k] for r in runs))] for k in keys},
            "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=400)
    parser.add_argument("--loads", type=int, default=7)
    parser.add_argument("--throttle", type=float, default=4.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    report = {"throttle": args.throttle, "loads": args.loads, "python": platform.python_version(),
              "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
              "load_average_before": os.getloadavg()[0], "boards": {}}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        started = time.perf_counter()
        sites = {"real": paths.LEADERBOARD_DIR, "generated": generated_site(Path(tmp), args.models),
                 "floor": floor_site(Path(tmp) / "floor")}
        report["generate_and_build_s"] = round(time.perf_counter() - started, 1)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        report["chromium"] = browser.version
        runs: dict[str, list] = {name: [] for name in sites}
        with serve(sites["real"]) as real, serve(sites["generated"]) as generated, serve(sites["floor"]) as floor:
            for _ in range(args.loads):  # alternated, so every board sees the same machine load
                for name, url in (("real", real), ("generated", generated), ("floor", floor)):
                    runs[name].append(load_once(browser, url, args.throttle, tabs=name != "floor"))
        browser.close()
        for name, site in sites.items():
            board = json.loads((site / "leaderboard.json").read_text(encoding="utf-8"))
            result = {"models": board["n_models"], **summary(runs[name]),
                      "bytes": {f.name: f.stat().st_size for f in sorted(site.glob("leaderboard*.json"))}}
            report["boards"][name] = result
            print(name, json.dumps({k: v for k, v in result.items() if k != "runs"}), flush=True)
    report["load_average_after"] = os.getloadavg()[0]
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
