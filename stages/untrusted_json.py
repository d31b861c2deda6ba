"""Parsing JSON text that anyone can send (a submission in a pull request).

Python's reader is too trusting for such text: it recurses once per nesting level (100,000
brackets end in a ``RecursionError``), keeps the last of two equal keys, and turns the ``NaN`` and
``Infinity`` literals, which are not JSON, into floats. :func:`parse` refuses the first two with an
:class:`UntrustedJsonError` whose message never quotes the text at length, and keeps the literals
as :class:`NonFinite` markers so the caller can name the field that holds one. Whatever it returns
nests at most :data:`MAX_DEPTH` levels, so recursive checks after it (the schema validator) are
safe.
"""

from __future__ import annotations

import json
from typing import Any

from stages.errors import GenebError, excerpt

MAX_DEPTH = 32  # a submission nests 7 levels (run_settings/per_seed/regime/task/metric/list)


class UntrustedJsonError(GenebError, ValueError):
    """The text is not JSON that GENEB reads; the message says why in one short line."""


class NonFinite:
    """Stand-in for a ``NaN`` / ``Infinity`` literal, so that it is reported, not parsed."""

    def __init__(self, literal: str):
        self.literal = literal


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    for key in keys:
        if keys.count(key) > 1:
            raise UntrustedJsonError(f"is not valid JSON: key {excerpt(repr(key))} appears more "
                                     "than once in one object")
    return dict(pairs)


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` nests more than ``limit`` arrays or objects (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) \
            else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def parse(text: str) -> Any:
    """The value of JSON ``text``, or an :class:`UntrustedJsonError` saying what is wrong."""
    too_deep = UntrustedJsonError(f"nests arrays or objects more than {MAX_DEPTH} levels deep")
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=NonFinite)
    except RecursionError:
        raise too_deep from None
    except json.JSONDecodeError as exc:
        raise UntrustedJsonError(f"is not valid JSON: {exc}") from None
    if _deeper_than(value, MAX_DEPTH):
        raise too_deep
    return value
