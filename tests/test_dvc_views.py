"""What ``dvc metrics`` and ``dvc plots`` show of the lite results in this working tree (real DVC, in
a scratch repository holding ``dvc.yaml``, ``params.yaml``, the plot template and the results):
the default metrics table fits a 120-column terminal with one row per model, the details are one
command away, every model's two plots carry its numbers, and ``dvc plots show`` / ``dvc plots
diff`` pages render in Chromium.

The expected numbers come from the committed submissions through :mod:`stages.aggregate`, not
from the files under test. DVC's HTML page loads Vega from a CDN, which tests cannot reach: the
browser test answers those three requests with the Vega, Vega-Lite and Vega-Embed bundle of the
``vl-convert-python`` wheel (the page itself is DVC's, unchanged) and asks for SVG output so the
bars can be counted and read.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from dvc_render.base import Renderer  # how DVC names a plot's <div>

from stages import paths
from stages.aggregate import submission_summary
from stages.dvc_reports import REPORT_FILES
from stages.dvc_scratch import commit_all, run, scratch_env
from stages.params import load_params
from stages.submission_store import load_submission

PARAMS = load_params(paths.REPO_ROOT / "params.yaml")
RESULTS = Path("results") / PARAMS.suite
MODELS = sorted(PARAMS.models)
WIDTH = 120


def rel(kind: str, model: str) -> str:
    return (RESULTS / REPORT_FILES[kind].format(model=model)).as_posix()


@pytest.fixture(scope="module")
def summaries(spec) -> dict[str, dict]:
    """Model -> the summary of its committed submission (every regime, metric and category)."""
    return {model: submission_summary(load_submission(
        paths.REPO_ROOT / RESULTS / "submissions" / f"{model}.json"), spec) for model in MODELS}


@pytest.fixture(scope="module")
def views(tmp_path_factory) -> Path:
    """A committed scratch repository with this tree's pipeline definition, template and results."""
    repo = tmp_path_factory.mktemp("dvc-views") / "repo"
    repo.mkdir()
    run(["git", "init", "-q", "-b", "main"], repo)
    run(["dvc", "init", "-q"], repo)
    for name in ("dvc.yaml", "params.yaml", ".dvc/plots", str(RESULTS)):
        source, target = paths.REPO_ROOT / name, repo / name
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)
    commit_all(repo, "results")
    return repo


def dvc(repo: Path, *args: str) -> str:
    return run(["dvc", *args], repo, env=scratch_env(repo, {"COLUMNS": str(WIDTH)})).output


def test_metrics_show_fits_120_columns_with_one_row_per_model(views, summaries, spec):
    lines = dvc(views, "metrics", "show").rstrip("\n").splitlines()
    assert max(map(len, lines)) <= WIDTH, "\n".join(lines)
    header, rows = lines[0].split(), [line.split() for line in lines[1:]]
    metric = spec.primary_metric
    regime_keys = {f"{metric}.{regime}": regime for regime in spec.regimes}
    assert header == ["Path", *sorted([*regime_keys, f"{metric}.full_micro"])]
    assert sorted(row[0] for row in rows) == [rel("metrics", model) for model in MODELS]
    for row in rows:
        model = Path(row[0]).stem
        summary = summaries[model]
        expected = {key: summary[regime][metric]["macro"] for key, regime in regime_keys.items()}
        expected[f"{metric}.full_micro"] = summary["full"][metric]["micro"]
        for key, cell in zip(header[1:], row[1:], strict=True):
            assert float(cell) == pytest.approx(expected[key], abs=5e-6), (model, key)  # 5 digits


def test_details_are_one_command_away(views, summaries):
    for model in MODELS:
        path = rel("details", model)
        shown = json.loads(dvc(views, "metrics", "show", path, "--json"))[""]["data"][path]["data"]
        assert shown == {"model_id": model, "suite": PARAMS.suite,
                         **json.loads(json.dumps(summaries[model]))}
    table = dvc(views, "metrics", "show", rel("details", MODELS[0])).splitlines()
    assert "full.MCC.categories.Promoters" in table[0].split()  # the 45-column view, on request


def _plots(repo: Path, *args: str) -> dict[str, dict]:
    """Plot id -> the Vega-Lite spec ``dvc plots`` makes for it (``--json``)."""
    shown = json.loads(dvc(repo, "plots", *args, "--json"))
    assert "errors" not in shown, shown["errors"]
    return {plot_id: renders[0]["content"] for plot_id, renders in shown["data"].items()}


