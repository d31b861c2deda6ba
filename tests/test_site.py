"""The leaderboard page in a real headless Chromium, served from 127.0.0.1: all 41 models with
their display names, sorting, every filter, the lazily loaded per-task tab and its per-category
ranking, copyable rank intervals, all 13 categories readable at 1,400 px, the lite label, the
file:// message, a display name carrying HTML that renders as text and runs nothing, and the
Content-Security-Policy that lets only the site's own files run. The model detail view and the
plots drawn from the JSON: tests/test_site_views.py. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator

import pytest
from helpers import open_page, serve
from site_helpers import (
    ARTIFACTS,
    SITE_FILES,
    big_site_dir,
    column_texts,
    copy_site,
    extended_site_dir,
    shown_models,
)

from stages import paths
from stages.leaderboard import build_leaderboard
from stages.model_meta import default_model_meta

PAYLOAD = '<img src=x onerror="window.__genebXss = 1">'
SIZE_BINS = {"small": lambda p: 0 < p < 1e8, "medium": lambda p: 1e8 <= p <= 1e9,
             "large": lambda p: p > 1e9}
# A display name that is a raw catalogue id: all lower case or with an underscore, and equal to
# the model id (``eccdnamamba_weights``, ``dna_gpt3b_m``, ``space``).
RAW_ID = re.compile(r"[a-z0-9._-]+|.*_.*")


def csp(html: str) -> dict[str, str]:
    content = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    return {part.split()[0]: " ".join(part.split()[1:]) for part in content.split(";") if part.strip()}


def test_csp_allows_exactly_the_site_scripts():
    html = (paths.LEADERBOARD_DIR / "index.html").read_text(encoding="utf-8")
    policy = csp(html)
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["default-src"] == "'none'" and policy["connect-src"] == "'self'"
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert all(body.strip() == "" for _, body in scripts), "no inline script: the CSP would block it"
    sources = [re.search(r'src="([^"]+)"', attrs).group(1) for attrs, _ in scripts]
    on_disk = sorted(p.name for p in paths.LEADERBOARD_DIR.glob("*.js"))
    assert sorted(sources) == on_disk, "every script on disk is loaded, and only those"
    assert set(sources) | {"index.html", "style.css"} <= set(SITE_FILES)
    assert " style=" not in html and not re.search(r"\son[a-z]+=", html)  # blocked by the CSP
    for name in ("index.html", "style.css", *sources):
        text = (paths.LEADERBOARD_DIR / name).read_text(encoding="utf-8")
        for sink in ("innerHTML", "insertAdjacentHTML", "outerHTML", "document.write", "eval("):
            assert sink not in text, f"{name}: {sink}"


@pytest.mark.browser
def test_an_inline_script_or_handler_never_runs(browser, tmp_path):
    site = copy_site(paths.LEADERBOARD_DIR, tmp_path / "site")
    for name in ("leaderboard.json", "leaderboard_tasks.json"):
        shutil.copyfile(paths.LEADERBOARD_DIR / name, site / name)
    index = site / "index.html"
    index.write_text(index.read_text().replace(
        "<body>", '<body><script>window.__inline = 1</script><svg onload="window.__handler = 1"></svg>'))
    with serve(site) as url:
        page = open_page(browser, url)
        assert len(shown_models(page)) == 41  # the site's own files still run
        assert page.evaluate("[window.__inline, window.__handler]") == [None, None]
        page.close()


@pytest.fixture(scope="module")
def site_url() -> Iterator[str]:
    """The committed site (its files and the JSON that test_leaderboard proves up to date)."""
    with serve(paths.LEADERBOARD_DIR) as url:
        yield url


@pytest.fixture(scope="module")
def extended_url(tmp_path_factory, writer_submission) -> Iterator[str]:
    with serve(extended_site_dir(tmp_path_factory.mktemp("extended"), writer_submission)) as url:
        yield url


@pytest.mark.browser
def test_shows_all_41_models_in_macro_order(browser, site_url, published, hand_scores):
    errors: list[str] = []
    page = open_page(browser, site_url, errors, width=1900, height=2300)
    expected = sorted(published, key=lambda m: -hand_scores(published[m]["results"]["full"], "MCC")[1])
    assert shown_models(page) == expected
    assert [t.split(" ")[0] for t in column_texts(page, "rank")] == [str(i) for i in range(1, 42)]
    first = published[expected[0]]["results"]["full"]
    assert column_texts(page, "macro")[0] == f"{hand_scores(first, 'MCC')[1]:.3f}"
    assert page.text_content("#status").startswith("Showing 41 of 41 models")
    badges = page.eval_on_selector_all('#board tbody td[data-key="submitted"] .badge',
                                       "b => b.map(x => x.textContent)")
    assert badges.count("official") == 40 and badges.count("self-reported") == 1
    assert column_texts(page, "extraction") == ["reference"] * 41
    assert page.is_hidden("#suite-banner")
    # the mark benchmarks/leaderboard_load.py times (set once, when the table is usable)
    page.wait_for_function("performance.getEntriesByName('geneb-table-ready').length === 1")
    assert errors == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "leaderboard.png"), full_page=True)
    page.close()


@pytest.mark.browser
def test_names_are_display_names_never_raw_ids(browser, site_url):
    page = open_page(browser, site_url)
    meta = default_model_meta()
    names = dict(zip(shown_models(page), column_texts(page, "disp"), strict=True))
    assert names == {model: meta[model].display for model in names}
    raw = sorted(m for m, name in names.items() if name == m and RAW_ID.fullmatch(m))
    assert raw == [], f"raw model ids shown as names (give their cards a display name): {raw}"
    page.close()


@pytest.mark.browser
def test_links_to_model_paper_and_card(browser, site_url):
    board = json.loads((paths.LEADERBOARD_DIR / "leaderboard.json").read_text())
    page = open_page(browser, site_url)
    links = page.eval_on_selector_all('#board tbody td[data-key="links"]', """cells => cells.map(c =>
        [c.parentElement.dataset.model, [...c.querySelectorAll('a')].map(a => [a.textContent, a.href, a.rel])])""")
    rows = {r["model"]: r for r in board["data"]["full"]}
    for model, anchors in links:
        row = rows[model]
        expected = [(label, url) for label, url in (("model", row["url"]), ("paper", row["paper"]),
                    ("card", row["card"] and board["card_base_url"] + row["card"])) if url]
        assert [(text, href) for text, href, _ in anchors] == expected, model
        assert all(rel == "noopener noreferrer" for _, _, rel in anchors)
    assert sum(len(a) for _, a in links) > 41 and board["card_base_url"].startswith("https://")
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
def test_provenance_zero_shot_and_extraction_filters(browser, extended_url, published):
    """41 published rows (40 official, 1 self-reported; reference extraction) plus a k-mer row
    made by GENEB's extractor and marked reproduced; two cards claim zero-shot."""
    page = open_page(browser, extended_url)
    assert len(shown_models(page)) == 42
    expected = {"official": set(published) - {"splicebert-1024nt"}, "verified": set(),
                "reproduced": {"kmer-4"}, "self-reported": {"splicebert-1024nt"}}
    for value, models in expected.items():
        page.select_option("#provenance", value)
        assert set(shown_models(page)) == models, value
        assert page.text_content("#status").startswith(f"Showing {len(models)} of 42 models")
    page.select_option("#provenance", "all")
    page.select_option("#zero-shot", "yes")
    assert set(shown_models(page)) == {"GROVER", "kmer-4"}
    page.select_option("#zero-shot", "no")
    assert len(shown_models(page)) == 40 and "GROVER" not in shown_models(page)
    page.select_option("#zero-shot", "all")
    page.select_option("#extraction", "geneb")
    assert shown_models(page) == ["kmer-4"]
    badge = page.locator('#board tr[data-model="kmer-4"] td[data-key="extraction"] .badge')
    assert badge.text_content() == "GENEB" and "uniform extractor" in badge.get_attribute("title")
    page.select_option("#extraction", "reference")
    assert set(shown_models(page)) == set(published)
    title = page.get_attribute('#board tr[data-model="hyenadna-large-1m-seqlen-hf"] '
                               'td[data-key="extraction"] .badge', "title")
    assert "left pads" in title and "Published run" in title  # the documented difference
    glossary = page.text_content(".help")
    assert "not strictly comparable" in glossary and "HyenaDNA" in glossary
    page.click("#tab-tasks")  # the filters hold in the task tab too
    page.wait_for_selector("body[data-view=tasks][data-ready=true]")
    assert set(shown_models(page)) == set(published)
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
def test_task_tab_narrowed_to_a_category_ranks_by_its_mean(browser, site_url, published, hand_scores):
    page = open_page(browser, site_url)
    page.click("#tab-tasks")
    page.wait_for_selector("body[data-view=tasks][data-ready=true]")
    for regime, category in (("full", "Splice Sites"), ("1shot", "Promoters")):
        page.click(f'#regime button[data-value="{regime}"]')
        page.select_option("#task-category", category)
        means = {m: hand_scores(s["results"][regime], "MCC")[0][category] for m, s in published.items()}
        macro = {m: hand_scores(s["results"][regime], "MCC")[1] for m, s in published.items()}
        by_category = sorted(means, key=lambda m: -means[m])
        assert by_category != sorted(macro, key=lambda m: -macro[m])  # the test can tell them apart
        assert shown_models(page) == by_category
        assert column_texts(page, "rank") == [str(i) for i in range(1, 42)]
        assert column_texts(page, f"cat:{category}") == [f"{means[m]:.3f}" for m in by_category]
        assert page.get_attribute(f'#board th[data-key="cat:{category}"]', "aria-sort") == "descending"
        assert f"sorted by {category} mean" in page.text_content("#status")
    page.select_option("#task-category", "")  # all categories: back to Macro, with intervals
    assert shown_models(page) == sorted(published, key=lambda m: -hand_scores(
        published[m]["results"]["1shot"], "MCC")[1])
    page.close()


