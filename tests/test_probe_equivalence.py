"""The fast probe gives exactly the numbers of the plain published protocol, on real lite data."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import kmer_arrays

from stages.probe import few_shot_indices, probe_task
from stages.probe_reference import reference_probe
from stages.taskdata import load_task

TASKS = ["leannmlindsey_GUE_mouse_3", "leannmlindsey_GUE_prom_core_tata", "leannmlindsey_GUE_human_tf_2"]


@pytest.fixture(scope="module", params=TASKS)
def embedded(request, lite):
    return kmer_arrays(lite, request.param)


def test_probe_equals_plain_protocol(embedded, spec):
    train_X, train_y, test_X, test_y = embedded
    fast = probe_task(train_X, train_y, test_X, test_y, spec.protocol, spec.regimes)
    plain = reference_probe(train_X, train_y, test_X, test_y, list(spec.protocol.seeds),
                            list(spec.protocol.few_shot_k), spec.protocol.max_iter)
    assert set(fast) == set(plain) == {"full", "10shot", "1shot"}
    for regime in plain:
        for metric, values in plain[regime].items():
            assert fast[regime].per_seed[metric] == pytest.approx(values, abs=0, rel=0), (regime, metric)


def test_full_regime_single_fit_equals_five_fits(embedded, spec):
    """lbfgs ignores random_state: the five published full-regime fits are one fit, five times."""
    train_X, train_y, test_X, test_y = embedded
    plain = reference_probe(train_X, train_y, test_X, test_y, list(spec.protocol.seeds), [],
                            spec.protocol.max_iter)["full"]
    for metric, values in plain.items():
        assert len(set(values)) == 1, metric
    fast = probe_task(train_X, train_y, test_X, test_y, spec.protocol, ("full",))["full"]
    assert fast.per_seed["MCC"] == plain["MCC"]
    assert fast.mean["MCC"] == np.mean(plain["MCC"])
    assert fast.std["MCC"] == np.std(plain["MCC"]) < 1e-12


def test_few_shot_draw_is_the_published_sequence():
    labels = np.array([1, 0, 2, 1, 0, 2, 1, 0, 2, 0, 1, 2, 1])
    rng = np.random.RandomState(17)
    expected = np.concatenate([
        rng.choice(np.where(labels == c)[0], size=min(3, int((labels == c).sum())), replace=False)
        for c in (0, 1, 2)
    ])
    assert few_shot_indices(labels, 3, 17).tolist() == expected.tolist()
    drawn = few_shot_indices(labels, 10, 17)  # k above a class's count takes the whole class
    assert sorted(drawn.tolist()) == list(range(len(labels)))
    many = np.repeat([0, 1], 50)
    assert few_shot_indices(many, 10, 13).tolist() != few_shot_indices(many, 10, 42).tolist()


def test_few_shot_subsets_depend_only_on_labels_and_seed(spec, lite):
    """Every model is fit on the same rows: two different embeddings give the same subsets."""
    task = load_task(lite.data_dir, "leannmlindsey_GUE_mouse_2")
    a = [few_shot_indices(task.train.labels, 10, s).tolist() for s in spec.protocol.seeds]
    b = [few_shot_indices(task.train.labels.copy(), 10, s).tolist() for s in spec.protocol.seeds]
    assert a == b
    assert all(len(rows) == 20 for rows in a)
