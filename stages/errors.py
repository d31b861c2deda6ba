"""The base of every GENEB error."""

from __future__ import annotations


class GenebError(Exception):
    """A problem the user can fix (bad input, missing file, failed check).

    The ``geneb`` command line prints its message as one line and exits non-zero, without a
    traceback; the message names the file and field.
    """
