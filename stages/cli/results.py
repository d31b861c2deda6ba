"""``geneb`` commands that read results: compare, intervals, ranks, leaderboard, plots, and
probe (the protocol on one precomputed embedding file)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from stages.cli.options import add_suite, command
from stages.errors import GenebError
from stages.spec import default_spec


def _add_metric(p: argparse.ArgumentParser) -> None:
    spec = default_spec()
    p.add_argument("--metric", default=spec.primary_metric, choices=spec.metrics)


def _add_report_args(p: argparse.ArgumentParser, **regime: object) -> None:
    """What every report on submissions takes: a regime, a metric, a suite, ``--json``."""
    p.add_argument("--regime", choices=default_spec().regimes, **regime)  # type: ignore[arg-type]
    _add_metric(p)
    add_suite(p, submissions=True)
    p.add_argument("--json", action="store_true")


def cmd_compare(args: argparse.Namespace) -> int:
    from stages.compare import compare, format_comparison
    from stages.submission_store import find_submission, load_submission

    a, b = (load_submission(find_submission(ref, args.submissions, suite=args.suite))
            for ref in (args.a, args.b))
    result = compare(a, b, default_spec(), args.regime, args.metric, args.allow_mixed_suites)
    print(json.dumps(result, indent=2) if args.json else format_comparison(result))
    return 0


def _add_compare(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "compare", "compare two submissions task by task, with a paired test",
                cmd_compare)
    p.add_argument("a", help="model id or submission path (A)")
    p.add_argument("b", help="model id or submission path (B)")
    _add_report_args(p, default="full")
    p.add_argument("--submissions", type=Path, help="published submissions (default submissions/)")
    p.add_argument("--allow-mixed-suites", action="store_true",
                   help="compare a lite run with a full one anyway (different test data)")


def cmd_intervals(args: argparse.Namespace) -> int:
    from stages.submission_store import find_submission, load_submission
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


def _add_intervals(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "intervals", "per-seed 95% intervals (task, category, Macro) of a run",
                cmd_intervals)
    p.add_argument("submission", help="model id or submission path (needs run_settings.per_seed)")
    _add_report_args(p, nargs="*", help="default: few-shot regimes")


def cmd_ranks(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from stages import uncertainty as unc
    from stages.submission_store import load_submissions

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


def _add_ranks(sub: argparse._SubParsersAction) -> None:
    spec = default_spec()
    p = command(sub, "ranks", "Macro ranks with 95% bootstrap rank intervals", cmd_ranks)
    p.add_argument("--submissions", type=Path, help="submissions directory (default submissions/)")
    p.add_argument("--regime", default="full", choices=spec.regimes)
    _add_metric(p)
    p.add_argument("--resamples", type=int, help="bootstrap resamples (default 1000)")
    p.add_argument("--seed", type=int, help="bootstrap seed (default 20260)")
    p.add_argument("--json", action="store_true")


def _board_suite(args: argparse.Namespace) -> str:
    """``--suite``, else the one suite the folder's submissions claim (the CLI's suite rule)."""
    from stages.submission_store import folder_suite

    return args.suite or folder_suite(args.submissions)


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from stages.leaderboard import build_leaderboard, stale_files

    suite = _board_suite(args)
    if args.check:
        stale = stale_files(args.submissions, args.out, suite)
        for path in stale:
            print(f"{path}: differs from a rebuild of {args.submissions}; run `geneb leaderboard`")
        return 1 if stale else 0
    for path in build_leaderboard(args.submissions, args.out, suite):
        print(f"wrote {path}")
    return 0


def _add_leaderboard(sub: argparse._SubParsersAction) -> None:
    from stages import paths

    p = command(sub, "leaderboard", "build leaderboard.json and leaderboard_tasks.json",
                cmd_leaderboard)
    p.add_argument("--submissions", type=Path, default=paths.SUBMISSIONS_DIR,
                   help="folder of submission files (default: the repository's submissions/)")
    p.add_argument("--out", type=Path, default=paths.LEADERBOARD_DIR,
                   help="where the two JSON files go (default: the repository's leaderboard/)")
    add_suite(p, submissions=True)
    p.add_argument("--check", action="store_true",
                   help="rebuild in memory; exit 1 if the files in --out differ")


def cmd_plots(args: argparse.Namespace) -> int:
    from stages.plots import write_plots

    where = {"submissions_dir": args.submissions} if args.submissions else {}
    written = write_plots(args.out, suite=_board_suite(args), metric=args.metric, formats=args.format,
                          **where)
    print("\n".join(f"wrote {path}" for path in written))
    return 0


def _add_plots(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "plots", "heatmap, size vs Macro, rank shift and rank-interval figures for "
                "papers (the site draws its own)", cmd_plots)
    p.add_argument("--submissions", type=Path, help="submissions directory (default submissions/)")
    p.add_argument("--out", type=Path, required=True, help="output directory (never committed)")
    add_suite(p, submissions=True)
    _add_metric(p)
    p.add_argument("--format", nargs="+", default=["svg"], choices=["svg", "png"],
                   help="default svg; png too: --format svg png")


def _check_out_path(path: Path) -> None:
    """Refuse an ``--out`` that cannot be written before the (slow) probe runs, not after."""
    if path.is_dir():
        raise GenebError(f"--out {path}: is a directory; name a file, e.g. {path / 'probe.json'}")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise GenebError(f"--out {path}: {parent} is a file, not a directory")
            break


def cmd_probe(args: argparse.Namespace) -> int:
    from stages.embedding_files import read_embeddings
    from stages.io_utils import atomic_write_json
    from stages.probe import probe_task

    spec = default_spec()
    if args.out is not None:
        _check_out_path(args.out)
    emb = read_embeddings(args.embeddings)
    arrays, where = (emb.train_X, emb.train_y, emb.test_X, emb.test_y), str(args.embeddings)
    results = {"protocol": probe_task(*arrays, spec.protocol, spec.regimes, where=where)}
    payload = {regime: result.to_json() for regime, result in results["protocol"].items()}
    if args.exact:
        from stages.exact_probe import exact_probe_task

        results["exact"] = exact_probe_task(*arrays, spec.protocol, spec.regimes, where=where)
        payload["exact"] = {regime: result.to_json() for regime, result in results["exact"].items()}
    floors = {}
    if args.noise_floor:
        from stages.scoring import TaskScores, suite_noise_floor

        task = TaskScores(results["protocol"], results.get("exact", {}))
        floor = suite_noise_floor({where: Path(args.embeddings)}, {where: task}, spec).to_json()
        floors = {regime: by_task[where] for regime, by_task in floor["results"].items()}
        payload["noise_floor"] = {**floor, "results": floors}
    if args.out:
        atomic_write_json(args.out, payload)
        print(f"wrote {args.out}")
    for probe, by_regime in results.items():
        for regime, result in by_regime.items():
            mean, std = result.mean, result.std
            noise = floors.get(regime) if probe == "protocol" else None
            print(f"{probe:>8} {regime:>7}  " + "  ".join(
                f"{m} {mean[m]:.4f}±{std[m]:.4f}" + (f" (noise {noise[m]:.1e})" if noise else "")
                for m in mean))
    return 0


def _add_probe(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "probe", "run the linear-probe protocol on precomputed embeddings",
                cmd_probe)
    p.add_argument("embeddings", type=Path, help="NPZ with train_X, train_y, test_X, test_y")
    p.add_argument("--out", type=Path,
                   help="result JSON (keys full, 10shot, 1shot; exact, noise_floor when asked)")
    p.add_argument("--exact", action="store_true", help="also the exact probe (float64, converged)")
    p.add_argument("--noise-floor", action="store_true",
                   help="also the protocol numbers' machine noise floor (refits; slower)")


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's subcommands to ``geneb``."""
    for add in (_add_compare, _add_intervals, _add_ranks, _add_leaderboard, _add_plots,
                _add_probe):
        add(sub)
