"""The leaderboard page in a real headless Chromium, served from 127.0.0.1: all 41 models, sorting,
filters, the lazily loaded per-task tab, the lite label, and a display name carrying HTML that
renders as text and runs nothing. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import open_page, serve

from stages import paths
from stages.leaderboard import build_leaderboard
from stages.model_meta import default_model_meta

ARTIFACTS = Path(__file__).parent / "artifacts"
PAYLOAD = '<img src=x onerror="window.__genebXss = 1">'
SIZE_BINS = {"small": lambda p: 0 < p < 1e8, "medium": lambda p: 1e8 <= p <= 1e9,
             "large": lambda p: p > 1e9}


def inline_script_hash(html: str) -> str:
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(scripts) == 1, "index.html must keep exactly one inline script"
    return base64.b64encode(hashlib.sha256(scripts[0].encode("utf-8")).digest()).decode()


def test_csp_allows_exactly_the_inline_script():
    html = (paths.LEADERBOARD_DIR / "index.html").read_text(encoding="utf-8")
    expected = inline_script_hash(html)
    assert f"script-src 'sha256-{expected}'" in html, (
        f"the page script changed: set script-src 'sha256-{expected}' in leaderboard/index.html")
    assert "innerHTML" not in html and "insertAdjacentHTML" not in html and "outerHTML" not in html
    assert "unsafe-inline'; connect" not in html.split("script-src", 1)[1].split(";")[0]


@pytest.fixture(scope="module")
def site_url() -> Iterator[str]:
    """The committed site (index.html and the JSON that test_leaderboard proves up to date)."""
    with serve(paths.LEADERBOARD_DIR) as url:
        yield url


def shown_models(page) -> list[str]:
    return page.eval_on_selector_all("#board tbody tr", "rows => rows.map(r => r.dataset.model)")


def column_texts(page, key: str) -> list[str]:
    return page.eval_on_selector_all(f'#board tbody td[data-key="{key}"]',
                                     "cells => cells.map(c => c.textContent)")



@pytest.mark.browser
def test_shows_all_41_models_in_macro_order(browser, site_url, published, hand_scores):
    errors: list[str] = []
    page = open_page(browser, site_url, errors, width=1900, height=2300)
    expected = sorted(published, key=lambda m: -hand_scores(published[m]["results"]["full"], "MCC")[1])
    assert shown_models(page) == expected
    assert column_texts(page, "rank") == [str(i) for i in range(1, 42)]
    first = published[expected[0]]["results"]["full"]
    assert column_texts(page, "macro")[0] == f"{hand_scores(first, 'MCC')[1]:.3f}"
    assert page.text_content("#status").startswith("Showing 41 of 41 models")
    badges = page.eval_on_selector_all("#board tbody .badge", "b => b.map(x => x.textContent)")
    assert badges.count("official") == 40 and badges.count("self-reported") == 1
    assert page.is_hidden("#suite-banner")
    assert errors == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "leaderboard.png"), full_page=True)
    page.close()


@pytest.mark.browser
def test_sorting_by_a_category_reorders_rows(browser, site_url, published, hand_scores):
    page = open_page(browser, site_url)
    default = shown_models(page)
    splice = {m: hand_scores(s["results"]["full"], "MCC")[0]["Splice Sites"] for m, s in published.items()}
    page.click('#board th[data-key="cat:Splice Sites"]')
    by_splice = sorted(splice, key=lambda m: -splice[m])
    assert shown_models(page) == by_splice != default
    assert page.get_attribute('#board th[data-key="cat:Splice Sites"]', "aria-sort") == "descending"
    page.click('#board th[data-key="cat:Splice Sites"]')
    assert shown_models(page) == sorted(splice, key=lambda m: splice[m])
    page.click('#board th[data-key="disp"]')
    displays = [default_model_meta()[m].display for m in shown_models(page)]
    assert displays[0].lower() < displays[-1].lower() and shown_models(page) != default
    page.close()


@pytest.mark.browser
def test_each_filter_narrows_the_rows(browser, site_url, published, hand_scores):
    page = open_page(browser, site_url)
    meta = default_model_meta()
    for size, in_bin in SIZE_BINS.items():
        page.click(f'#size button[data-value="{size}"]')
        expected = {m for m in published if in_bin(meta[m].params)}
        assert set(shown_models(page)) == expected and 0 < len(expected) < 41, size
    page.click('#size button[data-value="all"]')
    assert len(shown_models(page)) == 41

    page.fill("#filter", "caduceus")
    assert set(shown_models(page)) == {m for m in published if "caduceus" in m.lower()
                                       or "caduceus" in meta[m].display.lower()}
    page.fill("#filter", "NT-v2")
    assert set(shown_models(page)) == {m for m in published if "nt-v2" in meta[m].display.lower()}
    page.fill("#filter", "")

    page.click('#regime button[data-value="10shot"]')
    ten = {m: hand_scores(s["results"]["10shot"], "MCC")[1] for m, s in published.items()}
    order = sorted(ten, key=lambda m: -ten[m])
    assert shown_models(page) == order
    assert column_texts(page, "macro")[:3] == [f"{ten[m]:.3f}" for m in order[:3]]
    page.click('#metric button[data-value="Acc"]')
    acc = {m: hand_scores(s["results"]["10shot"], "Acc")[2] for m, s in published.items()}
    assert column_texts(page, "micro") == [f"{acc[m]:.3f}" for m in shown_models(page)]
    page.close()


@pytest.mark.browser
def test_task_tab_loads_lazily(browser, site_url, published, spec):
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url.rsplit("/", 1)[-1]))
    page.goto(site_url)
    page.wait_for_selector("body[data-ready=true]")
    assert "leaderboard.json" in requested and "leaderboard_tasks.json" not in requested
    page.click("#tab-tasks")
    page.wait_for_selector("body[data-view=tasks][data-ready=true]", timeout=20_000)
    assert requested.count("leaderboard_tasks.json") == 1
    headers = page.eval_on_selector_all("#board thead th", "t => t.map(h => h.dataset.key)")
    assert [h for h in headers if h.startswith("task:")] == [f"task:{t}" for t in spec.task_ids]
    assert len(shown_models(page)) == 41
    task = spec.task_ids[42]
    values = dict(zip(shown_models(page), column_texts(page, f"task:{task}"), strict=True))
    assert values == {m: f"{s['results']['full'][task]['MCC']:.3f}" for m, s in published.items()}
    page.select_option("#task-category", "Splice Sites")
    headers = page.eval_on_selector_all("#board thead th", "t => t.map(h => h.dataset.key)")
    assert len([h for h in headers if h.startswith("task:")]) == 7
    page.click("#tab-categories")
    page.click("#tab-tasks")
    assert requested.count("leaderboard_tasks.json") == 1
    page.close()


@pytest.mark.browser
def test_html_in_a_display_name_is_shown_as_text_and_runs_nothing(browser, tmp_path, published):
    subs = tmp_path / "submissions"
    subs.mkdir()
    for path in paths.SUBMISSIONS_DIR.glob("*.json"):
        shutil.copyfile(path, subs / path.name)
    hostile = json.loads(json.dumps(published["splicebert-1024nt"]))
    hostile["model_id"] = "xss-probe"
    hostile["meta"]["display"] = PAYLOAD
    (subs / "xss-probe.json").write_text(json.dumps(hostile))
    site = tmp_path / "site"
    build_leaderboard(subs, site)
    shutil.copyfile(paths.LEADERBOARD_DIR / "index.html", site / "index.html")

    with serve(site) as url:
        errors: list[str] = []
        page = open_page(browser, url, errors, width=1900, height=2300)
        page.wait_for_timeout(500)  # time for an injected image to fail and fire its handler
        assert len(shown_models(page)) == 42
        cell = page.locator('#board tr[data-model="xss-probe"] td[data-key="disp"]')
        assert cell.text_content() == PAYLOAD
        assert page.evaluate("document.querySelectorAll('img').length") == 0
        assert page.evaluate("window.__genebXss") is None
        page.fill("#filter", "onerror")
        assert shown_models(page) == ["xss-probe"]
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "leaderboard_xss_as_text.png"))
        assert errors == []
        page.close()

    # positive control: the same string parsed as HTML does run
    control = browser.new_page()
    control.set_content("<div id=d></div>")
    control.evaluate(f"document.getElementById('d').innerHTML = {json.dumps(PAYLOAD)}")
    control.wait_for_function("window.__genebXss === 1", timeout=5_000)
    control.close()


@pytest.mark.browser
def test_a_lite_board_is_labelled_on_the_page(browser, tmp_path, writer_submission):
    subs = tmp_path / "lite-subs"
    subs.mkdir()
    (subs / "kmer-4.json").write_text(json.dumps(writer_submission("lite")))
    site = tmp_path / "site"
    build_leaderboard(subs, site, suite="lite")
    shutil.copyfile(paths.LEADERBOARD_DIR / "index.html", site / "index.html")
    with serve(site) as url:
        page = open_page(browser, url)
        banner = page.text_content("#suite-banner")
        assert page.is_visible("#suite-banner") and "NOT GENEB scores" in banner
        assert page.text_content("#tab-tasks") == "13 tasks"
        assert shown_models(page) == ["kmer-4"]
        page.close()


@pytest.mark.browser
def test_the_noise_floor_is_shown_where_a_result_has_one(browser, tmp_path, writer_submission):
    """A row that recorded a machine noise floor shows it beside Macro, Micro and each task, with
    what it means in the cell's title; published rows (no floor) show the bare number."""
    subs = tmp_path / "lite-subs"
    subs.mkdir()
    submission = writer_submission("lite")
    (subs / "kmer-4.json").write_text(json.dumps(submission))
    site = tmp_path / "site"
    build_leaderboard(subs, site, suite="lite")
    board = json.loads((site / "leaderboard.json").read_text())
    noise = board["data"]["full"][0]["noise_MCC"]["macro"]
    shutil.copyfile(paths.LEADERBOARD_DIR / "index.html", site / "index.html")
    with serve(site) as url:
        errors: list[str] = []
        page = open_page(browser, url, errors)
        macro = page.text_content('#board tbody td[data-key="macro"] .noise')
        assert macro == (f"±{noise:.3f}" if noise >= 0.001 else "±<0.001")
        title = page.get_attribute('#board tbody td[data-key="macro"]', "title")
        assert "machine noise floor" in title and str(noise) in title
        page.click("#tab-tasks")
        page.wait_for_selector('#board thead th[data-key^="task:"]')
        floors = submission["run_settings"]["noise_floor"]["results"]["full"]
        first = page.eval_on_selector('#board thead th[data-key^="task:"]', "th => th.dataset.key")
        floor = floors[first[len("task:"):]]["MCC"]
        cell = page.text_content(f'#board tbody td[data-key="{first}"] .noise')
        assert cell == (f"±{floor:.3f}" if floor >= 0.001 else "±<0.001")
        assert errors == []
        page.close()
    with serve(paths.LEADERBOARD_DIR) as url:
        page = open_page(browser, url)
        assert page.query_selector("#board tbody .noise") is None
        page.close()
