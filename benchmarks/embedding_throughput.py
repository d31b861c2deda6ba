"""Embedding throughput: GENEB's HF extractor vs the naive reference way, same model, same run.

Usage: python benchmarks/embedding_throughput.py [--model hyenadna-tiny-1k-anticapt]
           [--per-task 100] [--repeats 2] [--out FILE.json]

Takes the first ``--per-task`` training sequences of every lite task (real GUE data, 70 to 300
nt, mixed in suite order) and embeds that list with (a) the naive way the published reference
extractors batch -- fixed batches of 8 in input order, every batch padded to the model's maximum
length, fp32, ``torch.no_grad`` -- and (b) ``HFExtractor.embed`` (length-sorted dynamic batches,
``inference_mode``, tokenising ahead in a thread). Both pool the same way (mean over real tokens,
special tokens excluded), so the vectors must agree within float tolerance; the script exits
non-zero otherwise. Each measurement runs in a fresh child process (the model is loaded through
the registry before the clock starts), alternating the two methods ``--repeats`` times; the best
time of each is reported (the machine may be shared). Peak memory is the child's resident-set
growth while embedding, sampled every 5 ms, so neither method inherits the other's allocations.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import torch

from stages.extractors.batching import pad_rows, pool, pool_mask
from stages.extractors.registry import get_model_entry, load_extractor
from stages.spec import default_spec
from stages.taskdata import load_task

NAIVE_BATCH = 8
TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}


class PeakRSS:
    """Highest resident-set size of this process while the block runs, above its starting value."""

    def __enter__(self) -> PeakRSS:
        self.process, self.stop = psutil.Process(), threading.Event()
        self.start = self.peak = self.process.memory_info().rss
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self) -> None:
        while not self.stop.wait(0.005):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def mib(self) -> float:
        return round((self.peak - self.start) / 2**20, 1)


def naive_embed(extractor, sequences: list[str]) -> np.ndarray:
    """The reference extractors' batching: 8 at a time, input order, padded to the model maximum."""
    tokenizer, model, width = extractor.tokenizer, extractor.model, extractor.settings.max_length
    prefix, suffix = extractor._prefix, extractor._suffix
    out = []
    with torch.no_grad():
        for start in range(0, len(sequences), NAIVE_BATCH):
            rows = [prefix + ids + suffix for ids in
                    tokenizer(sequences[start:start + NAIVE_BATCH], add_special_tokens=False)["input_ids"]]
            ids, _ = pad_rows(rows + [[extractor._pad_id] * width], extractor._pad_id, "right")
            ids = ids[:-1]  # every batch padded to the model's maximum length
            keep = pool_mask(rows, width, "right", len(prefix), len(suffix), "exclude")
            hidden = model(input_ids=torch.from_numpy(ids), return_dict=True).last_hidden_state
            out.append(pool(hidden, torch.from_numpy(keep), "mean")[0].numpy())
    return np.concatenate(out)


def measure(model: str, per_task: int, method: str, out: Path) -> dict:
    """Child process: load, then embed the sample once with ``method``; vectors go to ``out``."""
    extractor = load_extractor(get_model_entry(model), device="cpu")
    if extractor.device != "cpu" or extractor.settings.padding_side != "right":
        raise SystemExit("this benchmark compares CPU runs with right padding")
    sequences = sample(per_task)
    with PeakRSS() as memory:
        started = time.perf_counter()
        vectors = naive_embed(extractor, sequences) if method == "naive" else extractor.embed(sequences)
        seconds = time.perf_counter() - started
    np.save(out, vectors)
    run = {"method": method, "seconds": round(seconds, 2), "peak_rss_mib": memory.mib,
           "load_average": round(os.getloadavg()[0], 2), "identity": extractor.identity(),
           "settings": extractor.settings.vector_json(), "torch_threads": torch.get_num_threads()}
    if method == "geneb":
        runtime = extractor.run_report()["runtime"]
        run.update(batch_size=runtime["batch_size"], batch_tokens=runtime["batch_tokens"])
    return run


