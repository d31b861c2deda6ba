"""The ``geneb`` command line. Each subcommand is a thin wrapper over a module in ``stages``."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from stages.engines.config import add_engine_args
from stages.spec import default_spec


def cmd_run(args: argparse.Namespace) -> int:
    from stages.run import default_paths, describe_suite, format_summary, run_model

    out = default_paths(args.suite, args.model)
    if args.out:
        out = replace(out, submission=args.out, metrics=args.out.with_suffix(".metrics.json"))
    if args.embeddings:
        out = replace(out, embeddings=args.embeddings)
    from stages.engines.config import engine_from_args

    overrides = json.loads(args.settings) if args.settings else None
    submission = run_model(args.model, args.suite, out, overrides, args.device, not args.quiet,
                           engine=engine_from_args(args), with_noise_floor=not args.no_noise_floor)
    print(f"\n{args.model} on {describe_suite(submission)}")
    print(format_summary(submission, default_spec()))
    print(f"\nsubmission: {out.submission}\nmetrics:    {out.metrics}\nembeddings: {out.embeddings}")
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    """Where a suite's results are, and each model's per-category table (the end of `make run`)."""
    from stages import paths
    from stages.compare import load_submission
    from stages.run import describe_suite, format_summary
    from stages.score_check import compare_submissions, verdict_lines
    from stages.submission import committed_submission

    base = paths.REPO_ROOT / "results" / args.suite
    for path in sorted((base / "submissions").glob("*.json")):
        submission = load_submission(path)
        print(f"\n{submission['model_id']} on {describe_suite(submission)}")
        print(format_summary(submission, default_spec(), args.metric))
        committed = committed_submission(path)
        if committed is None or committed == submission:
            print("the committed numbers" if committed else "not committed yet")
            continue
        print("re-made on this machine; compared with the committed file:")
        for line in verdict_lines(compare_submissions(submission, committed)):
            print("  " + line)
    print(f"\nsubmissions: {base / 'submissions'}\nmetrics:     {base / 'metrics'}"
          f"\nleaderboard: {base / 'leaderboard'}")
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
    from stages.build_lite import DEFAULT_SOURCE, build_lite

    source = args.source or DEFAULT_SOURCE
    print(f"lite suite written to {build_lite(source, default_spec())}")
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


def cmd_validate(args: argparse.Namespace) -> int:
    from stages.validate import validate_files

    checked = validate_files(args.files, args.suite)
    problems = [problem for c in checked for problem in c.problems]
    for problem in problems:
        print(problem)
    bad = sum(1 for c in checked if c.problems)
    print(f"{len(checked) - bad} of {len(checked)} file(s) valid for suite {args.suite!r}"
          + (f"; {len(problems)} problem(s)" if problems else ""), file=sys.stderr)
    return 1 if problems else 0


def cmd_pack(args: argparse.Namespace) -> int:
    from stages import paths
    from stages.io_utils import atomic_write_json
    from stages.model_meta import default_model_meta
    from stages.pack import pack_logs, resolve_meta
    from stages.validate import validate_file

    overrides = {"display": args.display, "params": args.params, "url": args.url,
                 "zero_shot": args.zero_shot, "training_data": args.training_data,
                 "provenance": args.provenance, "submitted_by": args.submitted_by}
    if args.out is None and args.suite != "full":
        raise ValueError("give --out: only full-suite submissions go to submissions/")
    meta = resolve_meta(args.model_id, overrides, default_model_meta())
    report = pack_logs(args.logs, meta, default_spec(), suite=args.suite,
                       extractor=args.extractor, model_stem=args.model_stem)
    for line in report.lines():
        print(line)
    if not report.complete and not args.allow_incomplete:
        print("nothing written: fix the problems above or pass --allow-incomplete", file=sys.stderr)
        return 1
    out = args.out or paths.SUBMISSIONS_DIR / f"{args.model_id}.json"
    atomic_write_json(out, report.submission)
    problems = validate_file(out, args.suite).problems
    for problem in problems:
        print(problem)
    print(f"wrote {out}" + (f" ({len(problems)} validation problem(s))" if problems else
                            " (valid)"), file=sys.stderr)
    return 1 if problems else 0


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from stages.leaderboard import build_leaderboard, stale_files

    if args.check:
        stale = stale_files(args.submissions, args.out, args.suite)
        for path in stale:
            print(f"{path}: differs from a rebuild of {args.submissions}; run `geneb leaderboard`")
        return 1 if stale else 0
    for path in build_leaderboard(args.submissions, args.out, args.suite):
        print(f"wrote {path}")
    return 0


def cmd_plots(args: argparse.Namespace) -> int:
    from stages.plots import write_plots

    where = {k: v for k, v in (("submissions_dir", args.submissions), ("out_dir", args.out)) if v}
    written = write_plots(suite=args.suite, metric=args.metric, formats=args.format, **where)
    print("\n".join(f"wrote {path}" for path in written))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from stages import paths

    parser = argparse.ArgumentParser(prog="geneb", description="GENEB: the genomic embedding benchmark")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="embed a suite with a registered model, probe, write a submission")
    p.add_argument("--model", required=True, help="model id from benchmark/model_registry.yaml")
    p.add_argument("--suite", default="lite", choices=sorted(default_spec().suites))
    p.add_argument("--out", type=Path, help="submission path (default results/<suite>/submissions/)")
    p.add_argument("--embeddings", type=Path, help="embedding directory (default embeddings/<suite>/<model>)")
    p.add_argument("--settings", help='extractor setting overrides as JSON, e.g. \'{"batch_size": 8}\'')
    p.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--no-noise-floor", action="store_true",
                   help="skip the noise floor's refits (faster; the submission then records none)")
    add_engine_args(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("summary", help="where a suite's results are, with per-category tables")
    p.add_argument("--suite", default="lite", choices=sorted(default_spec().suites))
    p.add_argument("--metric", default="MCC", choices=["MCC", "Acc", "F1"])
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("stats", help="descriptive statistics of a suite's task data")
    p.add_argument("--suite", default="lite", choices=sorted(default_spec().suites))
    p.add_argument("--tasks", nargs="*", help="task ids (default: the whole suite)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("build-lite", help="regenerate data/lite from the real GUE tasks")
    p.add_argument("--source", type=Path,
                   help="GUE task folders (default: ../shared/data/gue)")  # lazy: no sklearn
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
    from stages.scoring_cli import add_scoring_commands  # probe, reproduce, verify

    add_pipeline_commands(sub, sorted(default_spec().suites))
    add_scoring_commands(sub, spec)

    p = sub.add_parser("data-quality", help="duplicates, leakage, balance, lengths per task")
    p.add_argument("--suite", nargs="*", choices=sorted(spec.suites),
                   help="default: every suite whose task data is in the repository")
    p.add_argument("--check", action="store_true",
                   help="regenerate and compare with the committed statistics and known issues")
    p.set_defaults(func=cmd_data_quality)

    p = sub.add_parser("validate", help="check submission files; one line per problem")
    p.add_argument("files", nargs="+", type=Path, help="submission JSON files")
    p.add_argument("--suite", default="full", choices=sorted(spec.suites),
                   help="the leaderboard the files are meant for (default: full)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("pack", help="pack the first pipeline's per-task logs into a submission")
    p.add_argument("logs", type=Path, help="folder with results_<model>_<task>_<extractor>*.json")
    p.add_argument("--model-id", required=True)
    p.add_argument("--display", help="display name (default: from model_meta.json)")
    p.add_argument("--params", type=int, help="parameter count (default: from model_meta.json)")
    p.add_argument("--url")
    p.add_argument("--zero-shot", action="store_const", const=True)
    p.add_argument("--training-data")
    p.add_argument("--provenance", choices=["official", "verified", "reproduced", "self-reported"])
    p.add_argument("--submitted-by")
    p.add_argument("--suite", default="full", choices=sorted(spec.suites))
    p.add_argument("--extractor", help="use only logs of this extractor name")
    p.add_argument("--model-stem", help="use only logs of this model stem")
    p.add_argument("--out", type=Path, help="default: submissions/<model-id>.json")
    p.add_argument("--allow-incomplete", action="store_true",
                   help="write the file even with missing tasks (it will not validate)")
    p.set_defaults(func=cmd_pack)

    p = sub.add_parser("leaderboard", help="build leaderboard.json and leaderboard_tasks.json")
    p.add_argument("--submissions", type=Path, default=paths.SUBMISSIONS_DIR,
                   help="folder of submission files (default: the repository's submissions/)")
    p.add_argument("--out", type=Path, default=paths.LEADERBOARD_DIR,
                   help="where the two JSON files go (default: the repository's leaderboard/)")
    p.add_argument("--suite", default="full", choices=sorted(spec.suites))
    p.add_argument("--check", action="store_true",
                   help="rebuild in memory; exit 1 if the files in --out differ")
    p.set_defaults(func=cmd_leaderboard)

    p = sub.add_parser("plots", help="heatmap, size vs Macro, rank shift and rank-interval plots")
    p.add_argument("--submissions", type=Path, help="submissions directory (default submissions/)")
    p.add_argument("--out", type=Path, help="output directory (default leaderboard/plots)")
    p.add_argument("--suite", default="full", choices=sorted(spec.suites))
    p.add_argument("--metric", default=spec.primary_metric, choices=spec.metrics)
    p.add_argument("--format", nargs="+", default=["svg"], choices=["svg", "png"],
                   help="default svg (what the site links); png too: --format svg png")
    p.set_defaults(func=cmd_plots)
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
