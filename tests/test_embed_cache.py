"""The per-task embedding cache: a hit never re-runs the model, a half-written file is never read,
and a run killed mid-task (a real subprocess, SIGKILL) resumes with identical results, recomputing
only the unfinished task."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from stages import paths
from stages.embed import embed_suite
from stages.embedding_files import read_embeddings
from stages.extractors.kmer import KmerExtractor
from stages.extractors.registry import get_model_entry
from stages.spec import Suite

TASKS = ("task_a", "task_b", "task_c")


class CountingKmer(KmerExtractor):
    """The k-mer baseline, counting how many sequences it was asked to embed."""

    def __init__(self, settings=None) -> None:
        super().__init__("kmer-4", settings or get_model_entry("kmer-4").settings)
        self.calls: list[int] = []

    def embed(self, sequences):
        self.calls.append(len(sequences))
        return super().embed(sequences)


def write_task(data_dir: Path, task_id: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for split, n in (("train", 40), ("test", 20)):
        rows = ["text,label"] + [f"{''.join(rng.choice(list('ACGT'), 60))},{i % 2}" for i in range(n)]
        (data_dir / task_id).mkdir(parents=True, exist_ok=True)
        (data_dir / task_id / f"{split}.csv").write_text("\n".join(rows) + "\n")


@pytest.fixture()
def suite(tmp_path) -> Suite:
    data = tmp_path / "data"
    for seed, task_id in enumerate(TASKS):
        write_task(data, task_id, seed)
    return Suite("tiny", "three small tasks", TASKS, data, is_subsample=True)


def arrays(out: Path) -> dict[str, np.ndarray]:
    return {f"{t}.{name}": getattr(read_embeddings(out / f"{t}.npz"), name)
            for t in TASKS for name in ("train_X", "test_X")}


def test_a_cache_hit_never_runs_the_model(suite, tmp_path):
    out = tmp_path / "emb"
    first = CountingKmer()
    assert embed_suite(first, suite, out, progress=False) == dict.fromkeys(TASKS, False)
    assert first.calls == [40, 20] * 3
    again = CountingKmer()
    assert embed_suite(again, suite, out, progress=False) == dict.fromkeys(TASKS, True)
    assert again.calls == []
    faster = CountingKmer(replace(get_model_entry("kmer-4").settings, batch_size=7))
    assert embed_suite(faster, suite, out, progress=False) == dict.fromkeys(TASKS, True)  # speed knob only


def test_changed_settings_or_data_recompute_only_what_changed(suite, tmp_path):
    out = tmp_path / "emb"
    embed_suite(CountingKmer(), suite, out, progress=False)
    write_task(suite.data_dir, "task_b", seed=99)
    rerun = CountingKmer()
    assert embed_suite(rerun, suite, out, progress=False) == {"task_a": True, "task_b": False, "task_c": True}
    strand = CountingKmer(replace(get_model_entry("kmer-4").settings, strand="both"))
    assert embed_suite(strand, suite, out, progress=False) == dict.fromkeys(TASKS, False)
    assert read_embeddings(out / "task_a.npz").meta["key"]["settings"]["strand"] == "both"


def test_half_written_or_foreign_files_are_never_read(suite, tmp_path):
    out = tmp_path / "emb"
    embed_suite(CountingKmer(), suite, out, progress=False)
    good = arrays(out)
    whole = (out / "task_a.npz").read_bytes()
    (out / "task_a.npz").write_bytes(whole[: len(whole) // 2])  # a writer that died mid-file
    (out / ".task_b.npz.x1y2.tmp").write_bytes(whole[:100])  # debris of a killed atomic write
    data = dict(np.load(out / "task_c.npz"))
    meta = json.loads(str(data.pop("meta")))
    meta.pop("checksum")
    np.savez(out / "task_c.npz", meta=np.array(json.dumps(meta)), **data)  # right key, no checksum
    rerun = CountingKmer()
    assert embed_suite(rerun, suite, out, progress=False) == {"task_a": False, "task_b": True, "task_c": False}
    assert rerun.calls == [40, 20, 40, 20]
    for name, array in arrays(out).items():
        np.testing.assert_array_equal(array, good[name], err_msg=name)


CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from stages.embed import embed_suite
    from stages.extractors.kmer import KmerExtractor
    from stages.extractors.registry import get_model_entry
    from stages.spec import Suite

    data, out, marker = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])

    class StallsOnTaskB(KmerExtractor):
        calls = 0
        def embed(self, sequences):
            StallsOnTaskB.calls += 1
            if StallsOnTaskB.calls == 3:  # task_b, train split: mid-task
                marker.write_text("in task_b")
                time.sleep(600)
            return super().embed(sequences)

    suite = Suite("tiny", "", ("task_a", "task_b", "task_c"), data, True)
    embed_suite(StallsOnTaskB("kmer-4", get_model_entry("kmer-4").settings), suite, out, progress=False)
""")


def test_run_killed_mid_task_resumes_with_identical_results(suite, tmp_path):
    out, marker = tmp_path / "killed", tmp_path / "marker"
    env = {**os.environ, "PYTHONPATH": str(paths.REPO_ROOT)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(suite.data_dir), str(out), str(marker)],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert child.poll() is None, child.stdout.read().decode()
        assert time.monotonic() < deadline, "the child never reached task_b"
        time.sleep(0.1)
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=30) == -signal.SIGKILL
    assert sorted(p.name for p in out.glob("*.npz")) == ["task_a.npz"]  # task_b was mid-way

    resumed = CountingKmer()
    status = embed_suite(resumed, suite, out, progress=False)
    assert status == {"task_a": True, "task_b": False, "task_c": False}
    assert resumed.calls == [40, 20, 40, 20]  # task_a was not recomputed
    clean = tmp_path / "clean"
    embed_suite(CountingKmer(), suite, clean, progress=False)
    resumed_arrays, clean_arrays = arrays(out), arrays(clean)
    for name, array in clean_arrays.items():
        np.testing.assert_array_equal(resumed_arrays[name], array, err_msg=name)


def test_same_inputs_give_byte_identical_files_on_another_day(suite, tmp_path, monkeypatch):
    # dvc.lock records each file's md5: a fresh clone's `dvc repro` reproduces it only if the
    # bytes depend on nothing but vectors and key (np.savez stamps the wall clock into the zip)
    log = tmp_path / "run.jsonl"
    embed_suite(CountingKmer(), suite, tmp_path / "today", progress=False, run_log=log)
    later = time.time() + 3 * 86400
    monkeypatch.setattr(time, "time", lambda: later)
    embed_suite(CountingKmer(), suite, tmp_path / "later", progress=False)
    for task_id in TASKS:
        today = (tmp_path / "today" / f"{task_id}.npz").read_bytes()
        assert today == (tmp_path / "later" / f"{task_id}.npz").read_bytes(), task_id
    meta = read_embeddings(tmp_path / "today" / "task_a.npz").meta
    assert set(meta) == {"key", "report", "checksum"}  # no timings in a tracked file
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["task_id"] for r in records] == list(TASKS)  # the timings went to the run log
    assert all(r["sequences"] == 60 and r["seconds"] >= 0 for r in records)


def test_a_hit_is_decided_from_meta_without_reading_the_arrays(suite, tmp_path, monkeypatch):
    out = tmp_path / "emb"
    embed_suite(CountingKmer(), suite, out, progress=False)

    def no_checksum(arrays):
        raise AssertionError("a cache check read the arrays")

    monkeypatch.setattr("stages.embedding_files._checksum", no_checksum)
    assert embed_suite(CountingKmer(), suite, out, progress=False) == dict.fromkeys(TASKS, True)
