"""Shared fixtures: the repository's spec and real lite task data."""

from __future__ import annotations

import os
import tempfile

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# trust_remote_code models (HyenaDNA) copy their code under HF_HOME: keep it writable and private
os.environ.setdefault("HF_HOME", os.path.join(tempfile.gettempdir(), "geneb-test-hf-home"))
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")

from stages.spec import BenchmarkSpec, default_spec  # noqa: E402


@pytest.fixture(scope="session")
def spec() -> BenchmarkSpec:
    return default_spec()


@pytest.fixture(scope="session")
def lite(spec: BenchmarkSpec):
    return spec.suite("lite")


@pytest.fixture(scope="session")
def published() -> dict:
    """The 41 published submissions as parsed JSON, keyed by model id."""
    import json

    from stages import paths

    return {p.stem: json.loads(p.read_text(encoding="utf-8"))
            for p in sorted(paths.SUBMISSIONS_DIR.glob("*.json"))}


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by playwright (never a downloaded browser)."""
    from pathlib import Path

    from helpers import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; .ci/run installs Debian's chromium")
        pytest.skip(f"no Chromium at {CHROMIUM} (set GENEB_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def hand_scores(spec: BenchmarkSpec):
    """Category, Macro and Micro recomputed with plain loops straight from the spec's task list,
    independently of stages.aggregate: (results of one regime, metric) -> (cats, macro, micro)."""

    from helpers import hand_categories

    def compute(regime_results: dict, metric: str) -> tuple[dict, float, float]:
        values = {task.id: regime_results[task.id][metric] for task in spec.tasks}
        cats = hand_categories(values, spec)
        return cats, sum(cats.values()) / len(cats), sum(values.values()) / len(values)

    return compute


@pytest.fixture(scope="session")
def writer_submission(spec: BenchmarkSpec):
    """Factory: a submission exactly as ``geneb run`` writes it (run settings, exact numbers and
    noise floor included) for a suite, with made-up but consistent per-seed scores for the k-mer
    baseline."""
    import numpy as np

    from stages.exact_probe import ExactRegimeResult
    from stages.extractors.registry import get_model_entry
    from stages.noise_floor import NoiseFloor
    from stages.probe import RegimeResult
    from stages.submission_build import build_submission

    def make(suite_name: str = "lite") -> dict:
        suite = spec.suite(suite_name)
        rng = np.random.default_rng(0)
        results: dict = {}
        exact: dict = {}
        floor: dict = {regime: {} for regime in spec.regimes}
        n = len(spec.protocol.seeds)
        for task_id in suite.task_ids:
            results[task_id], exact[task_id] = {}, {}
            for regime in spec.regimes:
                acc = rng.uniform(0.5, 0.9, size=n).tolist()
                per_seed = {"MCC": [2 * a - 1 for a in acc], "Acc": acc, "F1": acc}
                results[task_id][regime] = RegimeResult(
                    per_seed=per_seed, seeds=list(spec.protocol.seeds), converged=[True] * n,
                    n_iter=[12] * n)
                exact[task_id][regime] = ExactRegimeResult(
                    per_seed={m: [v + 0.01 for v in values] for m, values in per_seed.items()},
                    seeds=list(spec.protocol.seeds), converged=[True] * n, n_iter=[6] * n,
                    grad_max=[1e-16] * n, ties=[0] * n, min_margin=[1e-4] * n)
                floor[regime][task_id] = {m: float(rng.uniform(0, 0.004)) for m in per_seed}
        hashes = {t: {"train": "0" * 32, "test": "f" * 32} for t in suite.task_ids}
        return build_submission(get_model_entry("kmer-4"), suite, spec, results,
                                extractor={"family": "kmer", "settings": {"options": {"k": 4}}},
                                data_hashes=hashes, exact=exact,
                                noise=NoiseFloor(["perturbation 1"], floor)).to_json()

    return make
