"""Where the repository keeps things; every module asks here instead of building paths itself."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCHMARK_DIR = REPO_ROOT / "benchmark"
SCHEMA_DIR = BENCHMARK_DIR / "schema"
SPEC_PATH = BENCHMARK_DIR / "benchmark_spec.json"
SUITES_PATH = BENCHMARK_DIR / "suites.json"
MODEL_META_PATH = BENCHMARK_DIR / "model_meta.json"
DATA_DIR = REPO_ROOT / "data"
SUBMISSIONS_DIR = REPO_ROOT / "submissions"
LEADERBOARD_DIR = REPO_ROOT / "leaderboard"
