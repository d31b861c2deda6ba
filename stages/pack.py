"""``geneb pack``: turn the first GENEB pipeline's per-task logs into one submission.

That pipeline wrote one file per task and regime, named
``results_<model stem>_<task id>_<extractor>.json`` (full regime) and ``..._<extractor>_k-<k>.json``
(k-shot), each ``{"accuracy": {"mean", "std"}, "f1_score": {...}, "mcc": {...}}``. The model stem
is unreliable (``Path(name).stem`` cut ``dna_gpt0.1b_h`` to ``dna_gpt0``), so a file is recognised
by the task id it contains, delimited by underscores; the longest such id wins.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stages.errors import first_few
from stages.model_meta import ModelMeta
from stages.spec import BenchmarkSpec
from stages.submission import DEFAULT_SUITE, SCHEMA_VERSION, Submission

LEGACY_METRICS = {"mcc": "MCC", "accuracy": "Acc", "f1_score": "F1"}
_NAME = re.compile(r"results_(?P<body>.+?)(?:_k-(?P<k>\d+))?\.json")


@dataclass(frozen=True)
class LegacyName:
    model_stem: str
    task_id: str
    extractor: str
    regime: str


@dataclass
class PackReport:
    """What was packed and what is missing, for the contributor to read before a PR."""

    submission: Submission | None = None
    missing: dict[str, list[str]] = field(default_factory=dict)  # regime -> task ids
    unrecognised: list[str] = field(default_factory=list)  # file name: why
    errors: list[str] = field(default_factory=list)  # unreadable or conflicting files

    @property
    def complete(self) -> bool:
        return not self.missing and not self.errors

    def lines(self) -> list[str]:
        """Human-readable report, one line per fact."""
        out = [f"error: {e}" for e in self.errors]
        out += [f"skipped: {u}" for u in self.unrecognised]
        for regime, tasks in self.missing.items():
            out.append(f"missing: regime {regime}: {len(tasks)} task(s): {first_few(tasks, 5)}")
        return out


def parse_legacy_name(name: str, spec: BenchmarkSpec) -> LegacyName | None:
    """Model stem, task, extractor and regime of a legacy file name (``None``: not one)."""
    match = _NAME.fullmatch(name)
    if not match:
        return None
    body = "_" + match["body"]
    hits = [t for t in spec.task_ids if f"_{t}_" in body]
    if not hits:
        return None
    task_id = max(hits, key=len)
    model, _, extractor = body.partition(f"_{task_id}_")
    regime = "full" if match["k"] is None else f"{int(match['k'])}shot"
    return LegacyName(model[1:], task_id, extractor, regime)


def _read_scores(path: Path) -> dict[str, float]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    scores = {}
    for legacy, metric in LEGACY_METRICS.items():
        try:
            value = raw[legacy]["mean"]
        except (KeyError, TypeError):
            raise ValueError(f"{path.name}: {legacy}.mean is missing") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{path.name}: {legacy}.mean is {value!r}, not a finite number")
        scores[metric] = float(value)
    return scores


def pack_logs(log_dir: Path, meta: ModelMeta, spec: BenchmarkSpec, *, suite: str = DEFAULT_SUITE,
              extractor: str | None = None, model_stem: str | None = None) -> PackReport:
    """Collect the logs of one model into a submission for ``suite``.

    ``extractor`` / ``model_stem`` pick one run where the folder holds several.
    """
    task_ids = spec.suite(suite).task_ids
    found: dict[tuple[str, str], list[tuple[Path, LegacyName]]] = {}
    report = PackReport()
    for path in sorted(Path(log_dir).glob("*.json")):
        parsed = parse_legacy_name(path.name, spec)
        if parsed is None:
            report.unrecognised.append(f"{path.name}: not results_<model>_<task>_<extractor>"
                                       "[_k-N].json with a GENEB task id")
        elif parsed.regime not in spec.regimes:
            report.unrecognised.append(f"{path.name}: regime {parsed.regime} is not a GENEB regime")
        elif parsed.task_id not in task_ids:
            report.unrecognised.append(f"{path.name}: task {parsed.task_id} is not in suite {suite}")
        elif (extractor or parsed.extractor) == parsed.extractor and \
                (model_stem or parsed.model_stem) == parsed.model_stem:
            found.setdefault((parsed.regime, parsed.task_id), []).append((path, parsed))

    results: dict[str, dict[str, dict[str, float]]] = {regime: {} for regime in spec.regimes}
    for (regime, task_id), candidates in sorted(found.items()):
        if len(candidates) > 1:
            names = ", ".join(p.name for p, _ in candidates)
            report.errors.append(f"{regime}/{task_id}: several files ({names}); "
                                 "choose one run with --extractor or --model-stem")
            continue
        try:
            results[regime][task_id] = _read_scores(candidates[0][0])
        except (ValueError, OSError) as exc:  # JSONDecodeError is a ValueError
            report.errors.append(str(exc))
    for regime in spec.regimes:
        missing = [t for t in task_ids if t not in results[regime]]
        if missing:
            report.missing[regime] = missing

    report.submission = Submission(
        schema_version=SCHEMA_VERSION, model_id=meta.model_id,
        harness_version=spec.harness_version,  # the first pipeline's harness
        declared_suite=suite,
        meta=meta.published(),
        results={regime: {t: results[regime][t] for t in task_ids if t in results[regime]}
                 for regime in spec.regimes})
    return report



def resolve_meta(model_id: str, overrides: dict[str, Any],
                 model_meta: dict[str, ModelMeta]) -> ModelMeta:
    """Submission metadata: the model's card (if it has one) with the given fields on top."""
    given = {key: value for key, value in overrides.items() if value is not None}
    listed = model_meta.get(model_id)
    if listed is None:
        absent = [key for key in ("display", "params") if key not in given]
        if absent:
            raise ValueError(f"{model_id!r} has no card (benchmark/models/{model_id}.yaml): give "
                             + " and ".join(f"--{key}" for key in absent))
        base = {"url": "", "zero_shot": False, "training_data": "", "submitted_by": "",
                "provenance": "self-reported"}
        return ModelMeta(model_id=model_id, **{**base, **given})
    return ModelMeta(model_id=model_id, **{**listed.published(), **given})