def sample(per_task: int) -> list[str]:
    suite = default_spec().suite("lite")
    sequences = []
    for task_id in suite.task_ids:
        train = load_task(suite.data_dir, task_id).train.sequences
        sequences += train[:per_task] if per_task else train
    return sequences


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="hyenadna-tiny-1k-anticapt")
    parser.add_argument("--per-task", type=int, default=100, help="training sequences per lite task (0: all)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "VECTORS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.model, args.per_task, args.child[0], Path(args.child[1]))))
        return 0

    sequences = sample(args.per_task)
    runs: dict[str, list[dict]] = {"naive": [], "geneb": []}
    with tempfile.TemporaryDirectory(prefix="geneb-emb-bench-") as scratch:
        for repeat in range(args.repeats):
            for method in ("naive", "geneb"):
                vectors_path = Path(scratch) / f"{method}-{repeat}.npy"
                child = subprocess.run(
                    [sys.executable, __file__, "--model", args.model, "--per-task", str(args.per_task),
                     "--child", method, str(vectors_path)], capture_output=True, text=True, check=False)
                if child.returncode != 0:
                    raise SystemExit(f"{method} run failed:\n{child.stderr[-3000:]}")
                run = json.loads(child.stdout.strip().splitlines()[-1])
                runs[method].append(run)
                print(f"{method:>5}: {len(sequences) / run['seconds']:8.1f} seq/s  {run['seconds']:7.2f} s  "
                      f"+{run['peak_rss_mib']} MiB RSS  (load {run['load_average']})", flush=True)
        vectors = {m: np.load(Path(scratch) / f"{m}-0.npy") for m in runs}
        repeat_diff = max(float(np.abs(np.load(Path(scratch) / f"geneb-{r}.npy") - vectors["geneb"]).max())
                          for r in range(args.repeats))
    diff = float(np.abs(vectors["naive"] - vectors["geneb"]).max())
    identical = bool(np.allclose(vectors["geneb"], vectors["naive"], **TOLERANCE))
    best = {name: min(r["seconds"] for r in rs) for name, rs in runs.items()}
    lengths = [len(s) for s in sequences]
    first = runs["geneb"][0]
    result = {
        "model": args.model, "identity": first["identity"], "settings": first["settings"],
        "sequences": len(sequences), "per_task": args.per_task, "repeats": args.repeats,
        "lengths_nt": {"min": min(lengths), "max": max(lengths), "mean": round(float(np.mean(lengths)), 1)},
        "naive": {"batch_size": NAIVE_BATCH, "padded_to": first["settings"]["max_length"],
                  "sequences_per_second": round(len(sequences) / best["naive"], 1),
                  "peak_rss_mib": max(r["peak_rss_mib"] for r in runs["naive"]), "runs": runs["naive"]},
        "geneb": {"batch_size": first["batch_size"], "batch_tokens": first["batch_tokens"],
                  "sequences_per_second": round(len(sequences) / best["geneb"], 1),
                  "peak_rss_mib": max(r["peak_rss_mib"] for r in runs["geneb"]), "runs": runs["geneb"]},
        "speedup": round(best["naive"] / best["geneb"], 2),
        "max_abs_diff": diff, "max_abs_diff_between_geneb_repeats": repeat_diff,
        "tolerance": TOLERANCE, "identical_within_tolerance": identical,
        "machine": {"cpus": os.cpu_count(), "torch_threads": first["torch_threads"],
                    "python": platform.python_version(), "torch": torch.__version__,
                    "platform": platform.platform()},
    }
    for method in runs:
        for run in result[method]["runs"]:
            run.pop("identity"), run.pop("settings")
    print(json.dumps({k: result[k] for k in ("speedup", "max_abs_diff", "identical_within_tolerance")}))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
