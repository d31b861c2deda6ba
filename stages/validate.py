"""``geneb validate``: is a submission file fit for a leaderboard?

One :class:`Problem` per defect, each naming the file, the field (a ``/``-separated path into the
JSON) and what is wrong, so a contributor can fix a pull request without reading this code. The
structure comes from ``benchmark/schema/submission.schema.json`` (the published v1.0 keys plus the
optional ``suite``, ``exact_results`` and ``run_settings``); the rules a schema cannot express
live here: the suite's exact task set (for both probes' numbers), per-seed values that average to
the reported means, a noise floor for every task, file name and model id safety, provenance
claims against the model's card (``benchmark/models/<model_id>.yaml``), and non-finite numbers,
which Python's JSON reader would otherwise accept silently. The file may be hostile: it is parsed
by :mod:`stages.untrusted_json` (bounded depth), and no line quotes more than an excerpt of a value
or key.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

from stages import paths
from stages.errors import GenebError, excerpt, first_few
from stages.model_meta import PROVENANCES, RESTRICTED_PROVENANCES, ModelMeta, default_model_meta
from stages.spec import METRICS, BenchmarkSpec, default_spec
from stages.submission import DEFAULT_SUITE, claimed_suite
from stages.untrusted_json import NonFinite, UntrustedJsonError, parse

MAX_FILE_BYTES = 4 * 1024 * 1024  # a full submission with per-seed run settings is ~0.5 MB
MAX_MODEL_ID_LENGTH = 100
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_PER_SEED_TOLERANCE = 1e-9
_SHOWN = 5  # task ids named in one "missing tasks" line
_FIELD_CHARS, _MESSAGE_CHARS = 200, 600  # a line's field and message: beyond any real one
_PATTERN_MEANING = {"display": "contains control characters",
                    "url": "must be an http:// or https:// URL (or empty)"}


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    field: str
    message: str

    def __post_init__(self) -> None:  # keys and values from the file: one short line each
        object.__setattr__(self, "field", excerpt(_printable(self.field), _FIELD_CHARS))
        object.__setattr__(self, "message", excerpt(_printable(self.message), _MESSAGE_CHARS))

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"


def _printable(text: str) -> str:
    """``text`` with control characters (a newline in a key) escaped, so it stays one line."""
    return "".join(repr(ch)[1:-1] if unicodedata.category(ch) == "Cc" else ch for ch in text)


def _show(value: Any) -> str:
    """A value from the file as a message quotes it: its ``repr``, cut to an excerpt."""
    return excerpt(repr(value))


@dataclass
class Checked:
    """One file's parsed content (``None`` when unreadable) and everything wrong with it."""

    path: Path
    data: dict[str, Any] | None
    problems: list[Problem] = field(default_factory=list)


