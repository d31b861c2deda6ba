"""Extractor contract without a model: settings, registry of the 40 published models, and the
shared windowing / batching / pooling helpers."""

from __future__ import annotations

import importlib
import os
import re

import numpy as np
import pytest
import torch

from stages import paths
from stages.extractors import batching
from stages.extractors.base import ExtractorSettings, report_delta
from stages.extractors.hf import OPTIONS, ExtractorLoadError
from stages.extractors.registry import family_module, get_model_entry, load_extractor, registered_models
from stages.model_meta import default_model_meta, model_card


def official_ids() -> list[str]:
    return sorted(k for k, v in default_model_meta().items() if v.provenance == "official")


# -- settings ------------------------------------------------------------------------------------

def test_batch_size_is_runtime_only_but_pooling_changes_the_fingerprint():
    base = ExtractorSettings(dtype="auto")
    assert base.fingerprint() == ExtractorSettings(dtype="auto", batch_size=3, batch_tokens=99).fingerprint()
    assert "batch_size" not in base.vector_json() and "batch_size" in base.to_json()
    assert base.fingerprint() != ExtractorSettings(dtype="auto", pooling="cls").fingerprint()
    assert base.fingerprint() != ExtractorSettings(dtype="auto", window_stride=10).fingerprint()


def test_report_delta_differences_counters_and_keeps_descriptions():
    before = {"sequences": 10, "seconds": 1.5, "runtime": {"batch_size": 64}}
    after = {"sequences": 25, "seconds": 4.0, "runtime": {"batch_size": 32}, "windows": 3}
    assert report_delta(before, after) == {"sequences": 15, "seconds": 2.5,
                                           "runtime": {"batch_size": 32}, "windows": 3}


# -- registry ------------------------------------------------------------------------------------

def test_all_40_published_models_are_registered_with_a_loadable_family():
    entries = registered_models()
    ids = official_ids()
    assert len(ids) == 40
    assert sorted(set(ids) - set(entries)) == []
    for model_id in ids:
        entry = entries[model_id]
        module = importlib.import_module(family_module(entry.extractor))
        assert callable(module.load), entry.extractor
        assert entry.published_run, f"{model_id}: says nothing about how the published run embedded"
        assert entry.source, model_id
        assert entry.revision is None or re.fullmatch(r"[0-9a-f]{40}", entry.revision), model_id


def test_registry_settings_are_valid_for_their_family():
    for model_id, entry in registered_models().items():
        options = set(entry.settings.options)
        if entry.extractor == "external":
            assert options == {"needs"}, model_id
        elif entry.extractor != "kmer":
            assert options <= OPTIONS, (model_id, options - OPTIONS)
            assert entry.settings.dtype == "auto", model_id  # bf16 on GPU, fp32 on CPU
            assert entry.settings.padding_side == "right", model_id
            assert entry.settings.pooling == "mean" and entry.settings.special_tokens == "exclude"
    families = {e.extractor for e in registered_models().values()}
    assert {"hf_masked_lm", "hf_causal", "hyena", "caduceus", "kmer"} <= families


def test_anticapt_entry_is_labelled_as_a_fine_tune():
    entry = get_model_entry("hyenadna-tiny-1k-anticapt")
    assert entry.extractor == "hyena" and entry.source.startswith("package:anticapt/")
    card = model_card("hyenadna-tiny-1k-anticapt")
    assert "fine-tune" in card.display.lower() and "LongSafari/hyenadna-tiny-1k-seqlen-hf" in card.training_data


def test_caduceus_fails_clearly_on_cpu_before_any_download():
    entry = get_model_entry("caduceus-ph_seqlen-1k_d_model-256_n_layer-4_lr-8e-3")
    with pytest.raises(ExtractorLoadError, match=r"caduceus-ph.*CUDA-only mamba-ssm.*cpu"):
        load_extractor(entry, device="cpu")


def test_external_models_say_what_they_need():
    with pytest.raises(ExtractorLoadError, match=r"evo-1-131k-base: .*evo-model package"):
        load_extractor(get_model_entry("evo-1-131k-base"), device="cpu")


def test_half_precision_is_refused_on_cpu():
    assert batching.resolve_dtype("m", "auto", "cpu") == "float32"
    with pytest.raises(ValueError, match=r"m: dtype bfloat16 is only allowed on a GPU"):
        batching.resolve_dtype("m", "bfloat16", "cpu")


