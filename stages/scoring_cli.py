"""``geneb`` subcommands that compute or check numbers from embeddings: probe, reproduce, verify.

Thin wrappers over :mod:`stages.probe`, :mod:`stages.exact_probe`, :mod:`stages.scoring`,
:mod:`stages.reproduce` and :mod:`stages.verify`; ``stages/cli.py`` registers them with
:func:`add_scoring_commands`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from stages.spec import BenchmarkSpec, default_spec


def cmd_probe(args: argparse.Namespace) -> int:
    from stages.embedding_files import read_embeddings
    from stages.io_utils import atomic_write_json
    from stages.probe import probe_task

    spec = default_spec()
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


def _report(args: argparse.Namespace, report: dict) -> int:
    from stages.io_utils import atomic_write_json
    from stages.score_check import format_check

    if args.out:
        atomic_write_json(args.out, report)
    print(json.dumps(report, indent=2) if args.json else format_check(report))
    return 0 if report["matched"] else 1


def cmd_reproduce(args: argparse.Namespace) -> int:
    from stages.compare import find_submission, load_submission
    from stages.reproduce import EMBEDDING_TOLERANCE, reproduce
    from stages.score_check import TOLERANCE

    submission = load_submission(args.submission or find_submission(args.model, suite=args.suite))
    return _report(args, reproduce(
        submission, args.tasks, TOLERANCE if args.tolerance is None else args.tolerance,
        args.device, stored_dir=args.embeddings,
        embedding_tolerance=args.embedding_tolerance or EMBEDDING_TOLERANCE))


def cmd_verify(args: argparse.Namespace) -> int:
    from stages.compare import find_submission, load_submission
    from stages.score_check import TOLERANCE
    from stages.verify import verify

    repo = args.repo.resolve()
    submission = load_submission(args.submission or find_submission(
        args.model, repo / "submissions", repo / "results", suite=args.suite))
    return _report(args, verify(submission, repo, args.tasks, args.remote,
                                TOLERANCE if args.tolerance is None else args.tolerance,
                                not args.no_pull))


def add_scoring_commands(sub: argparse._SubParsersAction, spec: BenchmarkSpec) -> None:
    """Register probe, reproduce and verify on ``geneb``'s subparsers."""
    p = sub.add_parser("probe", help="run the linear-probe protocol on precomputed embeddings")
    p.add_argument("embeddings", type=Path, help="NPZ with train_X, train_y, test_X, test_y")
    p.add_argument("--out", type=Path,
                   help="result JSON (keys full, 10shot, 1shot; exact, noise_floor when asked)")
    p.add_argument("--exact", action="store_true", help="also the exact probe (float64, converged)")
    p.add_argument("--noise-floor", action="store_true",
                   help="also the protocol numbers' machine noise floor (refits; slower)")
    p.set_defaults(func=cmd_probe)

    for name, what in (("reproduce", "re-embed and re-score some tasks; compare with the submission"),
                       ("verify", "dvc pull a submission's embeddings, re-score, compare")):
        p = sub.add_parser(name, help=what)
        p.add_argument("model", help="registered model id")
        p.add_argument("--suite", default="lite", choices=sorted(spec.suites))
        p.add_argument("--tasks", nargs="*", help="task ids (default: all of the submission's)")
        p.add_argument("--submission", type=Path, help="submission path (default: found by id)")
        p.add_argument("--tolerance", type=float,
                       help="largest |difference| of a protocol task mean when the submission "
                            "recorded no noise floor (default 1e-3)")
        p.add_argument("--out", type=Path, help="write the evidence report (JSON) here")
        p.add_argument("--json", action="store_true")
        if name == "reproduce":
            p.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
            p.add_argument("--embeddings", type=Path,
                           help="stored embeddings to compare with (default embeddings/<suite>/<model>)")
            p.add_argument("--embedding-tolerance", type=float,
                           help="largest relative difference of a re-made embedding value (default 1e-4)")
            p.set_defaults(func=cmd_reproduce)
        else:
            p.add_argument("--repo", type=Path, default=Path("."), help="DVC repository root")
            p.add_argument("--remote", help="DVC remote (default: the repository's default)")
            p.add_argument("--no-pull", action="store_true", help="use embeddings already here")
            p.set_defaults(func=cmd_verify)
