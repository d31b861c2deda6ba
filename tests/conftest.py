"""Shared fixtures: the repository's spec and real lite task data."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
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
def hand_scores(spec: BenchmarkSpec):
    """Category, Macro and Micro recomputed with plain loops straight from the spec's task list,
    independently of stages.aggregate: (results of one regime, metric) -> (cats, macro, micro)."""

    def compute(regime_results: dict, metric: str) -> tuple[dict, float, float]:
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        for task in spec.tasks:
            value = regime_results[task.id][metric]
            sums[task.category] = sums.get(task.category, 0.0) + value
            counts[task.category] = counts.get(task.category, 0) + 1
        cats = {name: sums[name] / counts[name] for name in sums}
        macro = sum(cats.values()) / len(cats)
        micro = sum(regime_results[t.id][metric] for t in spec.tasks) / len(spec.tasks)
        return cats, macro, micro

    return compute


@pytest.fixture(scope="session")
def writer_submission(spec: BenchmarkSpec):
    """Factory: a submission exactly as ``geneb run`` writes it (run settings included) for a
    suite, with made-up but consistent per-seed scores for the k-mer baseline."""
    import numpy as np

    from stages.extractors.registry import get_model_entry
    from stages.probe import RegimeResult
    from stages.submission import build_submission

    def make(suite_name: str = "lite") -> dict:
        suite = spec.suite(suite_name)
        rng = np.random.default_rng(0)
        results: dict = {}
        for task_id in suite.task_ids:
            results[task_id] = {}
            for regime in spec.regimes:
                acc = rng.uniform(0.5, 0.9, size=len(spec.protocol.seeds)).tolist()
                results[task_id][regime] = RegimeResult(
                    per_seed={"MCC": [2 * a - 1 for a in acc], "Acc": acc, "F1": acc},
                    seeds=list(spec.protocol.seeds), converged=[True] * len(acc))
        hashes = {t: {"train": "0" * 32, "test": "f" * 32} for t in suite.task_ids}
        return build_submission(get_model_entry("kmer-4"), suite, spec, results,
                                extractor={"family": "kmer", "settings": {"options": {"k": 4}}},
                                data_hashes=hashes)

    return make
