"""The noise floor: emulated machines really run other BLAS kernels, perturbed refits are seeded,
and the floor is the largest move of each task mean, on real lite data."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import kmer_arrays

from stages.embedding_files import TaskEmbeddings, save_embeddings
from stages.machine import current_kernel, supported_kernels
from stages.noise_floor import machine_variants, means, noise_floor, perturbed_means, run_variant
from stages.probe import probe_task

TASK = "leannmlindsey_GUE_mouse_0"


@pytest.fixture(scope="module")
def task_file(tmp_path_factory, lite):
    path = tmp_path_factory.mktemp("noise") / f"{TASK}.npz"
    save_embeddings(path, TaskEmbeddings(*kmer_arrays(lite, TASK), {}))
    return path


def test_floor_is_the_largest_move_of_each_task_mean():
    recorded = {"t": {"full": {"MCC": 0.50, "Acc": 0.75}}}
    variants = {"a": {"t": {"full": {"MCC": 0.51, "Acc": 0.75}}},
                "b": {"t": {"full": {"MCC": 0.48, "Acc": 0.76}}}}
    floor = noise_floor(recorded, variants, {"c": "exit 132"})
    assert floor.results["full"]["t"] == pytest.approx({"MCC": 0.02, "Acc": 0.01})
    assert floor.to_json()["skipped"] == {"c": "exit 132"} and floor.variants == ["a", "b"]
    assert noise_floor(recorded, {}).results["full"]["t"] == {"MCC": 0.0, "Acc": 0.0}


def test_each_emulated_machine_runs_the_kernel_it_names(task_file):
    variants = machine_variants()
    if current_kernel() is None:
        pytest.skip("numpy's BLAS is not OpenBLAS: no kernels to emulate")
    assert len(supported_kernels()) >= 2, "an x86-64 CPU runs at least Prescott and Sandybridge"
    assert any(name.startswith("threads") for name in variants)
    for name, env in variants.items():
        ran = run_variant([task_file], env)
        assert (ran["kernel"], str(ran["threads"])) == (env["OPENBLAS_CORETYPE"],
                                                        env["OPENBLAS_NUM_THREADS"]), name
        assert set(ran["tasks"][str(task_file)]) == {"full", "10shot", "1shot"}


def test_perturbed_refits_are_seeded_and_move_some_numbers(task_file, spec):
    from stages.embedding_files import read_embeddings

    emb = read_embeddings(task_file)
    arrays = (emb.train_X, emb.train_y, emb.test_X, emb.test_y)
    first = perturbed_means(*arrays, spec.protocol, spec.regimes, count=2)
    assert first == perturbed_means(*arrays, spec.protocol, spec.regimes, count=2)
    base = means(probe_task(*arrays, spec.protocol, spec.regimes))
    moved = [abs(p[r][m] - base[r][m]) for p in first for r in base for m in base[r]]
    assert max(moved) > 0, "refits at rounding level must move some protocol numbers"
    assert max(moved) < 0.05, "but only by rounding-level amounts"
    assert len(first) == 2 and set(first[0]) == {"full", "10shot", "1shot"}


def test_perturbation_moves_values_by_at_most_an_ulp():
    from stages.noise_floor import _perturbed

    X = np.random.default_rng(1).random((50, 7)).astype(np.float32)
    columns = np.arange(7)
    moved = _perturbed(X, columns, np.random.default_rng(2))
    ulps = np.abs(moved.view(np.int32) - X.view(np.int32))
    assert ulps.max() == 1 and (ulps == 1).mean() > 0.2


def test_without_machines_to_emulate_more_refits_and_a_calibrated_scale(task_file, spec,
                                                                        monkeypatch):
    """Any BLAS: eight perturbed refits, their largest move scaled by FALLBACK_SCALE (calibrated
    on real data against the kernel spread, docs/reproducibility.md)."""
    from stages import noise_floor as nf
    from stages.embedding_files import read_embeddings
    from stages.scoring import TaskScores, suite_noise_floor

    monkeypatch.setattr(nf, "machine_variants", lambda: {})
    emb = read_embeddings(task_file)
    arrays = (emb.train_X, emb.train_y, emb.test_X, emb.test_y)
    recorded = probe_task(*arrays, spec.protocol, spec.regimes)
    floor = suite_noise_floor({"t": task_file}, {"t": TaskScores(recorded, {})}, spec)
    assert floor.scale == nf.FALLBACK_SCALE and floor.method == f"perturbation x{nf.FALLBACK_SCALE:g}"
    assert len(floor.variants) == nf.FALLBACK_PERTURBATIONS == 8
    moves = perturbed_means(*arrays, spec.protocol, spec.regimes, nf.FALLBACK_PERTURBATIONS)
    base = means(recorded)
    for regime in base:
        for metric, value in base[regime].items():
            expected = nf.FALLBACK_SCALE * max(abs(m[regime][metric] - value) for m in moves)
            assert floor.results[regime]["t"][metric] == pytest.approx(expected, abs=1e-15)
