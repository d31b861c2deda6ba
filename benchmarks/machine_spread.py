"""How GENEB's numbers move across machines: the measurements behind docs/reproducibility.md.

Usage: python benchmarks/machine_spread.py DATASET [DATASET ...] [--cache DIR] [--out FILE.json]
       DATASET: lite-kmer4 | lite-hyena | gue-k5 | gue-k6

For each dataset (real embeddings of 13 tasks, written once to ``--cache``) and each machine
configuration this CPU can emulate (every OpenBLAS kernel it runs x 1 and 2 BLAS threads), a
subprocess runs both probes on every task. Compared across configurations:

* exact probe: are the per-seed scores identical (``==``)? ties, smallest decided margin, largest
  final gradient;
* protocol probe: per task and regime, the range of the MCC task mean (the kernel spread), and
  whether the perturbation floor (``stages.noise_floor``, computed here in-process under the
  default configuration) bounds it.

Also, in-process: the protocol refit on the same embeddings cast to float64 (the float32-vs-float64
effect) and the protocol-vs-exact difference per task.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from stages.machine import blas_threads, current_kernel, supported_kernels
from stages.spec import default_spec

GUE = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "gue"


def prepare(dataset: str, cache: Path) -> list[Path]:
    """Embedding files of the dataset's 13 tasks (made once)."""
    from stages.embedding_files import TaskEmbeddings, save_embeddings

    spec = default_spec()
    lite = spec.suite("lite")
    folder = cache / dataset
    files = [folder / f"{task_id}.npz" for task_id in lite.task_ids]
    if all(f.is_file() for f in files):
        return files
    folder.mkdir(parents=True, exist_ok=True)
    if dataset.startswith("lite-"):
        from stages.embed import embed_task
        from stages.extractors.registry import get_model_entry, load_extractor
        from stages.taskdata import load_task

        model = {"lite-kmer4": "kmer-4", "lite-hyena": "hyenadna-tiny-1k-anticapt"}[dataset]
        extractor = load_extractor(get_model_entry(model), device="cpu")
        for task_id in lite.task_ids:
            embed_task(extractor, load_task(lite.data_dir, task_id), folder)
        return files
    import pandas as pd

    from stages.extractors.base import ExtractorSettings
    from stages.extractors.kmer import KmerExtractor

    k = int(dataset[-1])
    kmer = KmerExtractor(f"kmer-{k}", ExtractorSettings(options={"k": k}))
    for task_id, path in zip(lite.task_ids, files, strict=True):
        train, test = (pd.read_csv(GUE / task_id / f"{s}.csv") for s in ("train", "test"))
        save_embeddings(path, TaskEmbeddings(
            kmer.embed(train["sequence"].tolist()), train["label"].to_numpy(),
            kmer.embed(test["sequence"].tolist()), test["label"].to_numpy(), {}))
    return files


def worker(files: list[str]) -> None:
    """Both probes on each file under this process's BLAS configuration, as JSON."""
    from stages.embedding_files import read_embeddings
    from stages.exact_probe import exact_probe_task
    from stages.probe import probe_task

    spec = default_spec()
    out = {"kernel": current_kernel(), "threads": blas_threads(), "tasks": {}}
    for path in files:
        e = read_embeddings(Path(path))
        arrays = (e.train_X, e.train_y, e.test_X, e.test_y)
        protocol = probe_task(*arrays, spec.protocol, spec.regimes)
        exact = exact_probe_task(*arrays, spec.protocol, spec.regimes)
        out["tasks"][Path(path).stem] = {
            "protocol": {r: {"per_seed": x.per_seed, "mean": x.mean} for r, x in protocol.items()},
            "exact": {r: {"per_seed": x.per_seed, "mean": x.mean, "ties": x.ties,
                          "min_margin": x.min_margin, "grad_max": x.grad_max}
                      for r, x in exact.items()}}
    print(json.dumps(out))