@pytest.mark.browser
def test_rank_intervals_are_copyable_text(browser, site_url):
    board = json.loads((paths.LEADERBOARD_DIR / "leaderboard.json").read_text())
    page = open_page(browser, site_url)
    page.click('#regime button[data-value="1shot"]')
    cells = page.eval_on_selector_all('#board tbody td[data-key="rank"]', """cells => cells.map(c =>
        [c.parentElement.dataset.model, c.textContent, getComputedStyle(c, '::after').content])""")
    rows = {r["model"]: r for r in board["data"]["1shot"]}
    for model, text, after in cells:
        lo, hi = rows[model]["rank_ci_MCC"]
        assert text == f"{rows[model]['rank_MCC']} ({lo}-{hi})" and after in ("none", "normal")
    copied = page.evaluate("""() => {
        const range = document.createRange();
        range.selectNodeContents(document.querySelector('#board tbody td[data-key="rank"]'));
        getSelection().removeAllRanges(); getSelection().addRange(range);
        return getSelection().toString(); }""")
    assert copied == cells[0][1]
    page.click('#board th[data-key="micro"]')  # another sort: plain positions, no interval
    assert column_texts(page, "rank")[:3] == ["1", "2", "3"]
    page.close()


@pytest.mark.browser
def test_all_13_categories_readable_at_1400px(browser, site_url):
    page = open_page(browser, site_url, width=1400, height=900)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1400  # only the table scrolls
    headers = page.eval_on_selector_all('#board thead th[data-key^="cat:"]', "t => t.map(h => h.dataset.key)")
    assert len(headers) == 13
    for key in headers:
        seen = page.evaluate("""key => {
            const wrap = document.getElementById('table-wrap');
            const th = document.querySelector(`#board thead th[data-key="${key}"]`);
            const model = document.querySelector('#board tbody tr td[data-key="disp"]');
            // scroll the header just right of the sticky columns (or as far as the table goes)
            wrap.scrollLeft += th.getBoundingClientRect().left - model.getBoundingClientRect().right - 2;
            const w = wrap.getBoundingClientRect(), r = th.getBoundingClientRect();
            const m = model.getBoundingClientRect();
            const hit = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
            const name = document.elementFromPoint((m.left + m.right) / 2, (m.top + m.bottom) / 2);
            return {inside: r.left >= m.right - 1 && r.right <= w.right + 1, hit: th.contains(hit),
                    clipped: th.scrollWidth > th.clientWidth || th.scrollHeight > th.clientHeight,
                    font: parseFloat(getComputedStyle(th).fontSize), modelVisible: model.contains(name),
                    modelLeft: m.left - w.left, scrolled: wrap.scrollLeft};
        }""", key)
        assert seen["inside"] and seen["hit"] and not seen["clipped"] and seen["font"] >= 11, (key, seen)
        assert seen["modelVisible"] and 0 < seen["modelLeft"] < 120, (key, seen)
    assert seen["scrolled"] > 0  # the last categories needed the horizontal scroll
    page.close()


