"""The base of every GENEB error."""

from __future__ import annotations

from collections.abc import Sequence


class GenebError(Exception):
    """A problem the user can fix (bad input, missing file, failed check).

    The ``geneb`` command line prints its message as one line and exits non-zero, without a
    traceback; the message names the file and field.
    """


def excerpt(text: str, limit: int = 80) -> str:
    """``text`` cut to about ``limit`` characters: a message quoting a value from a hostile file
    (a 100 KB name, a huge array) stays one short line."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def first_few(names: Sequence[str], shown: int) -> str:
    """The first ``shown`` of ``names``, comma-separated, with how many more there are: a message
    about many keys or tasks names a few and counts the rest."""
    more = f" (and {len(names) - shown} more)" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
