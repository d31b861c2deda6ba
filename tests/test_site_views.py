"""The leaderboard's model detail view and its plots, in a real headless Chromium: every bar and
every drawn mark is read back and compared with the JSON it was drawn from (model and value), the
card facts and links are the catalogue's, run settings and noise floor show where a result has
them. Screenshot of a detail view: tests/artifacts/leaderboard_detail.png."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import open_page, serve
from site_helpers import ARTIFACTS, extended_site_dir

from stages import paths
from stages.model_meta import default_model_meta


@pytest.fixture(scope="module")
def extended(tmp_path_factory, writer_submission) -> Iterator[tuple[str, Path]]:
    site = extended_site_dir(tmp_path_factory.mktemp("extended"), writer_submission)
    with serve(site) as url:
        yield url, site


def load(site: Path) -> tuple[dict, dict]:
    return tuple(json.loads((site / name).read_text()) for name in ("leaderboard.json", "leaderboard_tasks.json"))


def open_detail(page, model: str) -> None:
    page.click(f'#board tr[data-model="{model}"] td[data-key="disp"] a')
    page.wait_for_selector("body[data-detail=ready]")


def bars(page, kind: str) -> dict[str, tuple[float, str | None]]:
    marks = page.eval_on_selector_all(f'#model-dialog rect[data-kind="{kind}"]',
                                      "ms => ms.map(m => [m.dataset.key, m.dataset.value, m.dataset.noise || null])")
    return {key: (float(value), noise) for key, value, noise in marks}


def facts(page) -> dict[str, str]:
    return dict(page.eval_on_selector_all(
        "#detail-facts dt", "ts => ts.map(t => [t.textContent, t.nextElementSibling.textContent])"))


@pytest.mark.browser
def test_detail_view_of_a_published_model(browser, extended, spec):
    url, site = extended
    board, tasks = load(site)
    errors: list[str] = []
    page = open_page(browser, url, errors, width=1400, height=1000)
    model = "hyenadna-large-1m-seqlen-hf"
    card = default_model_meta()[model]
    open_detail(page, model)
    assert page.evaluate("location.hash") == f"#model={model}"
    assert page.text_content("#detail-title") == card.display
    shown = facts(page)
    assert shown["Architecture"] == card.architecture and shown["Tokenisation"] == card.tokenization
    assert shown["Pretraining data"] == (card.training_data or "not documented")
    assert shown["Zero-shot"] == ("yes" if card.zero_shot else "no") and shown["Source"] == card.provenance
    assert "left pads" in shown["Extraction"] and shown["Extraction"].startswith("reference")
    hrefs = page.eval_on_selector_all(".detail-links a", "as => as.map(a => [a.textContent, a.href])")
    assert ["Model page", card.url] in hrefs
    assert (["Paper", card.paper] in hrefs) == bool(card.paper)

    row = next(r for r in board["data"]["full"] if r["model"] == model)
    assert bars(page, "category") == {c: (v, None) for c, v in row["cat_MCC"].items()}
    task_row = next(r for r in tasks["data"]["full"] if r["model"] == model)
    assert bars(page, "task") == {t: (v, None) for t, v in task_row["task_MCC"].items()}
    assert len(bars(page, "task")) == len(spec.task_ids) == 100
    assert page.text_content("#detail-run").startswith("published result: no run settings recorded")
    assert page.text_content("#detail-noise").startswith("no machine noise floor recorded")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "leaderboard_detail.png"))

    page.click("#detail-close")
    assert not page.is_visible("#model-dialog") and page.evaluate("location.hash") == ""
    page.click('#regime button[data-value="1shot"]')
    page.click('#metric button[data-value="F1"]')
    open_detail(page, "GROVER")  # the regime and metric shown are the detail's
    row = next(r for r in board["data"]["1shot"] if r["model"] == "GROVER")
    assert bars(page, "category") == {c: (v, None) for c, v in row["cat_F1"].items()}
    assert errors == []
    page.close()


@pytest.mark.browser
def test_detail_view_of_a_geneb_row_shows_run_settings_and_noise_floor(browser, extended):
    url, site = extended
    board, tasks = load(site)
    submission = json.loads((site / "kmer-4.submission.json").read_text())
    settings = submission["run_settings"]
    page = open_page(browser, url + "#model=kmer-4")  # the address alone opens it
    page.wait_for_selector("body[data-detail=ready]")
    assert page.text_content("#detail-title") == default_model_meta()["kmer-4"].display
    assert facts(page)["Extraction"].startswith("GENEB")
    assert facts(page)["Architecture"] == (default_model_meta()["kmer-4"].architecture or "not documented")
    run = dict(page.eval_on_selector_all(
        "#detail-run dt", "ts => ts.map(t => [t.textContent, t.nextElementSibling.textContent])"))
    assert run["Extractor family"] == settings["extractor"]["family"] == "kmer"
    declared = settings["extractor"].get("declared_settings") or settings["extractor"]["settings"]
    assert run["Declared settings"] == ", ".join(
        f"{k}={json.dumps(v, separators=(',', ':')) if isinstance(v, dict) else v}"
        for k, v in declared.items() if v not in (None, {}, [])) != ""
    assert run["Harness"] == settings["harness_version"]
    assert run["Code revision"] == settings["code_revision"]
    assert run["Data revision"] == f"{settings['dataset']['repo_id']}@{settings['dataset']['revision']}"
    assert run["torch / transformers"] == f"{settings['packages']['torch']} / {settings['packages']['transformers']}"
    blas = settings["machine"]["probe"]["blas"][0]
    assert f"{blas['vendor']} {blas['version']}" in run["BLAS (probe)"]
    floors = settings["noise_floor"]["results"]["full"]
    task_bars = page.eval_on_selector_all('#model-dialog rect[data-kind="task"]',
                                          "ms => ms.map(m => [m.dataset.key, Number(m.dataset.noise)])")
    assert dict(task_bars) == {t: f["MCC"] for t, f in floors.items()}
    noise = next(r for r in board["data"]["full"] if r["model"] == "kmer-4")["noise_MCC"]
    assert f"Macro ±{noise['macro']:.3f}" in page.text_content("#detail-noise") or noise["macro"] < 0.001
    page.keyboard.press("Escape")  # a dialog closes on Escape; the address follows
    page.wait_for_function("location.hash === ''")
    page.close()


def read_marks(page) -> list[dict]:
    return page.eval_on_selector_all("#plots [data-mark]", """ms => ms.map(m => {
        const dot = m.tagName === 'circle' ? m : m.querySelector('circle');
        const line = m.querySelector('line');
        return {...m.dataset, cx: dot && Number(dot.getAttribute('cx')), cy: dot && Number(dot.getAttribute('cy')),
                x1: line && Number(line.getAttribute('x1')), x2: line && Number(line.getAttribute('x2')),
                y: m.tagName === 'rect' ? Number(m.getAttribute('y')) : null};
    })""")


def check_marks(marks: list[dict], rows: list[dict], metric: str) -> None:
    """Every mark against the JSON row of its model; fails on any disagreement."""
    by_model = {r["model"]: r for r in rows}
    size = [m for m in marks if m["mark"] == "size"]
    assert {m["model"] for m in size} == {r["model"] for r in rows if r["params"] > 0}
    for m in size:
        assert float(m["value"]) == by_model[m["model"]][f"macro_{metric}"], m
        assert int(m["params"]) == by_model[m["model"]]["params"], m
    by_value = sorted(size, key=lambda m: float(m["value"]))
    assert [m["cy"] for m in by_value] == sorted((m["cy"] for m in size), reverse=True)  # higher is better
    by_params = sorted(size, key=lambda m: int(m["params"]))
    assert [m["cx"] for m in by_params] == sorted(m["cx"] for m in size)

    ranks = [m for m in marks if m["mark"] == "rank"]
    assert {m["model"] for m in ranks} == set(by_model)
    for m in ranks:
        row = by_model[m["model"]]
        assert (int(m["rank"]), [int(m["lo"]), int(m["hi"])]) == (row[f"rank_{metric}"], row[f"rank_ci_{metric}"]), m
    first, last = min(ranks, key=lambda m: int(m["rank"])), max(ranks, key=lambda m: int(m["rank"]))
    slope = (last["cx"] - first["cx"]) / (int(last["rank"]) - int(first["rank"]))
    x = lambda rank: first["cx"] + slope * (rank - int(first["rank"]))  # noqa: E731
    for m in ranks:  # the drawn positions are the ranks
        assert [m["cx"], m["x1"], m["x2"]] == pytest.approx([x(int(m[k])) for k in ("rank", "lo", "hi")], abs=1e-6), m

    heat = [m for m in marks if m["mark"] == "heat"]
    assert len(heat) == sum(v is not None for r in rows for v in r[f"cat_{metric}"].values())
    for m in heat:
        assert float(m["value"]) == by_model[m["model"]][f"cat_{metric}"][m["category"]], m
    top = {m["model"]: m["y"] for m in heat}
    assert sorted(top, key=top.get) == sorted(by_model, key=lambda model: -by_model[model][f"macro_{metric}"])


@pytest.mark.browser
def test_plots_are_drawn_from_the_json_and_agree_with_it(browser, extended):
    url, site = extended
    board, _ = load(site)
    errors: list[str] = []
    page = open_page(browser, url, errors, width=1400, height=1000)
    page.click("#tab-plots")
    page.wait_for_selector("#plot-heatmap")
    assert page.is_hidden("#table-wrap")
    for regime, metric in (("full", "MCC"), ("10shot", "Acc"), ("1shot", "F1")):
        page.click(f'#regime button[data-value="{regime}"]')
        page.click(f'#metric button[data-value="{metric}"]')
        check_marks(read_marks(page), board["data"][regime], metric)
    page.select_option("#provenance", "official")  # the plots follow the filters
    check_marks(read_marks(page), [r for r in board["data"]["1shot"] if r["submitted"] == "official"], "F1")
    labels = page.eval_on_selector_all("#plot-ranks text.bar-label", "ts => ts.map(t => t.textContent)")
    official = sorted((r for r in board["data"]["1shot"] if r["submitted"] == "official"),
                      key=lambda r: (r["rank_F1"], r["model"]))
    assert labels == [r["disp"] for r in official]
    page.select_option("#provenance", "all")
    page.click('#regime button[data-value="full"]')
    page.click('#metric button[data-value="MCC"]')
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "leaderboard_plots.png"), full_page=True)
    assert errors == []
    page.close()


def test_the_site_ships_no_picture_files():
    """Plots are drawn in the page, so nothing can go stale: no SVG or PNG files in the site."""
    assert not list(paths.LEADERBOARD_DIR.rglob("*.svg")) and not list(paths.LEADERBOARD_DIR.rglob("*.png"))
    html = (paths.LEADERBOARD_DIR / "index.html").read_text(encoding="utf-8")
    assert "plots/" not in html and ".svg" not in html
