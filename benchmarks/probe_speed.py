"""Probe speed and memory: the published harness, GENEB's protocol probe and the exact probe.

Usage: python benchmarks/probe_speed.py [--source ../shared/data/gue] [--k 5 6] [--repeats 3]
                                        [--out docs/benchmarks/probe_speed.json]

Embeds the 13 real GUE tasks at full size with k-mer frequencies (float32, as extractors produce:
k=5 gives 1,024 dims, k=6 4,096), then per task, in one process, in turn and ``--repeats``
times: medians of wall-clock and of process CPU seconds, and the median of the ratios taken
within each round (published, protocol and exact run back to back), which holds when the shared
VM's speed drifts:

* published: ``stages.probe_reference`` (five fits per regime, the published way);
* protocol: ``stages.probe.probe_task`` (GENEB's probe of the same protocol);
* exact: ``stages.exact_probe.exact_probe_task``.

Checks every per-seed protocol number equals the published harness's and every exact fit is
certified (converged). Then one more pass of each under ``tracemalloc`` for the peak of numpy
allocations on top of the embeddings (BLAS workspaces are not counted), and a breakdown of the
exact probe's full-regime fit: Newton steps, Hessians formed and the time they took.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import tracemalloc
from pathlib import Path

import pandas as pd

from stages import exact_probe
from stages.build_lite import DEFAULT_SOURCE
from stages.extractors.base import ExtractorSettings
from stages.extractors.kmer import KmerExtractor
from stages.machine import probe_machine
from stages.probe import probe_task
from stages.probe_reference import reference_probe
from stages.spec import default_spec


def load(source: Path, task_id: str, k: int) -> tuple:
    kmer = KmerExtractor(f"kmer-{k}", ExtractorSettings(options={"k": k}))
    train = pd.read_csv(source / task_id / "train.csv")  # GUE columns: sequence,label
    test = pd.read_csv(source / task_id / "test.csv")
    return (kmer.embed(train["sequence"].tolist()), train["label"].to_numpy(),
            kmer.embed(test["sequence"].tolist()), test["label"].to_numpy())


def runners(spec) -> dict:
    protocol = spec.protocol
    return {
        "published": lambda d: reference_probe(*d, list(protocol.seeds), list(protocol.few_shot_k),
                                               protocol.max_iter),
        "protocol": lambda d: probe_task(*d, protocol, spec.regimes),
        "exact": lambda d: exact_probe.exact_probe_task(*d, protocol, spec.regimes),
    }


def peak_mb(func, data) -> float:
    tracemalloc.start()
    func(data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return round(peak / 2**20, 1)


def full_fit_breakdown(data) -> dict:
    """Where the exact probe's full-regime fit spends its time (Hessians vs the rest)."""
    spent = {"hessians": 0, "hessian_s": 0.0}
    original = exact_probe._binary_hessian

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent["hessians"] += 1
            spent["hessian_s"] += time.perf_counter() - started

    exact_probe._binary_hessian = timed
    try:
        started = time.perf_counter()
        fit = exact_probe.fit_exact(data[0], data[1])
        total = time.perf_counter() - started
    finally:
        exact_probe._binary_hessian = original
    return {"full_fit_s": round(total, 2), "newton_steps": fit.n_iter,
            "hessians": spent["hessians"], "hessian_s": round(spent["hessian_s"], 2)}


def bench_task(task_id: str, data: tuple, spec, repeats: int) -> dict:
    run = runners(spec)
    seconds: dict[str, list[float]] = {name: [] for name in run}
    cpu: dict[str, list[float]] = {name: [] for name in run}
    outputs = {}
    for _ in range(repeats):
        for name, func in run.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            outputs[name] = func(data)
            seconds[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - started_cpu)
    published, protocol, exact = outputs["published"], outputs["protocol"], outputs["exact"]
    identical = all(protocol[r].per_seed[m] == [float(v) for v in published[r][m]]
                    for r in published for m in published[r])
    median = {name: statistics.median(values) for name, values in seconds.items()}
    median_cpu = {name: statistics.median(values) for name, values in cpu.items()}
    return {
        "task": task_id, "train": len(data[1]), "test": len(data[3]),
        "seconds": {name: round(value, 3) for name, value in median.items()},
        "cpu_seconds": {name: round(value, 3) for name, value in median_cpu.items()},
        "ratio_protocol_plus_exact_to_published": round(statistics.median(
            (p + e) / r for r, p, e in zip(*(seconds[n] for n in run), strict=True)), 2),
        "cpu_ratio_protocol_plus_exact_to_published": round(statistics.median(
            (p + e) / r for r, p, e in zip(*(cpu[n] for n in run), strict=True)), 2),
        "runs_s": {name: [round(v, 3) for v in values] for name, values in seconds.items()},
        "peak_mb": {name: peak_mb(func, data) for name, func in run.items()},
        "exact": {**full_fit_breakdown(data),
                  "all_converged": all(all(r.converged) for r in exact.values()),
                  "max_grad": max(max(r.grad_max) for r in exact.values()),
                  "ties": sum(sum(r.ties) for r in exact.values())},
        "protocol_identical_to_published": identical,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--k", type=int, nargs="+", default=[5, 6])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    spec = default_spec()
    report = json.loads(args.out.read_text()) if args.out and args.out.is_file() else {}
    report.update({"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                               **probe_machine()}, "repeats": args.repeats})
    report.setdefault("runs", {})
    for k in args.k:
        rows = []
        for task_id in spec.suite("lite").task_ids:
            row = bench_task(task_id, load(args.source, task_id, k), spec, args.repeats)
            rows.append(row)
            print(json.dumps(row), flush=True)
        total = {name: round(sum(r["seconds"][name] for r in rows), 1)
                 for name in ("published", "protocol", "exact")}
        report["runs"][f"{4 ** k}-d"] = {
            "embedding": f"{k}-mer frequencies ({4 ** k} dims, float32)", "repeats": args.repeats,
            "tasks": rows,
            "total_s": total,
            "tasks_where_protocol_plus_exact_beats_published": sum(
                r["ratio_protocol_plus_exact_to_published"] < 1 for r in rows),
            "all_identical": all(r["protocol_identical_to_published"] for r in rows),
            "all_converged": all(r["exact"]["all_converged"] for r in rows)}
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    if not all(run["all_identical"] for run in report["runs"].values()):
        raise SystemExit("protocol numbers differ from the published harness")


if __name__ == "__main__":
    main()