def _rows(spec_json: dict, y: str, metric: str, rev: str = "workspace") -> dict[str, float]:
    return {point[y]: point[metric] for point in spec_json["data"]["values"] if point["rev"] == rev}


def test_plots_show_carries_each_models_numbers(views, summaries, spec):
    plots, metric = _plots(views, "show"), spec.primary_metric
    assert sorted(plots) == sorted(rel(kind, model) for model in MODELS
                                   for kind in ("categories", "regimes"))
    for model in MODELS:
        full = summaries[model]["full"][metric]
        categories, regimes = plots[rel("categories", model)], plots[rel("regimes", model)]
        assert _rows(categories, "category", metric) == full["categories"]
        assert _rows(regimes, "regime", metric) == {
            regime: summaries[model][regime][metric]["macro"] for regime in spec.regimes}
        for chart, y in ((categories, "category"), (regimes, "regime")):
            assert chart["title"]["text"].startswith(f"{model}: ")
            assert chart["encoding"]["x"]["field"] == metric and chart["encoding"]["y"]["field"] == y
            assert chart["encoding"]["x"]["scale"]["zero"] is True  # a bar's length is its score


@pytest.fixture(scope="module")
def changed(views) -> tuple[Path, str, str]:
    """The scratch repository after a change of one model's numbers: its plot files rewritten
    with another model's (as a pull request that changes its results would)."""
    if len(MODELS) < 2:
        pytest.fail("params.yaml evaluates fewer than two models; the diff test needs two")
    before, after = MODELS[0], MODELS[1]
    for kind in ("categories", "regimes"):
        shutil.copy2(views / rel(kind, after), views / rel(kind, before))
    return views, before, after


def test_plots_diff_shows_both_revisions(changed, summaries, spec):
    repo, before, after = changed
    plots, metric = _plots(repo, "diff", "HEAD"), spec.primary_metric
    chart = plots[rel("categories", before)]
    assert _rows(chart, "category", metric, "HEAD") == summaries[before]["full"][metric]["categories"]
    assert _rows(chart, "category", metric) == summaries[after]["full"][metric]["categories"]
    assert chart["encoding"]["yOffset"]["field"] == "rev"  # the revisions' bars side by side


def _offline_vega() -> str:
    try:
        import vl_convert
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("vl-convert-python is missing; `make setup` installs the test extras")
        pytest.skip("vl-convert-python is not installed (pip install '.[test]')")
    return vl_convert.javascript_bundle(
        "window.vega = vega; window.vegaLite = vegaLite;"
        "window.vegaEmbed = (el, spec, opts) => vegaEmbed(el, spec, {...opts, renderer: 'svg'});")


@pytest.mark.browser
def test_plots_pages_render_in_chromium(changed, browser, summaries, spec, tmp_path):
    repo, before, after = changed
    bundle = _offline_vega()
    pages = {"show": 1, "diff": 2}  # bars per row: one revision, or HEAD and the workspace
    for command, revisions in pages.items():
        out = tmp_path / command
        dvc(repo, "plots", command, *(["HEAD"] if command == "diff" else []), "-o", str(out))
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        page.route("https://cdn.jsdelivr.net/npm/**", lambda route: route.fulfill(
            content_type="application/javascript",
            body=bundle if "vega-embed" in route.request.url else "/* in the vega-embed bundle */"))
        page.goto((out / "index.html").as_uri())
        charts = 2 * len(MODELS)
        page.wait_for_function(f"document.querySelectorAll('svg.marks').length === {charts}",
                               timeout=20_000)
        assert errors == []
        for model in MODELS:
            for kind, names in (("categories", list(summaries[model]["full"]["MCC"]["categories"])),
                                ("regimes", list(spec.regimes))):
                plot = page.locator(f"#{Renderer.remove_special_chars(rel(kind, model))}")
                assert plot.locator("svg.marks").count() == 1
                labels = plot.locator("path[aria-roledescription=bar]").evaluate_all(
                    "bars => bars.map(bar => bar.getAttribute('aria-label'))")
                assert len(labels) == revisions * len(names), labels
                shown = [re.search(r"(?:category|regime): ([^;]+);", label)[1] for label in labels]
                assert sorted(set(shown)) == sorted(names)
        artifacts = paths.REPO_ROOT / "tests" / "artifacts"
        artifacts.mkdir(exist_ok=True)
        page.screenshot(path=str(artifacts / f"dvc_plots_{command}.png"), full_page=True)
        page.close()
