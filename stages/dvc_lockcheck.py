"""``geneb lockcheck``: fail when the committed ``dvc.lock`` no longer describes the repository.

Works in a fresh clone without pulling anything (CI has no remote). Four probes, each of which
catches cases the others miss (measured with DVC 3.67, see docs/dvc.md):

1. ``dvc repro --allow-missing --dry``: a non-zero exit, or any ``Running stage`` line (a stale
   stage whose inputs are all in git, e.g. a hand-edited output, exits 0 but prints it).
2. ``dvc status`` (in process): says *why* each stage is stale (which dependency, parameter or output
   changed). Entries that only mean "not pulled" (a DVC-cached path that git does not track is
   ``deleted`` / ``not in cache``) are ignored.
3. The code manifests (``stages/code_manifest.py``): a stale ``code`` stage is reported with the
   stages it would re-run and the source files that changed, not only "stages/ modified".
4. Orphans: ``dvc.lock`` entries of stages no longer in ``dvc.yaml`` (DVC never removes them),
   and result files of models no longer in ``params.yaml`` (they would feed the leaderboard).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from stages.dvc_reports import REPORT_FILES
from stages.dvc_tool import dvc_exe

NOT_PULLED = {"deleted", "not in cache"}
RESULT_STAGES = ("embed@", "score@")  # stages whose re-run makes new results
# A model's result files below results/<suite>/: its submission and what `dvc metrics`/`dvc plots` show.
RESULT_FILES = ("submissions/{model}.json", *REPORT_FILES.values())


@dataclass(frozen=True)
class Finding:
    stage: str
    why: str


@dataclass
class LockReport:
    findings: list[Finding] = field(default_factory=list)
    dry_run_exit: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.findings


def _dvc(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([dvc_exe(), *args], cwd=repo, capture_output=True, text=True)


def _git_tracked(repo: Path) -> set[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=repo, capture_output=True, text=True)
    tracked = {name for name in out.stdout.split("\0") if name}
    return tracked | {parent.as_posix() for name in tracked for parent in Path(name).parents}


def _describe(entry: dict | str, tracked: set[str]) -> list[str]:
    """Reasons in one ``dvc status --json`` entry, minus the "not pulled" noise."""
    if isinstance(entry, str):  # "changed command", "always changed"
        return [entry]
    reasons = []
    for kind, changes in entry.items():
        for path, state in changes.items():
            if isinstance(state, dict):  # params file -> {param: state}
                reasons += [f"{kind}: {path} {param} ({s})" for param, s in state.items()]
            elif not (state in NOT_PULLED and path not in tracked):
                reasons.append(f"{kind}: {path} ({state})")
    return reasons


def _status_findings(status: dict, tracked: set[str], locked: set[str]) -> list[Finding]:
    findings = []
    for stage, entries in status.items():
        if stage not in locked and not stage.endswith(".dvc"):  # a stage that never ran
            findings.append(Finding(stage, "never run: no entry in dvc.lock (new stage)"))
            continue
        for entry in entries:
            findings += [Finding(stage, why) for why in _describe(entry, tracked)]
    return findings


def _status_and_stages(repo: Path) -> tuple[dict, set[str]]:
    """``dvc status`` (the dict ``--json`` prints) and the names of the defined stages, in
    process: one repository load instead of two more ``dvc`` start-ups."""
    from dvc.repo import Repo

    previous = os.getcwd()
    os.chdir(repo)  # DVC names stages relative to the working directory
    try:
        with Repo(".") as dvc_repo:
            stages = {stage.addressing for stage in dvc_repo.index.stages}
            return dvc_repo.status(), stages
    finally:
        os.chdir(previous)


def _code_findings(repo: Path, defined: set[str]) -> list[Finding]:
    """Each stage whose step's code differs from its committed manifest, with the files."""
    from stages.catalogue import CatalogueError
    from stages.code_manifest import PER_MODEL, STEP_CODE, CodeManifestError, changed_files, manifest_path

    findings = []
    for step in STEP_CODE:
        stages = sorted(s for s in defined if s == step or s.startswith(f"{step}@"))
        for stage in stages:
            model = stage.partition("@")[2] if step in PER_MODEL else None
            if step in PER_MODEL and not model:
                continue
            try:
                changes = changed_files(step, repo, model=model)
            except (CodeManifestError, CatalogueError) as exc:
                changes = [str(exc)]
            if changes:
                findings.append(Finding(stage, f"code changed: {', '.join(changes)} "
                                               f"({manifest_path(step, model=model).as_posix()} "
                                               "is stale)"))
    return findings


