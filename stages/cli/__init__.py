"""The ``geneb`` command line, one module per concern. Each subcommand is a thin handler over a
module in ``stages``, declared beside its flags; handlers import their module lazily so that
``geneb --help`` and ``geneb probe`` start without numpy, sklearn or torch."""

from __future__ import annotations

import argparse
import sys
from types import ModuleType

from stages import __version__
from stages.cli import data, maintainers, pipeline, results, trust
from stages.cli.options import fill_suite
from stages.errors import GenebError

# (heading in `geneb --help`, module with `register(sub)`), in the order a newcomer meets them.
GROUPS: tuple[tuple[str, ModuleType], ...] = (
    ("pipeline (make results)", pipeline),
    ("results and leaderboard (read them)", results),
    ("trust (check a submission or the pipeline)", trust),
    ("data (the task data)", data),
    ("maintainers (the lite suite, the dataset, legacy logs)", maintainers),
)


def build_parser() -> argparse.ArgumentParser:
    """``geneb``'s parser; ``--help`` lists the subcommands under their group's heading."""
    parser = argparse.ArgumentParser(prog="geneb", description="GENEB: the genomic embedding "
                                     "benchmark", formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"geneb {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="<command>",
                                help="one of the commands below; geneb <command> --help for its flags")
    listing = []
    for heading, module in GROUPS:
        before = set(sub.choices)
        module.register(sub)
        listing += ["", f"{heading}:"]
        listing += [f"  {name:<14} {sub.choices[name].description}"
                    for name in sub.choices if name not in before]
    parser.epilog = "\n".join(listing[1:])
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; a problem the user can fix is one line on stderr and exit status 2."""
    try:  # the parser reads the benchmark definition: outside a checkout that is one line too
        parser = build_parser()
    except GenebError as exc:
        print(f"geneb: error: {exc}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    try:
        fill_suite(args)
        return args.func(args)
    except (GenebError, ValueError, OSError) as exc:
        print(f"geneb {args.command}: error: {exc}", file=sys.stderr)
        return 2
