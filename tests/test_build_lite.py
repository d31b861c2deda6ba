"""The committed lite suite is exactly what the re-runnable build script makes from real GUE data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stages.build_lite import DEFAULT_SOURCE, build_task, subsample_indices

pytestmark = pytest.mark.skipif(not DEFAULT_SOURCE.is_dir(), reason="shared/data/gue not beside the checkout")


@pytest.mark.parametrize("task_id", ["leannmlindsey_GUE_prom_core_all", "leannmlindsey_GUE_mouse_3"])
def test_rebuild_is_byte_identical(tmp_path, lite, task_id):
    rule = lite.subsample_rule
    build_task(DEFAULT_SOURCE, tmp_path, task_id, {"train": rule["max_train"], "test": rule["max_test"]},
               rule["seed"])
    for split in ("train", "test"):
        assert (tmp_path / task_id / f"{split}.csv").read_bytes() == \
            (lite.data_dir / task_id / f"{split}.csv").read_bytes()


def test_subsample_is_stratified_and_ordered(lite):
    source = pd.read_csv(DEFAULT_SOURCE / "leannmlindsey_GUE_prom_core_all" / "train.csv")
    labels = source["label"].to_numpy()
    kept = subsample_indices(labels, 2000, lite.subsample_rule["seed"])
    assert len(kept) == 2000 and np.all(np.diff(kept) > 0)
    assert abs(labels[kept].mean() - labels.mean()) < 0.001
    lite_rows = pd.read_csv(lite.data_dir / "leannmlindsey_GUE_prom_core_all" / "train.csv")
    assert lite_rows["text"].tolist() == source["sequence"].iloc[kept].tolist()
    assert list(lite_rows.columns) == ["text", "label"]


def test_small_splits_are_kept_whole(lite):
    source = pd.read_csv(DEFAULT_SOURCE / "leannmlindsey_GUE_mouse_3" / "test.csv")
    kept = pd.read_csv(lite.data_dir / "leannmlindsey_GUE_mouse_3" / "test.csv")
    assert kept["text"].tolist() == source["sequence"].tolist()
