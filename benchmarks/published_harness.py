"""The published harness as a command, for timing against ``geneb probe`` on the same file.

Usage: python benchmarks/published_harness.py EMB.npz [--out result.json]

Loads ``train_X, train_y, test_X, test_y`` and runs ``stages.probe_reference`` (five fits per
regime, scikit-learn's metric functions), as the authors' harness did on one task, and prints
the regime means. Imports only numpy, scikit-learn and that module, like the original script.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from stages.probe_reference import reference_probe

SEEDS, FEW_SHOT_K = [13, 17, 42, 123, 997], [10, 1]  # the published protocol


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("embeddings", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with np.load(args.embeddings) as data:
        arrays = [data[name] for name in ("train_X", "train_y", "test_X", "test_y")]
    results = reference_probe(*arrays, SEEDS, FEW_SHOT_K)
    means = {regime: {m: float(np.mean(v)) for m, v in metrics.items()}
             for regime, metrics in results.items()}
    if args.out:
        args.out.write_text(json.dumps(means, indent=2))
    for regime, metrics in means.items():
        print(f"{regime:>7}  " + "  ".join(f"{m} {v:.4f}" for m, v in metrics.items()))


if __name__ == "__main__":
    main()
