"""Lite-suite embedding throughput: local engine vs the Ray engine with 1 and 2 workers.

Runs on a real two-node Ray cluster on 127.0.0.1 (a head and a separately started worker node,
one CPU each), checks every Ray output bit for bit against the local engine's, and measures the
engine's overhead per shard with the k-mer baseline (whose compute is almost nil). Writes JSON;
docs/benchmarks/ray-throughput.md is written from it by hand.

    .venv/bin/python benchmarks/ray_throughput.py --out docs/benchmarks/ray_throughput.json

On a GPU node or cluster, measure the per-GPU-worker throughput the same way (1 worker, then one
per GPU) against an existing cluster:

    ray start --head --disable-usage-stats
    python benchmarks/ray_throughput.py --address auto --device cuda --models MODEL --out gpu.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from stages.embed import embed_suite  # noqa: E402
from stages.engines import EngineConfig, same_embeddings  # noqa: E402
from stages.engines.local_cluster import LocalRayCluster  # noqa: E402
from stages.engines.ray_engine import RayRun, embed_suite_ray  # noqa: E402
from stages.extractors.registry import get_model_entry, load_extractor  # noqa: E402
from stages.spec import Suite, default_spec  # noqa: E402
from stages.taskdata import load_task  # noqa: E402


def suite_size(suite: Suite) -> tuple[int, int]:
    """(sequences, nucleotides) of a suite, train and test."""
    n = nt = 0
    for task_id in suite.task_ids:
        task = load_task(suite.data_dir, task_id)
        for split in (task.train, task.test):
            n += len(split.sequences)
            nt += sum(len(s) for s in split.sequences)
    return n, nt


def run_local(model: str, suite: Suite, out: Path, device: str,
              threads: int | None = None) -> dict[str, Any]:
    import torch

    default = torch.get_num_threads()
    torch.set_num_threads(threads or default)
    try:
        started = time.perf_counter()
        extractor = load_extractor(get_model_entry(model), device=device)
        loaded = time.perf_counter()
        embed_suite(extractor, suite, out, progress=False)
        done = time.perf_counter()
    finally:
        torch.set_num_threads(default)
    return {"engine": "local", "workers": 1, "threads": threads or default,
            "startup_s": round(loaded - started, 2), "embed_s": round(done - loaded, 2)}


def run_ray(model: str, suite: Suite, out: Path, reference: Path, address: str, device: str,
            **config: Any) -> dict[str, Any]:
    run: RayRun = embed_suite_ray(model, suite, out, EngineConfig(name="ray", address=address,
                                                                  **config),
                                  device=device, progress=False)
    workers = len(run.workers)
    compute = sum(run.shard_seconds)
    return {"engine": "ray", "workers": workers, "threads": run.workers[0]["threads"],
            "shard_size": config.get("shard_size", EngineConfig().shard_size),
            "shards": run.shards, "startup_s": round(run.startup_seconds, 2),
            "embed_s": round(run.seconds, 2), "compute_s": round(compute, 2),
            # worker time not spent in extractor.embed, per shard: transfer, scheduling, assembly
            "overhead_ms_per_shard": round(1000 * (workers * run.seconds - compute) / run.shards, 1),
            "nodes": len({w["node_id"] for w in run.workers}),
            "identical_to_local": same_embeddings(out, reference) == []}


def bench_model(model: str, suite: Suite, address: str, device: str, root: Path,
                sizes: tuple[int, int], variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    reference = root / model / "local"
    rows = [run_local(model, suite, reference, device)]
    if device == "cpu" and not model.startswith("kmer"):  # torch on CPU: also one thread
        rows.append(run_local(model, suite, root / model / "local1", device, threads=1))
        rows[-1]["identical_to_local"] = same_embeddings(root / model / "local1", reference) == []
    for i, variant in enumerate(variants):
        rows.append(run_ray(model, suite, root / model / f"ray{i}", reference, address, device,
                            **variant))
    for row in rows:
        row["model"] = model
        row["seq_per_s"] = round(sizes[0] / row["embed_s"], 1)
        row["nt_per_s"] = round(sizes[1] / row["embed_s"])
        print(json.dumps(row), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="lite")
    parser.add_argument("--tasks", type=int, help="only the first N tasks of the suite")
    parser.add_argument("--models", nargs="*", default=["kmer-4", "hyenadna-tiny-1k-anticapt"])
    parser.add_argument("--keep", type=Path, help="prepend the rows of this earlier JSON")
    parser.add_argument("--address", help="use this running cluster (e.g. auto) instead of "
                        "starting a two-node CPU cluster on 127.0.0.1")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda on a GPU cluster")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks/ray_throughput.json"))
    args = parser.parse_args()

    suite = default_spec().suite(args.suite)
    if args.tasks:
        suite = Suite(f"{suite.name}[:{args.tasks}]", suite.description, suite.task_ids[:args.tasks],
                      suite.data_dir, True)
    sizes = suite_size(suite)
    results: dict[str, Any] = {
        "suite": suite.name, "tasks": len(suite.task_ids), "sequences": sizes[0],
        "nucleotides": sizes[1], "device": args.device,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_before": os.getloadavg()}, "rows": []}
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="geneb-bench-")))
        if args.address:
            address, results["cluster"] = args.address, f"existing cluster {args.address}"
            variants = [{"workers": 1}, {}]  # one worker, then one per GPU (or CPU)
        else:
            # Ray runs workers at nice 15; on a machine shared with other jobs that would starve
            # them against the local engine (nice 0), so the benchmark levels the field.
            cluster = stack.enter_context(LocalRayCluster(head_cpus=1, worker_cpus=[1],
                                                          env={"RAY_worker_niceness": "0"}))
            address = cluster.address
            results["cluster"] = ("head (1 CPU) + separately started worker node (1 CPU), "
                                  "127.0.0.1, RAY_worker_niceness=0")
            variants = [{"workers": 1}, {"workers": 2}, {"workers": 1, "threads": 1},
                        {"workers": 2, "threads": 1}]
        results["cluster_start_s"] = round(time.perf_counter() - started, 1)
        for model in args.models:
            extra = []
            if model.startswith("kmer") and not args.address:  # compute ~0: per-shard overhead
                extra = [{"workers": 2, "shard_size": 500}, {"workers": 2, "shard_size": 100}]
            results["rows"] += bench_model(model, suite, address, args.device, tmp, sizes,
                                           variants + extra)
    results["machine"]["load_after"] = os.getloadavg()
    if args.keep:
        results["rows"] = json.loads(args.keep.read_text(encoding="utf-8"))["rows"] + results["rows"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
