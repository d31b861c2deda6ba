"""The ``geneb`` command line. Each subcommand is a thin wrapper over a module in ``stages``."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from stages.spec import default_spec


def cmd_probe(args: argparse.Namespace) -> int:
    from stages.embed import read_embeddings
    from stages.io_utils import atomic_write_json
    from stages.probe import probe_task

    spec = default_spec()
    emb = read_embeddings(args.embeddings)
    results = probe_task(emb.train_X, emb.train_y, emb.test_X, emb.test_y, spec.protocol,
                         spec.regimes, where=str(args.embeddings))
    payload = {regime: result.to_json() for regime, result in results.items()}
    if args.out:
        atomic_write_json(args.out, payload)
        print(f"wrote {args.out}")
    for regime, result in results.items():
        mean, std = result.mean, result.std
        print(f"{regime:>7}  " + "  ".join(f"{m} {mean[m]:.4f}±{std[m]:.4f}" for m in mean))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from stages.run import default_paths, describe_suite, format_summary, run_model

    out = default_paths(args.suite, args.model)
    if args.out:
        out = replace(out, submission=args.out, metrics=args.out.with_suffix(".metrics.json"))
    if args.embeddings:
        out = replace(out, embeddings=args.embeddings)
    overrides = json.loads(args.settings) if args.settings else None
    submission = run_model(args.model, args.suite, out, overrides, args.device, not args.quiet)
    print(f"\n{args.model} on {describe_suite(submission)}")
    print(format_summary(submission, default_spec()))
    print(f"\nsubmission: {out.submission}\nmetrics:    {out.metrics}\nembeddings: {out.embeddings}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from stages.task_stats import format_stats_table, task_stats
    from stages.taskdata import load_task

    suite = default_spec().suite(args.suite)
    task_ids = args.tasks or suite.task_ids
    rows = [task_stats(load_task(suite.data_dir, task_id)) for task_id in task_ids]
    print(json.dumps(rows, indent=2) if args.json else format_stats_table(rows))
    return 0


def cmd_build_lite(args: argparse.Namespace) -> int:
    from stages.build_lite import build_lite

    print(f"lite suite written to {build_lite(args.source, default_spec())}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from stages.build_lite import DEFAULT_SOURCE

    parser = argparse.ArgumentParser(prog="geneb", description="GENEB: the genomic embedding benchmark")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("probe", help="run the linear-probe protocol on precomputed embeddings")
    p.add_argument("embeddings", type=Path, help="NPZ with train_X, train_y, test_X, test_y")
    p.add_argument("--out", type=Path, help="result JSON (keys full, 10shot, 1shot)")
    p.set_defaults(func=cmd_probe)

    p = sub.add_parser("run", help="embed a suite with a registered model, probe, write a submission")
    p.add_argument("--model", required=True, help="model id from benchmark/model_registry.yaml")
    p.add_argument("--suite", default="lite", choices=sorted(default_spec().suites))
    p.add_argument("--out", type=Path, help="submission path (default results/<suite>/submissions/)")
    p.add_argument("--embeddings", type=Path, help="embedding directory (default embeddings/<suite>/<model>)")
    p.add_argument("--settings", help='extractor setting overrides as JSON, e.g. \'{"batch_size": 8}\'')
    p.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("stats", help="descriptive statistics of a suite's task data")
    p.add_argument("--suite", default="lite", choices=sorted(default_spec().suites))
    p.add_argument("--tasks", nargs="*", help="task ids (default: the whole suite)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("build-lite", help="regenerate data/lite from the real GUE tasks")
    p.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    p.set_defaults(func=cmd_build_lite)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"geneb {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