@pytest.mark.browser
def test_opened_from_disk_it_says_how_to_serve_it(browser):
    errors: list[str] = []
    page = browser.new_page()
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto((paths.LEADERBOARD_DIR / "index.html").as_uri())
    page.wait_for_selector("#status.error")
    message = page.text_content("#status")
    assert "python -m http.server -d leaderboard" in message and "Failed to fetch" not in message
    assert errors == []
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
    copy_site(paths.LEADERBOARD_DIR, site)

    with serve(site) as url:
        errors: list[str] = []
        page = open_page(browser, url, errors, width=1900, height=2300)
        page.wait_for_timeout(500)  # time for an injected image to fail and fire its handler
        assert len(shown_models(page)) == 42
        cell = page.locator('#board tr[data-model="xss-probe"] td[data-key="disp"]')
        assert cell.text_content() == PAYLOAD
        page.fill("#filter", "onerror")
        assert shown_models(page) == ["xss-probe"]
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "leaderboard_xss_as_text.png"))
        page.click("#tab-plots")  # the name as an SVG label
        assert PAYLOAD in page.text_content("#plots")
        cell.page.goto(url + "#model=xss-probe")  # and as the detail view's title
        page.wait_for_selector("body[data-detail=ready]")
        assert page.text_content("#detail-title") == PAYLOAD
        page.wait_for_timeout(300)
        assert page.evaluate("document.querySelectorAll('img').length") == 0
        assert page.evaluate("window.__genebXss") is None
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
    copy_site(paths.LEADERBOARD_DIR, site)
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
    copy_site(paths.LEADERBOARD_DIR, site)
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


