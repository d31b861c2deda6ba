"""The Ray engine on a real local cluster: a head plus a separately started worker node.

Every run is compared bit for bit with the local engine. The cluster is started once per module
with the real ``ray start`` commands on 127.0.0.1 (stages.engines.local_cluster) and stopped by
signalling only the processes this module started.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("ray")

from stages.cli import main  # noqa: E402
from stages.embedding_files import run_log_path  # noqa: E402
from stages.engines import EngineConfig, same_embeddings  # noqa: E402
from stages.engines.local import embed_suite_local  # noqa: E402
from stages.engines.local_cluster import LocalRayCluster  # noqa: E402
from stages.engines.ray_engine import DELAY_ENV, embed_suite_ray  # noqa: E402
from stages.extractors.registry import get_model_entry  # noqa: E402
from stages.spec import Suite  # noqa: E402

pytestmark = pytest.mark.ray
HYENA = "hyenadna-tiny-1k-anticapt"
_FIRST = "leannmlindsey_GUE_prom_core_all"  # 2000 train + 1000 test rows


@pytest.fixture(scope="module")
def cluster():
    with LocalRayCluster(head_cpus=1, worker_cpus=[1]) as running:
        yield running


@pytest.fixture(scope="module")
def local_kmer(tmp_path_factory, lite):
    out = tmp_path_factory.mktemp("local") / "kmer-4"
    embed_suite_local("kmer-4", lite, out, progress=False)
    return out


def ray_config(cluster: LocalRayCluster, **kwargs) -> EngineConfig:
    return EngineConfig(name="ray", address=cluster.address, **kwargs)


def test_lite_suite_matches_local_engine_across_two_nodes(cluster, local_kmer, lite, tmp_path):
    out, log = tmp_path / "kmer-4", tmp_path / "kmer-4.run.jsonl"
    run = embed_suite_ray("kmer-4", lite, out, ray_config(cluster, shard_size=500),
                          progress=False, run_log=log)
    assert same_embeddings(out, local_kmer) == []
    for task_id in lite.task_ids:  # not just equal arrays: the very same bytes as the local engine
        assert (out / f"{task_id}.npz").read_bytes() == (local_kmer / f"{task_id}.npz").read_bytes()
    assert len({worker["node_id"] for worker in run.workers}) == 2  # head and the worker node
    assert len(run.pids) == 2 and run.restarts == 0 and run.duplicates == 0
    assert set(run.status) == set(lite.task_ids) and not any(run.status.values())
    # 2 shards per train split, 1 or 2 per test split (each split <= 2000 rows)
    assert run.shards == sum(-(-n // 500) for task in lite.task_ids
                             for n in _split_sizes(lite, task))
    assert run.sequences == sum(sum(_split_sizes(lite, task)) for task in lite.task_ids)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert sorted(r["task_id"] for r in records) == sorted(lite.task_ids)
    first = next(r for r in records if r["task_id"] == lite.task_ids[0])
    assert first["engine"] == {"name": "ray", "shards": 6} and first["seconds"] >= 0
    again = embed_suite_ray("kmer-4", lite, out, ray_config(cluster), progress=False)
    assert all(again.status.values()) and again.shards == 0  # per-task cache: nothing recomputed


def test_geneb_embed_engine_flags_write_the_local_files(cluster, local_kmer, tmp_path, capsys):
    out = tmp_path / "kmer-4"
    assert main(["embed", "--model", "kmer-4", "--suite", "lite", "--out", str(out), "--quiet",
                 "--engine", "ray", "--ray-address", cluster.address]) == 0
    assert same_embeddings(out, local_kmer) == []
    assert "13 task(s) embedded" in capsys.readouterr().out
    params = tmp_path / "params.yaml"  # the engine can also come from params.yaml alone
    params.write_text(f"suite: lite\nmodels: {{kmer-4: {{settings: {{}}}}}}\n"
                      f"engine: {{name: ray, address: '{cluster.address}', shard_size: 700}}\n")
    (out / f"{_FIRST}.npz").unlink()
    assert main(["embed", "--model", "kmer-4", "--suite", "lite", "--out", str(out), "--quiet",
                 "--params", str(params)]) == 0
    assert "1 task(s) embedded, 12 reused" in capsys.readouterr().out
    last = json.loads(run_log_path(out).read_text().splitlines()[-1])
    assert last["task_id"] == _FIRST and last["engine"] == {"name": "ray", "shards": 5}
    assert same_embeddings(out, local_kmer) == []


def test_private_instance_from_a_fresh_process_leaves_home_alone(local_kmer, tmp_path):
    """`--engine ray` without an address (a multi-GPU node's case): Ray is started and stopped
    by the command itself, with token auth but without writing ~/.ray/auth_token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    env.update(HOME=str(tmp_path / "home"), RAY_USAGE_STATS_ENABLED="0")
    out = tmp_path / "kmer-4"
    done = subprocess.run([sys.executable, "-m", "stages.cli", "embed", "--model", "kmer-4",
                           "--suite", "lite", "--out", str(out), "--engine", "ray"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ray: 26 shards, 36,507 sequences" in done.stderr  # the end-of-run summary line
    assert same_embeddings(out, local_kmer) == []
    assert not (tmp_path / "home" / ".ray").exists()


def test_worker_killed_mid_shard_is_replaced_with_identical_results(
        cluster, local_kmer, lite, tmp_path, monkeypatch):
    monkeypatch.setenv(DELAY_ENV, "0.15")  # every shard takes >= 0.15 s: the kill lands mid-shard
    killed: list[int] = []
    after_kill: set[int] = set()

    def kill_the_other_worker(shard, result, run):
        if killed:
            after_kill.add(result["pid"])
        elif run.shards == 4:
            killed.append(next(w["pid"] for w in run.workers if w["pid"] != result["pid"]))
            os.kill(killed[0], signal.SIGKILL)

    run = embed_suite_ray("kmer-4", lite, tmp_path, ray_config(cluster, shard_size=1000),
                          progress=False, on_result=kill_the_other_worker)
    assert killed and run.restarts >= 1  # Ray restarted the actor (new pid) and re-ran its shard
    assert killed[0] not in after_kill and len(after_kill) == 2
    assert run.duplicates == 0
    assert run.shards == sum(-(-n // 1000) for t in lite.task_ids for n in _split_sizes(lite, t))
    assert same_embeddings(tmp_path, local_kmer) == []
    assert not list(tmp_path.glob(".*.tmp"))


def test_worker_lost_for_good_has_its_shards_requeued(cluster, local_kmer, lite, tmp_path,
                                                      monkeypatch):
    monkeypatch.setenv(DELAY_ENV, "0.15")
    killed: list[int] = []

    def kill_once(shard, result, run):
        if run.shards == 3 and not killed:
            killed.append(next(w["pid"] for w in run.workers if w["pid"] != result["pid"]))
            os.kill(killed[0], signal.SIGKILL)

    tasks = lite.task_ids[:6]
    suite = Suite("lite6", "six lite tasks", tasks, lite.data_dir, True)
    run = embed_suite_ray("kmer-4", suite, tmp_path, ray_config(cluster, shard_size=1000,
                                                                 max_restarts=0),
                          progress=False, on_result=kill_once)
    assert run.requeued >= 1 and run.restarts == 0
    assert same_embeddings(tmp_path, _subset(local_kmer, tasks, tmp_path.parent / "ref6")) == []


def test_interrupted_run_resumes_from_finished_tasks(cluster, local_kmer, lite, tmp_path):
    class Interrupted(Exception):
        pass

    def stop_after_three_tasks(shard, result, run):
        if sum(1 for _ in tmp_path.glob("*.npz")) >= 3:
            raise Interrupted

    with pytest.raises(Interrupted):
        embed_suite_ray("kmer-4", lite, tmp_path, ray_config(cluster, shard_size=1000),
                        progress=False, on_result=stop_after_three_tasks)
    finished = sorted(p.stem for p in tmp_path.glob("*.npz"))
    assert 3 <= len(finished) < len(lite.task_ids) and not list(tmp_path.glob(".*.tmp"))
    run = embed_suite_ray("kmer-4", lite, tmp_path, ray_config(cluster, shard_size=1000),
                          progress=False)
    assert sorted(t for t, cached in run.status.items() if cached) == finished
    assert same_embeddings(tmp_path, local_kmer) == []


def test_real_hyenadna_mixed_lengths_bit_identical_with_aligned_shards(cluster, lite, tmp_path):
    pytest.importorskip("anticapt")
    assert get_model_entry(HYENA).extractor == "hyena"
    suite = _mixed_length_suite(lite, tmp_path / "data", train=4200, test=100)
    fast = {"batch_size": 1024}  # runtime-only setting (not in the key); same on both sides
    embed_suite_local(HYENA, suite, tmp_path / "local", fast, device="cpu", progress=False)
    run = embed_suite_ray(HYENA, suite, tmp_path / "ray", ray_config(cluster, shard_size=1000,
                                                                     workers=1),
                          overrides=fast, device="cpu", progress=False)
    assert run.workers[0]["shard_unit"] == 4096  # shard_size 1000 was rounded up to the unit
    assert run.shards == 3  # train: 4096 + 104 rows, test: 100 rows
    assert same_embeddings(tmp_path / "ray", tmp_path / "local") == []


def _split_sizes(suite: Suite, task_id: str) -> list[int]:
    sizes = []
    for split in ("train", "test"):
        with open(suite.data_dir / task_id / f"{split}.csv", encoding="utf-8") as handle:
            sizes.append(sum(1 for _ in handle) - 1)
    return sizes


def _subset(directory, tasks, target):
    target.mkdir(exist_ok=True)
    for task in tasks:
        (target / f"{task}.npz").write_bytes((directory / f"{task}.npz").read_bytes())
    return target


def _mixed_length_suite(lite: Suite, root, train: int, test: int) -> Suite:
    """Real lite sequences cut to 5-25 nt: batches pad, so shard alignment matters."""
    task = "leannmlindsey_GUE_mouse_4"
    with open(lite.data_dir / task / "train.csv", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[1:]
    rng = np.random.default_rng(7)
    out = root / "mixed"
    out.mkdir(parents=True)
    for split, n in (("train", train), ("test", test)):
        with open(out / f"{split}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "label"])
            for i in range(n):
                sequence, label = rows[(i + (train if split == "test" else 0)) % len(rows)]
                start = int(rng.integers(0, 60))
                writer.writerow([sequence[start:start + int(rng.integers(5, 26))], label])
    return Suite("mixed", "mixed-length HyenaDNA check", ("mixed",), root, True)