class SubmissionError(GenebError, ValueError):
    """Raised where invalid submissions must stop a build; the message lists every problem."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__("invalid submission(s):\n" + "\n".join(str(p) for p in self.problems))


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((paths.SCHEMA_DIR / "submission.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def model_id_problems(model_id: str) -> list[str]:
    """Why ``model_id`` is not a safe file name (empty list when it is)."""
    if not model_id:
        return ["is empty"]
    found = []
    if len(model_id) > MAX_MODEL_ID_LENGTH:
        found.append(f"is {len(model_id)} characters long; at most {MAX_MODEL_ID_LENGTH} allowed")
    if "/" in model_id or "\\" in model_id:
        found.append(f"{_show(model_id)} contains a path separator")
    if ".." in model_id:
        found.append(f"{_show(model_id)} contains '..'")
    if any(unicodedata.category(ch) == "Cc" for ch in model_id):
        found.append(f"{_show(model_id)} contains control characters")
    if not found and not _SAFE_ID.fullmatch(model_id):
        found.append(f"{_show(model_id)} may only use letters, digits, '.', '_' and '-', "
                     "starting with a letter or digit")
    return found


def _pointer(parts: Iterable[Any]) -> str:
    return "/".join(str(part) for part in parts) or "<root>"


def _non_finite(value: Any, where: tuple = ()) -> list[tuple[tuple, str]]:
    """Paths of NaN/Infinity literals and of numbers too large for a float (``1e400``)."""
    if isinstance(value, NonFinite):
        return [(where, value.literal)]
    if isinstance(value, float) and not math.isfinite(value):
        return [(where, repr(value))]
    items = value.items() if isinstance(value, dict) else enumerate(value) \
        if isinstance(value, list) else ()
    return [hit for key, item in items for hit in _non_finite(item, (*where, key))]


def _describe(error: jsonschema.ValidationError) -> str:
    """The schema's complaint, quoting at most an excerpt of the value."""
    value, bounds = error.instance, error.schema  # the failing value and its sub-schema
    if error.validator in ("minimum", "maximum"):
        low, high = bounds.get("minimum"), bounds.get("maximum")
        if low is not None and high is not None:
            return f"{_show(value)} is outside [{low}, {high}]"
        return f"{_show(value)} must be " + (f"at least {low}" if high is None else f"at most {high}")
    if error.validator == "additionalProperties" and isinstance(value, dict):
        extra = [key for key in value if key not in bounds.get("properties", {})]
        return (f"Additional properties are not allowed ({', '.join(map(_show, extra[:_SHOWN]))}"
                f"{' and more' if len(extra) > _SHOWN else ''} "
                f"{'was' if len(extra) == 1 else 'were'} unexpected)")
    if error.validator == "maxLength":
        return f"is {len(value):,} characters long; at most {bounds['maxLength']} allowed"
    if error.validator == "pattern" and error.path and error.path[-1] in _PATTERN_MEANING:
        return _PATTERN_MEANING[error.path[-1]]
    return error.message.replace(repr(value), _show(value))


