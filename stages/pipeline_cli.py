"""``geneb`` subcommands of the DVC pipeline: code-manifest, manifest, embed, score, lockcheck,
import-data, verify-data, publish-data. Each is a thin wrapper over ``stages.pipeline``, ``stages.dvc_lockcheck`` or
``stages.dvc_data``; ``stages/cli.py`` registers them with :func:`add_pipeline_commands`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from stages.engines.config import add_engine_args


def cmd_embed(args: argparse.Namespace) -> int:
    from stages.engines.config import engine_from_args
    from stages.pipeline import embed_stage, resolve_overrides

    overrides = resolve_overrides(args.model, args.settings, args.params)
    embed_stage(args.model, args.suite, args.out, overrides, args.device, not args.quiet,
                engine=engine_from_args(args, args.params), manifest=args.manifest)
    return 0


def cmd_code_manifest(args: argparse.Namespace) -> int:
    from stages.code_manifest import write_code_manifests

    for path, manifest in write_code_manifests(args.out).items():
        print(f"{path}: sha256 of {len(manifest['files'])} file(s)")
    return 0


def cmd_manifest(args: argparse.Namespace) -> int:
    from stages.manifest import write_manifest
    from stages.spec import default_spec

    manifest = write_manifest(default_spec().suite(args.suite), args.out)
    print(f"{args.out}: md5 of {2 * len(manifest['tasks'])} CSVs of {len(manifest['tasks'])} "
          f"task(s), suite {args.suite!r}")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from stages.pipeline import resolve_overrides, score_stage
    from stages.run import describe_suite, format_summary
    from stages.spec import default_spec

    overrides = resolve_overrides(args.model, args.settings, args.params)
    submission = score_stage(args.model, args.suite, args.embeddings, overrides,
                             args.submission, args.metrics, not args.quiet)
    print(f"{args.model} on {describe_suite(submission)}")
    print(format_summary(submission, default_spec()))
    return 0


def cmd_lockcheck(args: argparse.Namespace) -> int:
    from stages.dvc_lockcheck import check_lock, format_report

    report = check_lock(args.repo)
    print(format_report(report))
    return 0 if report.ok else 1


def cmd_import_data(args: argparse.Namespace) -> int:
    from stages.dvc_data import import_suite_data

    dvc_file = import_suite_data(args.suite, url=args.url, rev=args.rev, repo=args.repo)
    print(f"pinned: {dvc_file}; commit it with {dvc_file.parent / '.gitignore'}. To move to new "
          "data, change dataset.revision in benchmark/benchmark_spec.json and run this again "
          "(not `dvc update`)")
    return 0


def cmd_verify_data(args: argparse.Namespace) -> int:
    from stages.dvc_data import verify_suite_data
    from stages.spec import default_spec

    message = verify_suite_data(default_spec().suite(args.suite), require_pin=True)
    print(message)
    return 0


def cmd_publish_data(args: argparse.Namespace) -> int:
    from stages.dvc_data import publish_dataset

    publish_dataset(args.source, repo_id=args.repo_id, dry_run=args.dry_run, staging=args.staging,
                    message=args.message)
    return 0


def _model_args(p: argparse.ArgumentParser, suites: list[str]) -> None:
    p.add_argument("--model", required=True, help="model id from benchmark/model_registry.yaml")
    p.add_argument("--suite", default="lite", choices=suites)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--params", type=Path, help="read settings from models.<id>.settings here")
    group.add_argument("--settings", help='settings overrides as JSON, e.g. \'{"strand": "both"}\'')
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def add_pipeline_commands(sub: argparse._SubParsersAction, suites: list[str]) -> None:
    """Register the pipeline subcommands on ``geneb``'s subparsers."""
    p = sub.add_parser("code-manifest", help="DVC stage code: record the sha256 of the source "
                                             "and definition files each pipeline step uses")
    p.add_argument("--out", type=Path, required=True, help="e.g. manifests/code")
    p.set_defaults(func=cmd_code_manifest)

    p = sub.add_parser("manifest", help="DVC stage manifest: check a suite's data against its "
                                        "pin and record the md5 of every task CSV")
    p.add_argument("--suite", default="lite", choices=suites)
    p.add_argument("--out", type=Path, required=True, help="e.g. data/<suite>/manifest.json")
    p.set_defaults(func=cmd_manifest)

    p = sub.add_parser("embed", help="DVC stage embed@<model>: embed a suite into per-task files")
    _model_args(p, suites)
    p.add_argument("--out", type=Path, required=True, help="embeddings directory of this model")
    p.add_argument("--manifest", type=Path, help="the suite's data manifest (default: hash the "
                                                 "CSVs and check the data pin here)")
    p.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
    add_engine_args(p)
    p.set_defaults(func=cmd_embed)

    p = sub.add_parser("score", help="DVC stage score@<model>: probe stored embeddings, write "
                                     "the submission and metrics (never loads the model)")
    _model_args(p, suites)
    p.add_argument("--embeddings", type=Path, required=True, help="the model's embeddings dir")
    p.add_argument("--submission", type=Path, help="default results/<suite>/submissions/<id>.json")
    p.add_argument("--metrics", type=Path, help="default results/<suite>/metrics/<id>.json")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("lockcheck", help="fail when dvc.lock is stale (CI; works without pulling)")
    p.add_argument("--repo", type=Path, default=Path("."), help="repository root (default: .)")
    p.set_defaults(func=cmd_lockcheck)

    p = sub.add_parser("import-data", help="dvc import the pinned task data of a suite "
                                           "(the Hugging Face dataset at the spec's revision)")
    p.add_argument("--suite", default="full", choices=suites)
    p.add_argument("--url", help="dataset git URL (default: benchmark_spec.json dataset.source)")
    p.add_argument("--rev", help="commit to pin (default: benchmark_spec.json dataset.revision)")
    p.add_argument("--repo", type=Path, default=Path("."), help="repository root (default: .)")
    p.set_defaults(func=cmd_import_data)

    p = sub.add_parser("verify-data", help="check a suite's data against its pin (rev and hashes)")
    p.add_argument("--suite", default="full", choices=suites)
    p.set_defaults(func=cmd_verify_data)

    p = sub.add_parser("publish-data", help="maintainers: upload task CSVs as a new revision of "
                                            "the Hugging Face dataset and print it")
    p.add_argument("source", type=Path, help="directory of <task_id>/{train,test}.csv")
    p.add_argument("--repo-id", help="dataset repo (default: benchmark_spec.json dataset.repo_id)")
    p.add_argument("--staging", type=Path, help="where to build the upload tree (default: temp)")
    p.add_argument("--message", default="GENEB task data", help="commit message on the Hub")
    p.add_argument("--dry-run", action="store_true", help="validate and stage, do not upload")
    p.set_defaults(func=cmd_publish_data)
