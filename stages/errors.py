"""The base of every GENEB error."""

from __future__ import annotations


class GenebError(Exception):
    """A problem the user can fix (bad input, missing file, failed check).

    The ``geneb`` command line prints its message as one line and exits non-zero, without a
    traceback; the message names the file and field.
    """


def excerpt(text: str, limit: int = 80) -> str:
    """``text`` cut to about ``limit`` characters: a message quoting a value from a hostile file
    (a 100 KB name, a huge array) stays one short line."""
    return text if len(text) <= limit else text[:limit - 1] + "…"
