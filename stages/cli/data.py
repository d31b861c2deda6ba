"""``geneb`` commands about the task data: stats, data-quality, check-data, import-data, verify-data."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from stages.cli.options import add_suite, command
from stages.spec import default_spec


def cmd_stats(args: argparse.Namespace) -> int:
    from stages.task_stats import format_stats_table, task_stats
    from stages.taskdata import load_task

    suite = default_spec().suite(args.suite)
    task_ids = args.tasks or suite.task_ids
    rows = [task_stats(load_task(suite.data_dir, task_id)) for task_id in task_ids]
    print(json.dumps(rows, indent=2) if args.json else format_stats_table(rows))
    return 0


def _add_stats(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "stats", "descriptive statistics of a suite's task data", cmd_stats)
    add_suite(p)
    p.add_argument("--tasks", nargs="*", help="task ids (default: the whole suite)")
    p.add_argument("--json", action="store_true")


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


def _add_data_quality(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "data-quality", "duplicates, leakage, balance, lengths per task",
                cmd_data_quality)
    p.add_argument("--suite", nargs="*", choices=sorted(default_spec().suites),
                   help="default: every suite whose task data is in the repository")
    p.add_argument("--check", action="store_true",
                   help="regenerate and compare with the committed statistics and known issues")


def cmd_check_data(args: argparse.Namespace) -> int:
    from stages.check_data import check_tasks

    check = check_tasks(args.dir)
    print("\n".join(check.report()))
    return 1 if check.problems else 0


def _add_check_data(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "check-data", "check any folder of task CSVs by the loader's rules: every "
                                   "problem as FILE: line N: field: problem, exit 1 if any",
                cmd_check_data)
    p.add_argument("dir", type=Path, help="one task folder (train.csv, test.csv) or a folder of "
                                          "task folders")


def cmd_import_data(args: argparse.Namespace) -> int:
    from stages.dvc_data import import_suite_data

    dvc_file = import_suite_data(args.suite, url=args.url, rev=args.rev, repo=args.repo)
    print(f"pinned: {dvc_file}; commit it with {dvc_file.parent / '.gitignore'}. To move to new "
          "data, change dataset.revision in benchmark/benchmark_spec.json and run this again "
          "(not `dvc update`)")
    return 0


def _add_import_data(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "import-data", "dvc import the pinned task data of a suite (the Hugging "
                                    "Face dataset at the spec's revision)", cmd_import_data)
    add_suite(p)
    p.add_argument("--url", help="dataset git URL (default: benchmark_spec.json dataset.source)")
    p.add_argument("--rev", help="commit to pin (default: benchmark_spec.json dataset.revision)")
    p.add_argument("--repo", type=Path, default=Path("."), help="repository root (default: .)")


def cmd_verify_data(args: argparse.Namespace) -> int:
    from stages.dvc_data import verify_suite_data

    message = verify_suite_data(default_spec().suite(args.suite), require_pin=True)
    print(message)
    return 0


def _add_verify_data(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "verify-data", "check a suite's data against its pin (rev and hashes)",
                cmd_verify_data)
    add_suite(p)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's subcommands to ``geneb``."""
    for add in (_add_stats, _add_data_quality, _add_check_data, _add_import_data,
                _add_verify_data):
        add(sub)
