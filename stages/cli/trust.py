"""``geneb`` commands that check a result can be trusted: validate, reproduce, verify, lockcheck."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from stages.cli.options import add_suite, command


def cmd_validate(args: argparse.Namespace) -> int:
    from stages.validate import validate_files

    checked = validate_files(args.files, args.suite)
    problems = [problem for c in checked for problem in c.problems]
    for problem in problems:
        print(problem)
    bad = sum(1 for c in checked if c.problems)
    for_suite = f"suite {args.suite!r}" if args.suite else "the suite each claims"
    print(f"{len(checked) - bad} of {len(checked)} file(s) valid for {for_suite}"
          + (f"; {len(problems)} problem(s)" if problems else ""), file=sys.stderr)
    return 1 if problems else 0


def _add_validate(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "validate", "check submission files; one line per problem", cmd_validate)
    p.add_argument("files", nargs="+", type=Path, help="submission JSON files")
    add_suite(p, submissions=True)  # CI checks the official board's files with --suite full


def _report(args: argparse.Namespace, report: dict) -> int:
    from stages.io_utils import atomic_write_json
    from stages.score_check import format_check

    if args.out:
        atomic_write_json(args.out, report)
    print(json.dumps(report, indent=2) if args.json else format_check(report))
    return 0 if report["matched"] else 1


def cmd_reproduce(args: argparse.Namespace) -> int:
    from stages.reproduce import EMBEDDING_TOLERANCE, reproduce
    from stages.score_check import TOLERANCE
    from stages.submission_store import find_submission, load_submission

    submission = load_submission(args.submission or find_submission(args.model, suite=args.suite))
    return _report(args, reproduce(
        submission, args.tasks, TOLERANCE if args.tolerance is None else args.tolerance,
        args.device, stored_dir=args.embeddings,
        embedding_tolerance=args.embedding_tolerance or EMBEDDING_TOLERANCE))


def cmd_verify(args: argparse.Namespace) -> int:
    from stages.score_check import TOLERANCE
    from stages.submission_store import find_submission, load_submission
    from stages.verify import verify

    repo = args.repo.resolve()
    submission = load_submission(args.submission or find_submission(
        args.model, repo / "submissions", repo / "results", suite=args.suite))
    return _report(args, verify(submission, repo, args.tasks, args.remote,
                                TOLERANCE if args.tolerance is None else args.tolerance,
                                not args.no_pull))


def _check_args(p: argparse.ArgumentParser) -> None:
    """The flags reproduce and verify share: which submission, which tasks, the report."""
    p.add_argument("model", help="registered model id")
    add_suite(p, submissions=True)
    p.add_argument("--tasks", nargs="*", help="task ids (default: all of the submission's)")
    p.add_argument("--submission", type=Path, help="submission path (default: found by id)")
    p.add_argument("--tolerance", type=float,
                   help="largest |difference| of a protocol task mean when the submission "
                        "recorded no noise floor (default 1e-3)")
    p.add_argument("--out", type=Path, help="write the evidence report (JSON) here")
    p.add_argument("--json", action="store_true")


def _add_reproduce(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "reproduce", "re-embed and re-score some tasks; compare with the submission",
                cmd_reproduce)
    _check_args(p)
    p.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
    p.add_argument("--embeddings", type=Path,
                   help="stored embeddings to compare with (default embeddings/<suite>/<model>)")
    p.add_argument("--embedding-tolerance", type=float,
                   help="largest relative difference of a re-made embedding value (default 1e-4)")


def _add_verify(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "verify", "dvc pull a submission's embeddings, re-score, compare", cmd_verify)
    _check_args(p)
    p.add_argument("--repo", type=Path, default=Path("."), help="DVC repository root")
    p.add_argument("--remote", help="DVC remote (default: the repository's default)")
    p.add_argument("--no-pull", action="store_true", help="use embeddings already here")


def cmd_lockcheck(args: argparse.Namespace) -> int:
    from stages.dvc_lockcheck import check_lock, format_report

    report = check_lock(args.repo)
    print(format_report(report))
    return 0 if report.ok else 1


def _add_lockcheck(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "lockcheck", "fail when dvc.lock is stale (CI; works without pulling)",
                cmd_lockcheck)
    p.add_argument("--repo", type=Path, default=Path("."), help="repository root (default: .)")


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's subcommands to ``geneb``."""
    for add in (_add_validate, _add_reproduce, _add_verify, _add_lockcheck):
        add(sub)
