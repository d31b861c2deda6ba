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
