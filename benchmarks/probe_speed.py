"""Probe speed: GENEB's probe vs the plain published harness, same embeddings, same process.

Usage: python benchmarks/probe_speed.py [--source ../shared/data/gue] [--k 4] [--out FILE.json]

Embeds the 13 real GUE tasks at full size with k-mer frequencies, then times the whole protocol
(3 regimes x 5 seeds, 13 tasks) with (a) ``stages.probe_reference`` one task after another (five
fits per regime, the published way), (b) the harness's ``probe_suite`` in one process and (c) in
two processes over tasks; checks every per-seed number is identical and reports where (b)'s time
goes (the single full-regime fit vs the ten few-shot fits).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import pandas as pd

from stages.build_lite import DEFAULT_SOURCE
from stages.embedding_files import TaskEmbeddings, save_embeddings
from stages.extractors.base import ExtractorSettings
from stages.extractors.kmer import KmerExtractor
from stages.probe import few_shot_indices, fit_and_score
from stages.probe_reference import reference_probe
from stages.run import probe_suite
from stages.spec import Suite, default_spec


def _timed(func, *args, **kwargs):
    started = time.perf_counter()
    value = func(*args, **kwargs)
    return value, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    spec = default_spec()
    protocol = spec.protocol
    task_ids = spec.suite("lite").task_ids
    kmer = KmerExtractor(f"kmer-{args.k}", ExtractorSettings(options={"k": args.k}))
    workdir = Path(tempfile.mkdtemp(prefix="geneb-probe-bench-"))
    data = {}
    for task_id in task_ids:
        train = pd.read_csv(args.source / task_id / "train.csv")  # GUE columns: sequence,label
        test = pd.read_csv(args.source / task_id / "test.csv")
        data[task_id] = (kmer.embed(train["sequence"].tolist()), train["label"].to_numpy(),
                         kmer.embed(test["sequence"].tolist()), test["label"].to_numpy())
        save_embeddings(workdir / f"{task_id}.npz",
                        TaskEmbeddings(*data[task_id], meta={"key": {"data_md5": {}}}))
    suite = Suite("gue-full-size", "13 GUE tasks at full size", task_ids, args.source, False)

    reference, rows = {}, []
    reference_total = 0.0
    for task_id in task_ids:
        reference[task_id], seconds = _timed(reference_probe, *data[task_id], list(protocol.seeds),
                                             list(protocol.few_shot_k), protocol.max_iter)
        reference_total += seconds
        rows.append({"task": task_id, "train": len(data[task_id][1]), "test": len(data[task_id][3]),
                     "reference_s": round(seconds, 2)})

    (serial, _, _), serial_s = _timed(probe_suite, workdir, suite, spec, progress=False, n_jobs=1)
    (parallel, _, _), parallel_s = _timed(probe_suite, workdir, suite, spec, progress=False, n_jobs=2)

    identical = all(
        run[t][r].per_seed[m] == reference[t][r][m]
        for run in (serial, parallel) for t in task_ids for r in reference[t] for m in reference[t][r]
    )
    full_total = few_total = 0.0
    for row in rows:  # where the single-process probe spends its time
        X, y, tX, ty = data[row["task"]]
        _, full_s = _timed(fit_and_score, X, y, tX, ty, protocol.seeds[0], protocol.max_iter)
        started = time.perf_counter()
        for k in protocol.few_shot_k:
            for seed in protocol.seeds:
                idx = few_shot_indices(y, k, seed)
                fit_and_score(X[idx], y[idx], tX, ty, seed, protocol.max_iter)
        few_s = time.perf_counter() - started
        row.update(full_fit_s=round(full_s, 2), few_shot_fits_s=round(few_s, 2))
        full_total += full_s
        few_total += few_s

    report = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "embedding": f"{args.k}-mer frequencies ({4 ** args.k} dims)",
        "tasks": rows,
        "total_s": {"published_harness": round(reference_total, 1), "geneb_1_process": round(serial_s, 1),
                    "geneb_2_processes": round(parallel_s, 1),
                    "geneb_breakdown_full_fits": round(full_total, 1),
                    "geneb_breakdown_few_shot_fits": round(few_total, 1)},
        "speedup_1_process": round(reference_total / serial_s, 2),
        "speedup_2_processes": round(reference_total / parallel_s, 2),
        "all_identical": identical,
    }
    print(json.dumps({k: v for k, v in report.items() if k != "tasks"}, indent=2))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    if not identical:
        raise SystemExit("numbers differ between the GENEB probe and the published harness")


if __name__ == "__main__":
    main()
