"""``geneb`` commands for maintainers: build-lite, publish-data, pack, regenerate."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stages.cli.options import add_suite, command
from stages.spec import default_spec


def cmd_build_lite(args: argparse.Namespace) -> int:
    from stages.build_lite import DEFAULT_SOURCE, build_lite

    source = args.source or DEFAULT_SOURCE
    print(f"lite suite written to {build_lite(source, default_spec())}")
    return 0


def _add_build_lite(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "build-lite", "regenerate data/lite from the real GUE tasks", cmd_build_lite)
    p.add_argument("--source", type=Path,
                   help="GUE task folders (default: ../shared/data/gue)")  # lazy: no sklearn


def cmd_publish_data(args: argparse.Namespace) -> int:
    from stages.dvc_data import publish_dataset

    publish_dataset(args.source, repo_id=args.repo_id, dry_run=args.dry_run, staging=args.staging,
                    message=args.message)
    return 0


def _add_publish_data(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "publish-data", "upload task CSVs as a new revision of the Hugging Face "
                                     "dataset and print it", cmd_publish_data)
    p.add_argument("source", type=Path, help="directory of <task_id>/{train,test}.csv")
    p.add_argument("--repo-id", help="dataset repo (default: benchmark_spec.json dataset.repo_id)")
    p.add_argument("--staging", type=Path, help="where to build the upload tree (default: temp)")
    p.add_argument("--message", default="GENEB task data", help="commit message on the Hub")
    p.add_argument("--dry-run", action="store_true", help="validate and stage, do not upload")


def cmd_pack(args: argparse.Namespace) -> int:
    from stages.model_meta import default_model_meta
    from stages.pack import pack_logs, resolve_meta
    from stages.submission_store import submissions_dir, write_submission
    from stages.validate import validate_file

    overrides = {"display": args.display, "params": args.params, "url": args.url,
                 "zero_shot": args.zero_shot, "training_data": args.training_data,
                 "provenance": args.provenance, "submitted_by": args.submitted_by}
    if args.out is None and args.suite != "full":
        raise ValueError(f"give --out, or --suite full: only full-suite submissions go to "
                         f"submissions/, and this is suite {args.suite!r}")
    meta = resolve_meta(args.model_id, overrides, default_model_meta())
    report = pack_logs(args.logs, meta, default_spec(), suite=args.suite,
                       extractor=args.extractor, model_stem=args.model_stem)
    for line in report.lines():
        print(line)
    if not report.complete and not args.allow_incomplete:
        print("nothing written: fix the problems above or pass --allow-incomplete", file=sys.stderr)
        return 1
    out = args.out or submissions_dir() / f"{args.model_id}.json"
    write_submission(out, report.submission)
    problems = validate_file(out, args.suite).problems
    for problem in problems:
        print(problem)
    print(f"wrote {out}" + (f" ({len(problems)} validation problem(s))" if problems else
                            " (valid)"), file=sys.stderr)
    return 1 if problems else 0


def _add_pack(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "pack", "pack the first pipeline's per-task logs into a submission", cmd_pack)
    p.add_argument("logs", type=Path, help="folder with results_<model>_<task>_<extractor>*.json")
    p.add_argument("--model-id", required=True)
    p.add_argument("--display", help="display name (default: from the model's card)")
    p.add_argument("--params", type=int, help="parameter count (default: from the model's card)")
    p.add_argument("--url")
    p.add_argument("--zero-shot", action="store_const", const=True)
    p.add_argument("--training-data")
    p.add_argument("--provenance", choices=["official", "verified", "reproduced", "self-reported"])
    p.add_argument("--submitted-by")
    add_suite(p)
    p.add_argument("--extractor", help="use only logs of this extractor name")
    p.add_argument("--model-stem", help="use only logs of this model stem")
    p.add_argument("--out", type=Path, help="default: submissions/<model-id>.json")
    p.add_argument("--allow-incomplete", action="store_true",
                   help="write the file even with missing tasks (it will not validate)")


def cmd_regenerate(args: argparse.Namespace) -> int:
    from stages.regenerate import regenerate

    for line in regenerate():
        print(line)
    return 0


def _add_regenerate(sub: argparse._SubParsersAction) -> None:
    command(sub, "regenerate", "rebuild the generated files (dvc.lock, manifests/code/, the "
                               "official leaderboard JSON) after a merge; never embeds or "
                               "probes", cmd_regenerate)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's subcommands to ``geneb``."""
    for add in (_add_build_lite, _add_publish_data, _add_pack, _add_regenerate):
        add(sub)