def read_submission(path: Path) -> Checked:
    """Parse one file with the size, encoding, duplicate-key and non-finite checks."""
    path = Path(path)
    checked = Checked(path, None)
    name = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        checked.problems.append(Problem(name, "<file>", f"cannot read: {exc.strerror or exc}"))
        return checked
    if size > MAX_FILE_BYTES:
        checked.problems.append(Problem(
            name, "<file>", f"is {size:,} bytes; the limit is {MAX_FILE_BYTES:,} bytes"))
        return checked
    try:
        data = parse(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        checked.problems.append(Problem(name, "<file>", f"is not UTF-8 text ({exc.reason})"))
        return checked
    except UntrustedJsonError as exc:
        checked.problems.append(Problem(name, "<file>", str(exc)))
        return checked
    if not isinstance(data, dict):
        checked.problems.append(Problem(name, "<root>", "must be a JSON object"))
        return checked
    checked.data = data
    return checked


def check_submission(
    data: dict[str, Any],
    name: str,
    *,
    stem: str | None = None,
    suite: str | None = None,
    spec: BenchmarkSpec | None = None,
    model_meta: dict[str, ModelMeta] | None = None,
) -> list[Problem]:
    """Every problem of a parsed submission meant for the ``suite`` leaderboard (``None``: the
    suite the file claims)."""
    spec = spec or default_spec()
    model_meta = default_model_meta() if model_meta is None else model_meta
    claimed = claimed_suite(data)
    if suite is None:
        suite = claimed if isinstance(claimed, str) and claimed in spec.suites else DEFAULT_SUITE
    expected = spec.suite(suite)
    problems: list[Problem] = []

    def add(where: Iterable[Any] | str, message: str) -> None:
        problems.append(Problem(name, where if isinstance(where, str) else _pointer(where), message))

    bad_numbers = _non_finite(data)
    for where, literal in bad_numbers:
        add(where, f"{literal} is not allowed: every score must be a finite number")
    skip = {tuple(str(p) for p in where) for where, _ in bad_numbers}
    for error in sorted(_validator().iter_errors(data), key=lambda e: (_pointer(e.absolute_path),
                                                                         e.message)):
        if tuple(str(p) for p in error.absolute_path) not in skip:
            add(error.absolute_path, _describe(error))

    model_id = data.get("model_id")
    if isinstance(model_id, str):
        for message in model_id_problems(model_id):
            add("model_id", message)
        if stem is not None and model_id != stem:
            add("model_id", f"{_show(model_id)} does not match the file name {stem + '.json'!r} "
                            "(a submission is stored as <model_id>.json)")

    if isinstance(claimed, str):
        problems.extend(_suite_problems(data, name, claimed, expected.name, spec))
        if claimed in spec.suites:
            for key in ("results", "exact_results"):
                problems.extend(_coverage_problems(data, name, spec, spec.suite(claimed).task_ids, key))

    meta = data.get("meta")
    if isinstance(meta, dict) and isinstance(model_id, str):
        claim, listed = meta.get("provenance"), model_meta.get(model_id)
        if claim in RESTRICTED_PROVENANCES and (listed is None or listed.provenance != claim):
            lists = (f"its card in benchmark/models/{model_id}.yaml lists it as "
                     f"{listed.provenance!r}" if listed else
                     "benchmark/models/ has no card for this model")
            add("meta/provenance", f"{claim!r} is granted by the maintainers only; {lists}")
        elif (expected.is_official and listed is not None and claim in PROVENANCES
              and claim != listed.provenance):
            add("meta/provenance", f"{claim!r} disagrees with its card in "
                                   f"benchmark/models/{model_id}.yaml ({listed.provenance!r})")

    if isinstance(data.get("run_settings"), dict) and not skip:
        problems.extend(_run_settings_problems(data, name, spec))
    return problems


def _suite_problems(data: dict, name: str, claimed: str, expected: str, spec: BenchmarkSpec
                    ) -> list[Problem]:
    if claimed not in spec.suites:
        return [Problem(name, "suite", f"unknown suite {_show(claimed)}; known: "
                                       f"{', '.join(sorted(spec.suites))}")]
    found = []
    if claimed != expected:
        if spec.suite(expected).is_official:
            why = (f"{claimed!r} is a subsample smoke-test suite; its scores are not GENEB scores "
                   "and cannot be submitted as GENEB results" if spec.suite(claimed).is_subsample
                   else f"{claimed!r} results cannot go on the {expected!r} leaderboard")
        else:
            why = f"file claims suite {claimed!r} but this is the {expected!r} leaderboard"
        found.append(Problem(name, "suite", why))
    recorded = (data.get("run_settings") or {}).get("suite")
    if isinstance(recorded, dict):
        if recorded.get("name") not in (None, claimed):
            found.append(Problem(name, "run_settings/suite/name",
                                 f"{_show(recorded.get('name'))} disagrees with suite {claimed!r}"))
        if recorded.get("subsample") is True and not spec.suite(claimed).is_subsample:
            found.append(Problem(name, "run_settings/suite/subsample",
                                 f"the run used a subsample, but the file claims suite {claimed!r}"))
    return found


def _coverage_problems(data: dict, name: str, spec: BenchmarkSpec, task_ids: Sequence[str],
                       key: str = "results") -> list[Problem]:
    """Missing or extra regimes and tasks of ``results`` (or ``exact_results``, when present)
    against the claimed suite (one line per regime)."""
    results = data.get(key)
    if not isinstance(results, dict):
        return []
    found = []
    missing_regimes = [r for r in spec.regimes if r not in results]
    if missing_regimes:
        found.append(Problem(name, key, f"missing regime(s): {', '.join(missing_regimes)}"))
    for regime in sorted(set(results) - set(spec.regimes)):
        found.append(Problem(name, f"{key}/{regime}",
                             f"unknown regime; expected {', '.join(spec.regimes)}"))
    wanted, known = set(task_ids), set(spec.task_ids)
    for regime in (r for r in spec.regimes if isinstance(results.get(r), dict)):
        present = set(results[regime])
        missing = [t for t in task_ids if t not in present]
        if missing:
            found.append(Problem(name, f"{key}/{regime}", f"missing {len(missing)} of "
                                 f"{len(task_ids)} tasks: {first_few(missing, _SHOWN)}"))
        for task_id in sorted(present - wanted):
            why = "not a task of this suite" if task_id in known else "unknown task id"
            found.append(Problem(name, f"{key}/{regime}/{task_id}", why))
    return found


def _run_settings_problems(data: dict, name: str, spec: BenchmarkSpec) -> list[Problem]:
    """Run settings must describe this very result: same harness, data pin, tasks and seeds."""
    settings, found = data["run_settings"], []
    if settings.get("harness_version") != data.get("harness_version"):
        found.append(Problem(name, "run_settings/harness_version",
                             f"{_show(settings.get('harness_version'))} disagrees with "
                             f"harness_version {_show(data.get('harness_version'))}"))
    dataset = settings.get("dataset") or {}
    pin = {"repo_id": spec.dataset.repo_id, "revision": spec.dataset.revision}
    for key, value in pin.items():
        if dataset.get(key) != value:
            found.append(Problem(name, f"run_settings/dataset/{key}",
                                 f"{_show(dataset.get(key))} is not the pinned {value!r}"))
    seeds = list(spec.protocol.seeds)
    for seed_key, key in (("per_seed", "results"), ("exact_per_seed", "exact_results")):
        if seed_key in settings and key not in data:
            found.append(Problem(name, f"run_settings/{seed_key}", f"present, but {key} is missing"))
        results = data.get(key) or {}
        for regime, tasks in (settings.get(seed_key) or {}).items():
            for task_id, record in tasks.items():
                where = f"run_settings/{seed_key}/{regime}/{task_id}"
                if record.get("seeds") != seeds:
                    found.append(Problem(name, f"{where}/seeds",
                                         f"{_show(record.get('seeds'))} are not the protocol "
                                         f"seeds {seeds}"))
                reported = (results.get(regime) or {}).get(task_id) or {}
                for metric in METRICS:
                    values = record.get(metric) or []
                    if metric in reported and (not values or abs(
                            sum(values) / len(values) - reported[metric]) > _PER_SEED_TOLERANCE):
                        found.append(Problem(name, f"{where}/{metric}",
                                             f"per-seed values do not average to the reported "
                                             f"{reported[metric]}"))
    floor = (settings.get("noise_floor") or {}).get("results") or {}
    for regime, tasks in (data.get("results") or {}).items():
        missing = sorted(set(tasks) - set(floor.get(regime) or {})) if floor else []
        if missing:
            found.append(Problem(name, f"run_settings/noise_floor/results/{regime}",
                                 f"no noise floor for {len(missing)} task(s): "
                                 f"{', '.join(missing[:_SHOWN])}"))
    return found


def validate_file(path: Path, suite: str | None = None, **context: Any) -> Checked:
    """Read and check one file for ``suite`` (``None``: the suite it claims; ``context``:
    optional ``spec`` and ``model_meta``)."""
    checked = read_submission(path)
    if checked.data is not None:
        stem = checked.path.name[:-5] if checked.path.name.endswith(".json") else None
        if stem is None:
            checked.problems.append(Problem(str(path), "<file>", "name must end in .json"))
        checked.problems.extend(check_submission(checked.data, str(path), stem=stem, suite=suite,
                                                 **context))
    return checked


def validate_files(files: Sequence[Path], suite: str | None = None, **context: Any
                   ) -> list[Checked]:
    """Check every file, then model ids that clash ignoring case (they collide on some disks)."""
    results = [validate_file(path, suite, **context) for path in files]
    by_folded: dict[str, list[Checked]] = {}
    for checked in results:
        model_id = (checked.data or {}).get("model_id")
        if isinstance(model_id, str):
            by_folded.setdefault(model_id.casefold(), []).append(checked)
    for group in by_folded.values():
        ids = sorted({c.data["model_id"] for c in group})  # type: ignore[index]
        if len(group) > 1:
            for checked in group:
                others = [str(c.path) for c in group if c is not checked]
                what = "differs only by case from" if len(ids) > 1 else "is also used by"
                checked.problems.append(Problem(
                    str(checked.path), "model_id",
                    f"{checked.data['model_id']!r} {what} {', '.join(others)}; "  # type: ignore[index]
                    "model ids must be unique ignoring case"))
    return results