def in_process(files: list[Path]) -> dict:
    """Perturbation floor and float64 refit of the protocol, under the default configuration."""
    from stages.embedding_files import read_embeddings
    from stages.noise_floor import FALLBACK_PERTURBATIONS, PERTURBATIONS, perturbed_means
    from stages.probe import probe_task

    spec = default_spec()
    out = {}
    for path in files:
        e = read_embeddings(path)
        arrays = (e.train_X, e.train_y, e.test_X, e.test_y)
        base = {r: x.mean for r, x in probe_task(*arrays, spec.protocol, spec.regimes).items()}
        refits = perturbed_means(*arrays, spec.protocol, spec.regimes, FALLBACK_PERTURBATIONS)
        as64 = probe_task(e.train_X.astype(np.float64), e.train_y, e.test_X.astype(np.float64),
                          e.test_y, spec.protocol, spec.regimes)
        out[path.stem] = {"protocol": base, "float64": {r: x.mean for r, x in as64.items()}, **{
            f"perturbation_floor_{count}": {r: {m: max(abs(p[r][m] - v) for p in refits[:count])
                                                for m, v in base[r].items()} for r in base}
            for count in (PERTURBATIONS, FALLBACK_PERTURBATIONS)}}
    return out


def summarise(configs: dict, local: dict) -> dict:
    names = list(configs)
    first = configs[names[0]]
    rows, identical_exact = [], 0
    for task_id in first:
        same = all({r: (x["per_seed"], x["ties"]) for r, x in configs[n][task_id]["exact"].items()}
                   == {r: (x["per_seed"], x["ties"]) for r, x in first[task_id]["exact"].items()}
                   for n in names)  # scores and ties; certificates are per-machine facts
        identical_exact += same
        for regime in ("full", "10shot", "1shot"):
            protocol = [configs[n][task_id]["protocol"][regime]["mean"]["MCC"] for n in names]
            base = local[task_id]["protocol"][regime]["MCC"]
            floors = {count: local[task_id][f"perturbation_floor_{count}"][regime]["MCC"]
                      for count in (4, 8)}
            kernel_dev = max(abs(v - base) for v in protocol)
            exact = first[task_id]["exact"][regime]
            rows.append({
                "task": task_id, "regime": regime,
                "kernel_range_mcc": max(protocol) - min(protocol),
                "kernel_max_dev_mcc": kernel_dev,
                **{f"perturbation_floor_{c}_mcc": f for c, f in floors.items()},
                **{f"bounded_by_{c}": kernel_dev <= f + 1e-12 for c, f in floors.items()},
                "per_seed_identical": all(configs[n][task_id]["protocol"][regime]["per_seed"]
                                          == first[task_id]["protocol"][regime]["per_seed"]
                                          for n in names),
                "float64_minus_float32_mcc": local[task_id]["float64"][regime]["MCC"] - base,
                "exact_minus_protocol_mcc": exact["mean"]["MCC"] - base,
                "exact_ties": sum(exact["ties"]), "exact_min_margin": min(exact["min_margin"]),
                "exact_max_grad": max(exact["grad_max"])})
    return {"configs": names, "exact_tasks_identical": identical_exact, "tasks": len(first),
            **{f"protocol_cells_bounded_by_{c}_perturbations": sum(r[f"bounded_by_{c}"] for r in rows)
               for c in (4, 8)},
            "cells": len(rows), "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("datasets", nargs="*")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/geneb-machine-spread"))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    report = json.loads(args.out.read_text()) if args.out and args.out.is_file() else {}
    for dataset in args.datasets:
        files = prepare(dataset, args.cache)
        configs = {}
        for kernel in supported_kernels():
            for threads in ("1", "2"):
                proc = subprocess.run([sys.executable, __file__, "--worker", *map(str, files)],
                                      env={**os.environ, "OPENBLAS_CORETYPE": kernel,
                                           "OPENBLAS_NUM_THREADS": threads},
                                      capture_output=True, text=True, check=True)
                ran = json.loads(proc.stdout)
                configs[f"{ran['kernel']} x{ran['threads']}"] = ran["tasks"]
        report[dataset] = summarise(configs, in_process(files))
        print(json.dumps({k: v for k, v in report[dataset].items() if k != "rows"}), flush=True)
        if args.out:
            args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