@pytest.mark.browser
def test_a_long_table_draws_the_rows_in_view_and_all_of_them_on_scroll(browser, tmp_path):
    """410 rows: only those in the frame's view are in the DOM; scrolling brings every one, in
    order, and sorting and filtering still apply to all of them."""
    site = big_site_dir(tmp_path, copies=10)
    rows = json.loads((site / "leaderboard.json").read_text())["data"]["full"]
    by_micro = [r["model"] for r in sorted(rows, key=lambda r: (-r["micro_MCC"], r["model"]))]
    with serve(site) as url:
        errors: list[str] = []
        page = open_page(browser, url, errors, width=1400, height=900)
        assert page.get_attribute("#board", "data-rows") == "410"
        assert page.text_content("#status").startswith("Showing 410 of 410 models")
        page.click('#board th[data-key="micro"]')
        seen: list[str] = []
        for _ in range(200):
            drawn = shown_models(page)
            assert 0 < len(drawn) < 100
            seen += [m for m in drawn if m not in seen]
            if page.evaluate("(w => w.scrollTop + w.clientHeight >= w.scrollHeight - 1)"
                             "(document.getElementById('table-wrap'))"):
                break
            page.evaluate("document.getElementById('table-wrap').scrollBy(0, 500)")
            page.wait_for_timeout(50)
        assert seen == by_micro
        lowest = min(r["micro_MCC"] for r in rows)  # tied rows share a position
        assert column_texts(page, "rank")[-1] == str(1 + sum(r["micro_MCC"] > lowest for r in rows)) == "401"
        page.fill("#filter", "#3")
        assert len(shown_models(page)) == 41 and page.get_attribute("#board", "data-rows") == "41"
        page.fill("#filter", "")
        page.click("#tab-tasks")
        page.wait_for_selector("body[data-view=tasks][data-ready=true]")
        assert page.get_attribute("#board", "data-rows") == "410" and len(shown_models(page)) < 100
        assert errors == []
        page.close()
