"""``geneb`` commands that make results: run, and the DVC stages code-manifest, manifest, embed,
score; summary shows what they made.

``stages/code_manifest.py`` hashes this module into every pipeline step (it holds the steps'
handlers); the other ``stages/cli`` modules only dispatch.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from stages.cli.options import add_suite, command
from stages.engines.config import add_engine_args
from stages.spec import default_spec


def cmd_run(args: argparse.Namespace) -> int:
    from stages.aggregate import format_summary
    from stages.dvc_reports import report_paths
    from stages.params import resolve_engine, resolve_overrides
    from stages.run import default_paths, run_model

    out = default_paths(args.suite, args.model)
    if args.out:
        out = replace(out, submission=args.out, reports=args.out.parent)
    if args.embeddings:
        out = replace(out, embeddings=args.embeddings)
    overrides = resolve_overrides(args.model, args.settings, None)
    submission = run_model(args.model, args.suite, out, overrides, args.device, not args.quiet,
                           engine=resolve_engine(args.engine, args.ray_address),
                           with_noise_floor=not args.no_noise_floor)
    print(f"\n{args.model} on {submission.describe_suite()}")
    print(format_summary(submission, default_spec()))
    metrics = report_paths(out.reports, args.model)["metrics"]
    print(f"\nsubmission: {out.submission}\nmetrics:    {metrics}\nembeddings: {out.embeddings}")
    return 0


def _add_run(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "run", "embed a suite with a registered model, probe, write a submission",
                cmd_run)
    p.add_argument("--model", required=True, help="model id (benchmark/models/<id>.yaml, with an embed section)")
    add_suite(p)
    p.add_argument("--out", type=Path, help="submission path (default results/<suite>/submissions/); "
                                            "the metrics and plot files go below its folder")
    p.add_argument("--embeddings", type=Path, help="embedding directory (default embeddings/<suite>/<model>)")
    p.add_argument("--settings", help='extractor setting overrides as JSON, e.g. \'{"batch_size": 8}\'')
    p.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--no-noise-floor", action="store_true",
                   help="skip the noise floor's refits (faster; the submission then records none)")
    add_engine_args(p)


def cmd_code_manifest(args: argparse.Namespace) -> int:
    from stages.code_manifest import write_code_manifests
    from stages.params import check_suite_data, load_params

    params = load_params(args.params)  # the pipeline's first stage: a bad suite stops here, named
    check_suite_data(params)
    for path, manifest in write_code_manifests(list(params.models), args.out).items():
        print(f"{path}: sha256 of {len(manifest['files'])} file(s)")
    return 0


def _add_code_manifest(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "code-manifest", "DVC stage code: record the sha256 of the source and "
                                      "definition files each pipeline step uses (per model of "
                                      "params.yaml for embed and score)", cmd_code_manifest)
    p.add_argument("--out", type=Path, required=True, help="e.g. manifests/code")
    p.add_argument("--params", type=Path, default=Path("params.yaml"),
                   help="the models to write manifests for; checked first (suite and models, "
                        "and that the suite's task data is here; default: params.yaml)")


def cmd_manifest(args: argparse.Namespace) -> int:
    from stages.manifest import write_manifest

    manifest = write_manifest(default_spec().suite(args.suite), args.out)
    print(f"{args.out}: md5 of {2 * len(manifest['tasks'])} CSVs of {len(manifest['tasks'])} "
          f"task(s), suite {args.suite!r}")
    return 0


def _add_manifest(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "manifest", "DVC stage manifest: check a suite's data against its pin and "
                                 "record the md5 of every task CSV", cmd_manifest)
    p.add_argument("--out", type=Path, required=True, help="e.g. data/<suite>/manifest.json")
    add_suite(p)


def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="model id (benchmark/models/<id>.yaml, with an embed section)")
    add_suite(p)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--params", type=Path, help="read settings from models.<id>.settings here")
    group.add_argument("--settings", help='settings overrides as JSON, e.g. \'{"strand": "both"}\'')
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def cmd_embed(args: argparse.Namespace) -> int:
    from stages.params import resolve_engine, resolve_overrides
    from stages.pipeline import embed_stage

    overrides = resolve_overrides(args.model, args.settings, args.params)
    embed_stage(args.model, args.suite, args.out, overrides, args.device, not args.quiet,
                engine=resolve_engine(args.engine, args.ray_address, args.params),
                manifest=args.manifest)
    return 0


def _add_embed(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "embed", "DVC stage embed@<model>: embed a suite into per-task files",
                cmd_embed)
    _model_args(p)
    p.add_argument("--out", type=Path, required=True, help="embeddings directory of this model")
    p.add_argument("--manifest", type=Path, help="the suite's data manifest (default: hash the "
                                                 "CSVs and check the data pin here)")
    p.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
    add_engine_args(p)


def cmd_score(args: argparse.Namespace) -> int:
    from stages.aggregate import format_summary
    from stages.params import resolve_overrides
    from stages.pipeline import score_stage

    overrides = resolve_overrides(args.model, args.settings, args.params)
    submission = score_stage(args.model, args.suite, args.embeddings, overrides,
                             args.submission, args.reports, not args.quiet)
    print(f"{args.model} on {submission.describe_suite()}")
    print(format_summary(submission, default_spec()))
    return 0


def _add_score(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "score", "DVC stage score@<model>: probe stored embeddings, write the "
                              "submission and metrics (never loads the model)", cmd_score)
    _model_args(p)
    p.add_argument("--embeddings", type=Path, required=True, help="the model's embeddings dir")
    p.add_argument("--submission", type=Path, help="default results/<suite>/submissions/<id>.json")
    p.add_argument("--reports", type=Path, help="the folder the metrics and plot files go below "
                                                "(metrics/<id>.json, plots/<id>/...; default "
                                                "results/<suite>)")


def cmd_summary(args: argparse.Namespace) -> int:
    """Where a suite's results are, and each model's per-category table (the end of `make run`)."""
    from stages.aggregate import format_summary
    from stages.score_check import compare_submissions, verdict_lines
    from stages.submission_store import committed_submission, load_submission, results_dir

    base = results_dir(args.suite)
    for path in sorted((base / "submissions").glob("*.json")):
        submission = load_submission(path)
        print(f"\n{submission.model_id} on {submission.describe_suite()}")
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


def _add_summary(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "summary", "where a suite's results are, with per-category tables",
                cmd_summary)
    add_suite(p)
    p.add_argument("--metric", default="MCC", choices=["MCC", "Acc", "F1"])


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's subcommands to ``geneb``."""
    for add in (_add_run, _add_embed, _add_score, _add_summary, _add_code_manifest,
                _add_manifest):
        add(sub)
