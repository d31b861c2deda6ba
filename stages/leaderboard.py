"""``geneb leaderboard``: the two JSON files the leaderboard site serves, built from submissions.

Format (the published one, so existing consumers keep working): ``{"data": {regime: [row, ...]}}``
where a row carries ``model, disp, params, official, zero_shot, submitted`` and ``micro_<M>``,
``macro_<M>``, ``cat_<M>`` ({category: value}) for each metric M; ``leaderboard_tasks.json`` adds
``tasks`` ([{id, label, cat}]) and per row ``task_<M>`` ({task id: value}) in place of ``cat_<M>``. Added top-level keys
(``suite``, ``subsample``, ``categories`` ...) label what the numbers are; a lite (subsample)
leaderboard says so in ``suite``/``subsample``/``notice``.
Rows of both files also carry ``rank_<M>`` and ``rank_ci_<M>`` ([lo, hi] or null): the Macro
rank and its 95% bootstrap rank interval (``stages.uncertainty``; method in ``rank_intervals``).
A row whose submission recorded a machine noise floor (``run_settings.noise_floor``) also carries
``noise_<M>`` ({macro, micro}: the same means taken over the per-task floors, which bound how far
the aggregate can move) and, in ``leaderboard_tasks.json``, ``noise_task_<M>`` ({task id: floor});
one with exact-probe numbers carries ``exact_<M>`` ({macro, micro}). Rows without them (the 41
published ones) have no such keys.

What each row says about the model and how it was made (docs/leaderboard.md):

* ``extraction`` (both files): ``"geneb"`` when GENEB's uniform extractors made the embeddings (the
  submission's ``run_settings`` record the extractor settings), ``"reference"`` otherwise (the
  published rows, embedded by their authors' extractors); ``reference_extraction``
  (``leaderboard.json``): how such a reference run embedded, from the model's ``published_run``
  (``null`` where unknown or for a GENEB row).
* ``url``, ``paper``, ``architecture``, ``tokenization``, ``training_data``, ``card``
  (``leaderboard.json``): the model's card, ``null`` where it says nothing; ``card`` is a path in
  the repository, whose address (``repository``, ``card_base_url``) the header gives once.
* ``run`` (``leaderboard_tasks.json``, loaded lazily for the model detail view): a readable
  summary of the submission's ``run_settings`` (extractor family and declared settings, harness,
  code and data revisions, torch/transformers, BLAS), ``null`` for a published result.

Policies:

* Every submission is validated for the requested suite first; any problem stops the build (a
  lite file never reaches the official board, an official file never reaches a lite board).
* Missing tasks: an incomplete submission fails validation, so it is never published. Below that,
  ``stages.aggregate`` returns ``None`` for any category, Macro or Micro over a set with a missing
  task, so a partial row could only show nulls (sorted last), never a mean over fewer tasks.
* Display name, parameter count and provenance come from the model's card in
  ``benchmark/models/<model_id>.yaml`` (which holds the corrected parameter counts); the
  submission's own ``meta`` is the fallback for a model without a card yet.
* Rows are ordered by the full regime's Macro MCC (descending; nulls last; then model id) in every
  regime, so the default ranking is the same everywhere. Output is byte-for-byte deterministic.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stages import paths
from stages.aggregate import summarize_regime
from stages.errors import GenebError
from stages.extractors.registry import ModelEntry, registered_models
from stages.io_utils import atomic_write_text
from stages.model_meta import ModelMeta, default_model_meta
from stages.spec import METRICS, BenchmarkSpec, Suite, default_spec
from stages.submission import DEFAULT_SUITE, Scores, Submission
from stages.submission_store import load_submissions
from stages.uncertainty import rank_fields, rank_interval_header, rank_table

LEADERBOARD_FILE = "leaderboard.json"
TASKS_FILE = "leaderboard_tasks.json"
RANKING = ("full", "macro", "MCC")  # regime, aggregate, metric of the default order
REFERENCE, GENEB = "reference", "geneb"  # values of a row's ``extraction``


class LeaderboardError(GenebError, ValueError):
    """The repository does not say where it lives (``pyproject.toml``'s ``[project.urls]``)."""


@dataclass(frozen=True)
class Entry:
    """One validated submission with the display metadata the board shows for it."""

    submission: Submission
    meta: ModelMeta
    published_run: str = ""  # how the published (reference) run embedded, where documented

    @property
    def model_id(self) -> str:
        return self.submission.model_id

    @property
    def results(self) -> Scores:
        return self.submission.results

    @property
    def noise(self) -> Scores | None:
        """regime -> task -> metric noise floor, where the submission recorded one."""
        return self.submission.noise_floor_results()

    @property
    def exact(self) -> Scores | None:
        return self.submission.exact_results

    @property
    def extraction(self) -> str:
        """``geneb`` when the run settings record GENEB's extractor settings, else ``reference``."""
        extractor = (self.submission.run_settings or {}).get("extractor") or {}
        return GENEB if extractor.get("settings") is not None else REFERENCE


def load_entries(submissions_dir: Path, suite: Suite, spec: BenchmarkSpec,
                 model_meta: dict[str, ModelMeta],
                 registry: Mapping[str, ModelEntry] | None = None) -> list[Entry]:
    """Validate every ``*.json`` in the folder for ``suite``; raise on any problem."""
    submissions = load_submissions(submissions_dir, suite.name, spec=spec, model_meta=model_meta)
    registry = registered_models() if registry is None else registry
    return [Entry(s, model_meta.get(s.model_id) or ModelMeta.from_submission(s.model_id, s.meta),
                  registry[s.model_id].published_run if s.model_id in registry else "")
            for s in submissions]


def _text(value: str | None) -> str | None:
    """A card's free text, ``None`` where it says nothing (the page shows "not documented")."""
    return (value.strip() or None) if isinstance(value, str) else None


def about_model(entry: Entry) -> dict[str, Any]:
    """What the model is and how its row was made: the card's facts and the extraction."""
    meta = entry.meta
    return {"extraction": entry.extraction,
            "reference_extraction": _text(entry.published_run) if entry.extraction == REFERENCE
            else None,
            "url": _text(meta.url), "paper": _text(meta.paper),
            "architecture": _text(meta.architecture), "tokenization": _text(meta.tokenization),
            "training_data": _text(meta.training_data), "card": _text(meta.card)}


def _blas(library: Mapping[str, Any]) -> str:
    details = [f"{library.get('kernel')} kernel" if library.get("kernel") else "",
               f"{library.get('threads')} threads" if library.get("threads") else ""]
    name = " ".join(str(library[k]) for k in ("vendor", "version") if library.get(k))
    return name + (f" ({', '.join(d for d in details if d)})" if any(details) else "")


def run_summary(run_settings: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The run settings as the model detail view shows them (``None``: a published result)."""
    if not run_settings:
        return None
    extractor = run_settings.get("extractor") or {}
    declared = extractor.get("declared_settings") or extractor.get("settings") or {}
    packages = run_settings.get("packages") or {}
    dataset = run_settings.get("dataset") or {}
    probe_machine = (run_settings.get("machine") or {}).get("probe") or {}
    weights = "@".join(str(extractor[k]) for k in ("source", "revision") if extractor.get(k))
    return {
        "extractor": extractor.get("family"),
        "weights": weights or None,
        "settings": {k: v for k, v in declared.items() if v not in (None, {}, [])},
        "harness": run_settings.get("harness_version"),
        "code_revision": run_settings.get("code_revision"),
        "data": "@".join(str(dataset[k]) for k in ("repo_id", "revision") if dataset.get(k)) or None,
        "torch": packages.get("torch"),
        "transformers": packages.get("transformers"),
        "blas": [_blas(lib) for lib in probe_machine.get("blas") or []],
        "cpu": " ".join(str(probe_machine[k]) for k in ("cpu", "arch") if probe_machine.get(k)) or None,
    }


def repository_url(pyproject: Path | None = None) -> str:
    """The repository's address: ``Repository`` in ``pyproject.toml``'s ``[project.urls]``
    (read with a pattern, not ``tomllib``, which Python 3.10 lacks; a test compares the two)."""
    path = pyproject or paths.REPO_ROOT / "pyproject.toml"
    table = re.search(r"^\[project\.urls\]\n(.*?)(?=^\[|\Z)", path.read_text(encoding="utf-8"),
                      re.M | re.S)
    found = re.search(r'^Repository\s*=\s*"([^"]+)"', table.group(1), re.M) if table else None
    if not found:
        raise LeaderboardError(f"{path}: [project.urls] has no Repository = \"https://...\" line")
    return found.group(1).rstrip("/")


def build_rows(entry: Entry, regime: str, spec: BenchmarkSpec, task_ids: Sequence[str],
               ranks: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The model's row in ``leaderboard.json`` and in ``leaderboard_tasks.json`` for one regime.

    The one place row fields are defined: add new per-model fields here.
    """
    scores = entry.results.get(regime, {})
    summary = summarize_regime(scores, spec, task_ids)
    identity = {"model": entry.model_id, "disp": entry.meta.display, "params": entry.meta.params,
                "official": entry.meta.provenance == "official",
                "zero_shot": entry.meta.zero_shot, "submitted": entry.meta.provenance,
                "extraction": entry.extraction}
    row: dict[str, Any] = {**identity, **about_model(entry)}
    task_row: dict[str, Any] = {**identity, "run": run_summary(entry.submission.run_settings)}
    for metric in METRICS:
        aggregates = {"micro_" + metric: summary[metric]["micro"],
                      "macro_" + metric: summary[metric]["macro"]}
        row.update(aggregates, **{"cat_" + metric: summary[metric]["categories"]})
        task_row.update(aggregates, **{"task_" + metric: {
            task_id: scores.get(task_id, {}).get(metric) for task_id in task_ids}})
    for key, source in (("noise_", entry.noise), ("exact_", entry.exact)):
        if source is not None:
            extra_summary = summarize_regime(source.get(regime, {}), spec, task_ids)
            for metric in METRICS:
                aggregates = {part: extra_summary[metric][part] for part in ("macro", "micro")}
                row[key + metric] = task_row[key + metric] = aggregates
    if entry.noise is not None:
        floors = entry.noise.get(regime, {})
        for metric in METRICS:
            task_row["noise_task_" + metric] = {task_id: floors.get(task_id, {}).get(metric)
                                                for task_id in task_ids}
    if ranks is not None:  # rank_<M>, rank_ci_<M>: Macro rank and its 95% bootstrap interval
        extra = rank_fields(ranks, entry.model_id)
        row.update(extra)
        task_row.update(extra)
    return row, task_row


def _ranking_key(entry: Entry, spec: BenchmarkSpec, task_ids: Sequence[str]) -> tuple:
    regime, aggregate, metric = RANKING
    value = summarize_regime(entry.results.get(regime, {}), spec, task_ids)[metric][aggregate]
    return (value is None, -(value or 0.0), entry.model_id.casefold(), entry.model_id)


def build_payloads(entries: Sequence[Entry], suite: Suite, spec: BenchmarkSpec,
                   repository: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The content of both files, in the published layout plus labelling keys."""
    repository = repository or repository_url()
    task_ids = suite.task_ids
    ordered = sorted(entries, key=lambda e: _ranking_key(e, spec, task_ids))
    grouped = spec.tasks_by_category(task_ids)
    header: dict[str, Any] = {
        "benchmark": spec.name,
        "suite": suite.name,
        "subsample": suite.is_subsample,
        "notice": suite.description if suite.is_subsample else "",
        "regimes": list(spec.regimes),
        "metrics": list(spec.metrics),
        "default_sort": {"regime": RANKING[0], "column": f"{RANKING[1]}_{RANKING[2]}"},
        "categories": [{"name": name, "n_tasks": len(ids)} for name, ids in grouped.items()],
        "n_models": len(ordered),
        "rank_intervals": rank_interval_header(),
        "repository": repository,
        "card_base_url": f"{repository}/blob/main/",  # + a row's ``card`` path
    }
    ranks = rank_table([e.submission for e in entries], spec, task_ids)
    rows: dict[str, list] = {regime: [] for regime in spec.regimes}
    task_rows: dict[str, list] = {regime: [] for regime in spec.regimes}
    for regime in spec.regimes:
        for entry in ordered:
            row, task_row = build_rows(entry, regime, spec, task_ids, ranks[regime])
            rows[regime].append(row)
            task_rows[regime].append(task_row)
    tasks = [{"id": t.id, "label": t.label, "cat": t.category}
             for t in spec.tasks if t.id in set(task_ids)]
    return {**header, "data": rows}, {**header, "tasks": tasks, "data": task_rows}


def _dumps(payload: dict[str, Any]) -> str:
    """Compact, key order as built, no NaN: the same input always gives the same bytes."""
    return json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"


def render_leaderboard(submissions_dir: Path, suite: str = DEFAULT_SUITE,
                       spec: BenchmarkSpec | None = None,
                       model_meta: dict[str, ModelMeta] | None = None) -> dict[str, str]:
    """File name -> exact text of each output file, without writing anything."""
    spec = spec or default_spec()
    model_meta = default_model_meta() if model_meta is None else model_meta
    chosen = spec.suite(suite)
    entries = load_entries(Path(submissions_dir), chosen, spec, model_meta)
    board, tasks = build_payloads(entries, chosen, spec)
    return {LEADERBOARD_FILE: _dumps(board), TASKS_FILE: _dumps(tasks)}


def build_leaderboard(submissions_dir: Path = paths.SUBMISSIONS_DIR,
                      out_dir: Path = paths.LEADERBOARD_DIR, suite: str = DEFAULT_SUITE
                      ) -> tuple[Path, Path]:
    """Validate ``submissions_dir`` for ``suite`` and write both files into ``out_dir``."""
    rendered = render_leaderboard(Path(submissions_dir), suite)
    written = []
    for name, text in rendered.items():
        atomic_write_text(Path(out_dir) / name, text)
        written.append(Path(out_dir) / name)
    return written[0], written[1]


def stale_files(submissions_dir: Path = paths.SUBMISSIONS_DIR,
                out_dir: Path = paths.LEADERBOARD_DIR, suite: str = DEFAULT_SUITE) -> list[Path]:
    """Output files that differ from a fresh build (CI's check against hand edits)."""
    rendered = render_leaderboard(Path(submissions_dir), suite)
    stale = []
    for name, text in rendered.items():
        path = Path(out_dir) / name
        if not path.is_file() or path.read_bytes() != text.encode("utf-8"):
            stale.append(path)
    return stale
