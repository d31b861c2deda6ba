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


def cmd_compare(args: argparse.Namespace) -> int:
    from stages.compare import compare, find_submission, format_comparison, load_submission

    a, b = (load_submission(find_submission(ref, args.submissions, suite=args.suite))
            for ref in (args.a, args.b))
    result = compare(a, b, default_spec(), args.regime, args.metric, args.allow_mixed_suites)
    print(json.dumps(result, indent=2) if args.json else format_comparison(result))
    return 0


def cmd_intervals(args: argparse.Namespace) -> int:
    from stages.compare import find_submission, load_submission
    from stages.uncertainty import format_seed_intervals, intervals_to_json, seed_intervals

    spec = default_spec()
    submission = load_submission(find_submission(args.submission, suite=args.suite))
    regimes = args.regime or [r for r in spec.regimes if spec.protocol.regime_k(r) is not None]
    results = [seed_intervals(submission, regime, args.metric, spec) for regime in regimes]
    if args.json:
        print(json.dumps([intervals_to_json(r) for r in results], indent=2))
    else:
        print("\n\n".join(format_seed_intervals(r) for r in results))
    return 0


def cmd_ranks(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from stages import uncertainty as unc
    from stages.compare import load_submissions

    spec = default_spec()
    n_resamples, seed = args.resamples or unc.N_RESAMPLES, args.seed or unc.BOOTSTRAP_SEED
    submissions = load_submissions(args.submissions)
    ranks = unc.rank_intervals(submissions, args.regime, args.metric, spec,
                               n_resamples=n_resamples, seed=seed)
    if args.json:
        print(json.dumps({m: asdict(r) if r else None for m, r in ranks.items()}, indent=2))
        return 0
    print(unc.format_rank_intervals(ranks, (
        f"Macro {args.metric} ranks, regime {args.regime}, 95% bootstrap interval over tasks "
        f"within categories ({n_resamples} resamples, seed {seed})")))
    print(f"\nnote: {unc.PUBLISHED_LIMITS}")
    return 0


def cmd_data_quality(args: argparse.Namespace) -> int:
    from stages import data_quality as dq

    spec = default_spec()
    suites = args.suite or dq.suites_with_data(spec)
    if args.check:
        problems = [p for suite in suites for p in dq.check_suite(suite, spec)]
        print("\n".join(problems) if problems else f"data quality OK: {', '.join(suites)}")
        return 1 if problems else 0
    for suite in suites:
        path = dq.write_suite_quality(suite, spec)
        print(dq.summary_table(json.loads(path.read_text(encoding="utf-8"))))
        print(f"wrote {path}\n")
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

    spec = default_spec()
    p = sub.add_parser("compare", help="compare two submissions task by task, with a paired test")
    p.add_argument("a", help="model id or submission path (A)")
    p.add_argument("b", help="model id or submission path (B)")
    p.add_argument("--regime", default="full", choices=spec.regimes)
    p.add_argument("--metric", default=spec.primary_metric, choices=spec.metrics)
    p.add_argument("--suite", help="where a model id is looked up (default: anywhere, if unique)")
    p.add_argument("--submissions", type=Path, help="published submissions (default submissions/)")
    p.add_argument("--allow-mixed-suites", action="store_true",
                   help="compare a lite run with a full one anyway (different test data)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("intervals", help="per-seed 95%% intervals (task, category, Macro) of a run")
    p.add_argument("submission", help="model id or submission path (needs run_settings.per_seed)")
    p.add_argument("--regime", nargs="*", choices=spec.regimes, help="default: few-shot regimes")
    p.add_argument("--metric", default=spec.primary_metric, choices=spec.metrics)
    p.add_argument("--suite", help="where a model id is looked up")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_intervals)

    p = sub.add_parser("ranks", help="Macro ranks with 95%% bootstrap rank intervals")
    p.add_argument("--submissions", type=Path, help="submissions directory (default submissions/)")
    p.add_argument("--regime", default="full", choices=spec.regimes)
    p.add_argument("--metric", default=spec.primary_metric, choices=spec.metrics)
    p.add_argument("--resamples", type=int, help="bootstrap resamples (default 1000)")
    p.add_argument("--seed", type=int, help="bootstrap seed (default 20260)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ranks)

    from stages.pipeline_cli import add_pipeline_commands  # embed, score, lockcheck, *-data

    add_pipeline_commands(sub, sorted(default_spec().suites))

    p = sub.add_parser("data-quality", help="duplicates, leakage, balance, lengths per task")
    p.add_argument("--suite", nargs="*", choices=sorted(spec.suites),
                   help="default: every suite whose task data is in the repository")
    p.add_argument("--check", action="store_true",
                   help="regenerate and compare with the committed statistics and known issues")
    p.set_defaults(func=cmd_data_quality)
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
