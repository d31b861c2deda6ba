"""What several ``geneb`` subcommands share: how a command is declared, and the ``--suite`` rule.

One rule for an omitted ``--suite``: the suite of what the command reads. A command given
submissions (files, a folder, or model ids naming files) takes the suite each file claims (a
file without ``suite`` is full); every other command, which runs the pipeline or reads task
data, takes params.yaml's ``suite``: the suite this checkout evaluates ("lite" as committed).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from stages.spec import default_spec

Handler = Callable[[argparse.Namespace], int]


def command(sub: argparse._SubParsersAction, name: str, what: str,
            func: Handler) -> argparse.ArgumentParser:
    """Add subcommand ``name`` running ``func``; ``what`` is its one line in ``geneb --help``."""
    parser = sub.add_parser(name, description=what)
    parser.set_defaults(func=func)
    return parser


def checkout_suite() -> str:
    """params.yaml's ``suite``: what ``dvc repro`` evaluates in this checkout."""
    from stages.params import load_params

    return load_params().suite


def add_suite(parser: argparse.ArgumentParser, *, submissions: bool = False) -> None:
    """``--suite``, omitted meaning the suite of what the command reads (the module's rule).

    With ``submissions`` it stays ``None`` (each file's claim decides); otherwise :func:`fill_suite`
    sets it to :func:`checkout_suite` before the handler runs, so handlers see a suite name.
    """
    default = ("the suite each submission claims (none: full)" if submissions else
               "params.yaml's suite, the one this checkout evaluates")
    parser.add_argument("--suite", choices=sorted(default_spec().suites), help=f"default: {default}")
    if not submissions:
        parser.set_defaults(suite_default=checkout_suite)


def fill_suite(args: argparse.Namespace) -> None:
    """Apply the rule to parsed arguments (reads params.yaml only when ``--suite`` was omitted)."""
    if getattr(args, "suite", "") is None and hasattr(args, "suite_default"):
        args.suite = args.suite_default()