# -- windows -------------------------------------------------------------------------------------

def test_windows_cover_every_token_with_the_declared_stride():
    assert batching.window_starts(10, 4, 4) == [0, 4, 8]
    assert batching.window_starts(4, 4, 4) == [0]
    assert batching.window_starts(10, 4, 3) == [0, 3, 6]
    with pytest.raises(ValueError, match="would skip tokens"):
        batching.window_starts(10, 4, 5)
    plan = batching.plan_windows([list(range(10)), [7]], prefix=[100], suffix=[101], max_length=6)
    assert plan.rows == [[100, 0, 1, 2, 3, 101], [100, 4, 5, 6, 7, 101], [100, 8, 9, 101], [100, 7, 101]]
    assert plan.owner.tolist() == [0, 0, 0, 1] and plan.windowed == 1
    covered = [t for row in plan.rows[:3] for t in row[1:-1]]
    assert covered == list(range(10))  # nothing truncated, nothing repeated without overlap


def test_windows_refuse_a_length_with_no_room_for_content():
    with pytest.raises(ValueError, match="no room for content"):
        batching.plan_windows([[1, 2]], prefix=[0], suffix=[9], max_length=2)


# -- batches, padding, pooling -------------------------------------------------------------------

def test_batches_are_length_sorted_and_respect_both_limits():
    lengths = [5, 50, 7, 50, 20, 3]
    batches = batching.length_batches(lengths, batch_size=2, batch_tokens=100)
    assert [b.tolist() for b in batches] == [[1, 3], [4, 2], [0, 5]]
    tight = batching.length_batches(lengths, batch_size=8, batch_tokens=60)
    assert all(len(b) * max(lengths[i] for i in b) <= 60 for b in tight)
    same = batching.length_batches([4, 4, 3, 3, 3], batch_size=8, batch_tokens=1000, same_length=True)
    assert [b.tolist() for b in same] == [[0, 1], [2, 3, 4]]


def test_pad_rows_and_pool_mask_for_both_sides():
    rows = [[1, 2, 3, 4], [5, 6]]
    ids, mask = batching.pad_rows(rows, pad_id=0, side="left")
    assert ids.tolist() == [[1, 2, 3, 4], [0, 0, 5, 6]] and mask.tolist() == [[1, 1, 1, 1], [0, 0, 1, 1]]
    keep = batching.pool_mask(rows, 4, "left", n_prefix=1, n_suffix=0, special_tokens="exclude")
    assert keep.tolist() == [[False, True, True, True], [False, False, False, True]]
    keep = batching.pool_mask(rows, 4, "right", n_prefix=1, n_suffix=1, special_tokens="include")
    assert keep.tolist() == [[True] * 4, [True, True, False, False]]


def test_pool_ignores_pads_even_when_they_hold_nan():
    hidden = torch.tensor([[[1.0], [3.0], [float("nan")]], [[2.0], [4.0], [6.0]]])
    mask = torch.tensor([[True, True, False], [False, True, True]])
    mean, counts = batching.pool(hidden, mask, "mean")
    assert mean.flatten().tolist() == [2.0, 5.0] and counts.tolist() == [2, 2]
    assert batching.pool(hidden, mask, "cls")[0].flatten().tolist() == [1.0, 4.0]
    assert batching.pool(hidden, mask, "last")[0].flatten().tolist() == [3.0, 6.0]


def test_aggregate_is_the_token_weighted_mean_of_windows():
    vectors = np.array([[1.0, 0.0], [3.0, 2.0], [5.0, 5.0]])
    out = batching.aggregate(vectors, np.array([3, 1, 2]), np.array([0, 0, 1]), 2)
    assert np.allclose(out, [[1.5, 0.5], [5.0, 5.0]])


def test_unwritable_hf_home_is_replaced_before_transformers_is_imported(tmp_path):
    import subprocess
    import sys

    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    code = ("import os, sys; from stages.extractors.hf import prepare_hf_home; prepare_hf_home(); "
            "assert 'transformers' not in sys.modules; print(os.environ['HF_HOME'])")
    env = {**os.environ, "HF_HOME": str(locked / "hf"), "PYTHONPATH": str(paths.REPO_ROOT)}
    if os.access(locked, os.W_OK):  # root ignores permission bits: use a path under a file instead
        (tmp_path / "file").write_text("")
        env["HF_HOME"] = str(tmp_path / "file" / "hf")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("geneb-hf-home")