def _first_error(output: str) -> str:
    errors = [line for line in output.splitlines() if line.startswith("ERROR")]
    return errors[0] if errors else (output.strip().splitlines() or ["(no output)"])[-1]


def _locked_stages(repo: Path) -> set[str]:
    lock = repo / "dvc.lock"
    if not lock.is_file():
        return set()
    return set((yaml.safe_load(lock.read_text(encoding="utf-8")) or {}).get("stages", {}))


def _orphan_findings(locked: set[str], defined: set[str]) -> list[Finding]:
    return [Finding(stage, "orphan: in dvc.lock but no longer in dvc.yaml (delete the entry, "
                           "or run `dvc repro` after removing it from dvc.lock)")
            for stage in sorted(locked - defined)]


def _stray_results(repo: Path) -> list[Finding]:
    """Result files of models not in params.yaml; an unusable params.yaml is a finding itself."""
    from stages.params import ParamsError, load_params

    params_path = repo / "params.yaml"
    if not params_path.is_file():
        return []
    try:
        params = load_params(params_path)
    except ParamsError as exc:
        return [Finding("params.yaml", str(exc))]
    findings = []
    results = repo / "results" / params.suite
    for pattern in RESULT_FILES:
        named = re.compile(re.escape(pattern).replace(re.escape("{model}"), "(?P<model>[^/]+)"))
        for path in sorted(results.glob(pattern.format(model="*"))):
            model = named.fullmatch(path.relative_to(results).as_posix())["model"]
            if model not in params.models:
                rel = path.relative_to(repo).as_posix()
                findings.append(Finding(rel, f"orphan: model {model!r} is not in params.yaml "
                                             "'models' (delete the file and re-run `dvc repro`)"))
    return findings


def check_lock(repo: Path = Path(".")) -> LockReport:
    """Run the probes in ``repo``; the report lists every stale stage and why."""
    repo = Path(repo).resolve()
    started = time.perf_counter()
    report = LockReport()
    dry = _dvc(repo, "repro", "--allow-missing", "--dry")
    output = dry.stdout + dry.stderr
    report.dry_run_exit = dry.returncode
    locked = _locked_stages(repo)
    try:
        status, defined = _status_and_stages(repo)
    except Exception as exc:  # any DVC failure (broken dvc.yaml ...) is a finding
        report.findings.append(Finding("dvc status", f"{type(exc).__name__}: {exc}"))
        status, defined = {}, locked
    report.findings += _status_findings(status, _git_tracked(repo), locked)
    report.findings += _code_findings(repo, defined)
    explained = {f.stage for f in report.findings}
    for stage in re.findall(r"^Running stage '([^']+)'", output, flags=re.MULTILINE):
        if stage not in explained:
            report.findings.append(Finding(stage, "`dvc repro --dry` would run it"))
    if dry.returncode != 0:
        report.findings.append(Finding("dvc repro --allow-missing --dry",
                                       f"exit {dry.returncode}: {_first_error(output)}"))
    report.findings += _orphan_findings(locked, defined) + _stray_results(repo)
    report.seconds = time.perf_counter() - started
    return report


def format_report(report: LockReport) -> str:
    """Human-readable verdict: one line per stage and reason, then the fix: ``geneb regenerate``
    when only stages whose inputs are all in git are stale, ``dvc repro`` when results move."""
    if report.ok:
        return f"lockcheck: dvc.lock is up to date ({report.seconds:.1f} s)"
    lines = [f"lockcheck: FAIL: dvc.lock is stale ({len(report.findings)} finding(s)):"]
    lines += [f"  {f.stage}: {f.why}" for f in report.findings]
    moving = sorted({f.stage for f in report.findings if f.stage.startswith(RESULT_STAGES)})
    if moving:
        lines.append(f"fix: {', '.join(moving)} would re-embed or re-probe: the change moves "
                     "committed results, so run `dvc repro`, then commit dvc.lock, params.yaml "
                     "and results/ together")
    else:
        lines.append("fix: run `geneb regenerate` (it rebuilds dvc.lock, manifests/code/ and the "
                     "leaderboard JSON without embedding or probing) and check again; if an "
                     "embed@ or score@ stage is then stale, run `dvc repro`")
    return "\n".join(lines)
