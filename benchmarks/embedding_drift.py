"""HyenaDNA-tiny embeddings on emulated CPUs: how far the vectors move, and the scores with them.

Usage: python benchmarks/embedding_drift.py [--tasks N] [--out docs/benchmarks/embedding_drift.json]

torch picks its CPU kernels at run time (``ATEN_CPU_CAPABILITY``: default, avx2, avx512) and its
MKL picks a code path per CPU (``MKL_CBWR`` forces one); both change the rounding of the
embeddings. Each variant embeds the first ``--tasks`` lite tasks in a subprocess with real
weights (package ``anticapt``); the vectors are compared with those of this machine's own
configuration, then both probes score every variant's vectors and the task means are compared.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

MODEL = "hyenadna-tiny-1k-anticapt"
VARIANTS = {
    "this machine": {},
    "torch capability default (no SIMD)": {"ATEN_CPU_CAPABILITY": "default"},
    "MKL_CBWR=COMPATIBLE": {"MKL_CBWR": "COMPATIBLE"},
    "torch default + MKL compatible": {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE"},
    "1 thread": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
}
EMBED = """
import sys
from pathlib import Path
from stages.embed import embed_task
from stages.extractors.registry import get_model_entry, load_extractor
from stages.machine import torch_cpu_capability
from stages.spec import default_spec
from stages.taskdata import load_task
lite = default_spec().suite("lite")
extractor = load_extractor(get_model_entry(sys.argv[1]), device="cpu")
for task_id in sys.argv[3:]:
    embed_task(extractor, load_task(lite.data_dir, task_id), Path(sys.argv[2]))
print(torch_cpu_capability())
"""


def main() -> None:
    from stages.embedding_files import read_embeddings
    from stages.exact_probe import exact_probe_task
    from stages.probe import probe_task
    from stages.spec import default_spec

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=13)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    spec = default_spec()
    task_ids = list(spec.suite("lite").task_ids[:args.tasks])
    root = Path(tempfile.mkdtemp(prefix="geneb-drift-"))
    capability = {}
    for name, env in VARIANTS.items():
        folder = root / str(list(VARIANTS).index(name))
        proc = subprocess.run([sys.executable, "-c", EMBED, MODEL, str(folder), *task_ids],
                              env={**os.environ, **env}, capture_output=True, text=True, check=True)
        capability[name] = proc.stdout.strip().splitlines()[-1]
    scores: dict[str, dict] = {}
    report: dict = {"model": MODEL, "tasks": task_ids, "variants": {}}
    for index, name in enumerate(VARIANTS):
        worst = {"max_abs_diff": 0.0, "relative": 0.0, "identical_tasks": 0}
        scores[name] = {}
        for task_id in task_ids:
            emb = read_embeddings(root / str(index) / f"{task_id}.npz")
            base = read_embeddings(root / "0" / f"{task_id}.npz")
            diff = max(float(np.max(np.abs(getattr(emb, a).astype(np.float64) - getattr(base, a))))
                       for a in ("train_X", "test_X"))
            scale = max(float(np.max(np.abs(base.train_X))), float(np.max(np.abs(base.test_X))))
            worst["max_abs_diff"] = max(worst["max_abs_diff"], diff)
            worst["relative"] = max(worst["relative"], diff / scale)
            worst["identical_tasks"] += diff == 0.0
            arrays = (emb.train_X, emb.train_y, emb.test_X, emb.test_y)
            scores[name][task_id] = {
                "protocol": {r: x.mean for r, x in probe_task(*arrays, spec.protocol).items()},
                "exact": {r: x.mean for r, x in exact_probe_task(*arrays, spec.protocol).items()}}
        moved = {probe: max(abs(scores[name][t][probe][r]["MCC"]
                                - scores["this machine"][t][probe][r]["MCC"])
                            for t in task_ids for r in spec.regimes)
                 for probe in ("protocol", "exact")}
        changed = {probe: sum(scores[name][t][probe] != scores["this machine"][t][probe]
                              for t in task_ids) for probe in ("protocol", "exact")}
        report["variants"][name] = {"env": VARIANTS[name], "torch_cpu_capability": capability[name],
                                    "embeddings": worst, "max_mcc_move": moved,
                                    "tasks_whose_numbers_moved": changed}
        print(name, json.dumps(report["variants"][name]), flush=True)
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
