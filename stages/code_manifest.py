"""The code manifest: which files each pipeline step runs or reads besides its data (harness
source files and benchmark definition files), and the sha256 of each.

The ``code`` DVC stage depends on the whole ``stages/`` package and ``benchmark/`` folder (two
directory dependencies) and writes ``manifests/code/<step>.json`` for the steps that run once
(``manifest``, ``leaderboard``) and ``manifests/code/<step>/<model>.json`` for the steps that run
per model of ``params.yaml`` (``embed``, ``score``); every other stage depends on its data and on
its step's file instead of listing code and definition files. Same invalidation, far fewer
dependencies: DVC checks each dependency of each stage on every ``dvc status`` and ``dvc repro``,
and at 41 models the per-stage file lists were ~800 of them (docs/benchmarks/dvc-overhead.md). A
change re-runs exactly the steps whose files changed: the other steps' manifests are rewritten byte
for byte, so DVC sees them unchanged.

A per-model manifest holds the step's shared code, the model's own section of its catalogue file
(``benchmark/models/<id>.yaml#embed`` for embed, ``#card`` for score, hashed as content so
comments do not count) and, for embed, only the model's own extractor family module: adding a
model file or a family module, or editing another model's card, leaves every other model's
manifests (and so its DVC stages) untouched, and editing a card re-scores that model without
re-embedding it. ``tests/test_code_manifest.py`` runs each step's command and fails if it imports
a ``stages`` module or opens a ``benchmark/`` file not listed here, so the lists cannot fall
behind the code.
"""

from __future__ import annotations

import json
from pathlib import Path

from stages import catalogue, paths
from stages.code_hash import file_sha256
from stages.errors import GenebError
from stages.extractors.registry import discover_families
from stages.io_utils import atomic_write_json

CODE_MANIFEST_FORMAT = 1
DEFAULT_DIR = Path("manifests") / "code"

# Modules every `geneb` pipeline command imports: the package, the error base, the steps'
# handlers (stages/cli/pipeline.py) and what they import at module level (the engine options,
# which pull in the data manifest reader).
_COMMON = ("stages/__init__.py", "stages/paths.py", "stages/io_utils.py", "stages/spec.py",
           "stages/errors.py", "stages/taskdata.py", "stages/manifest.py",
           "stages/cli/pipeline.py", "stages/cli/options.py",
           "stages/engines/__init__.py", "stages/engines/config.py")
# What `geneb score` needs of the extractor side: the registry and the settings contract, never a
# family module or the embedding code (stages/embed.py, stages/engines; score reads
# stages/embedding_files.py), so editing an extractor or the engines does not re-probe every model.
_EXTRACTOR_CONTRACT = ("stages/extractors/__init__.py", "stages/extractors/base.py",
                       "stages/extractors/registry.py")
# The model catalogue's reader and schema; which model files a step reads is added per model.
_CATALOGUE = ("stages/catalogue.py", "benchmark/schema/model.schema.json")
EXTRACTORS = "stages/extractors"  # the embed step keeps only the model's own family of it
MODELS = "benchmark/models"

# The benchmark definition every step loads (stages.spec validates it against its schemas).
_DEFINITION = ("benchmark/benchmark_spec.json", "benchmark/suites.json",
               "benchmark/schema/benchmark_spec.schema.json", "benchmark/schema/suites.schema.json")

# Step (a stage of dvc.yaml, or a `foreach` group) -> files and directories (every file below);
# `<path>#<section>` is one section of a catalogue file (added per model, see PER_MODEL).
STEP_CODE: dict[str, tuple[str, ...]] = {
    "manifest": (*_COMMON, *_DEFINITION, "stages/dvc_data.py"),  # the spec pins the dataset
    "embed": (*_COMMON, "stages/dvc_data.py", "stages/pipeline.py", "stages/params.py",
              "stages/run.py", "stages/code_hash.py", "stages/embed.py",
              "stages/embedding_files.py", EXTRACTORS, "stages/engines",
              "stages/machine.py", *_DEFINITION, *_CATALOGUE),
    "score": (*_COMMON, *_EXTRACTOR_CONTRACT, *_CATALOGUE, "stages/pipeline.py",
              "stages/params.py", "stages/embedding_files.py", "stages/code_hash.py",
              "stages/run.py", "stages/scoring.py", "stages/probe.py", "stages/metrics.py",
              "stages/exact_probe.py", "stages/noise_floor.py", "stages/machine.py",
              "stages/aggregate.py", "stages/dvc_reports.py", "stages/submission.py",
              "stages/submission_build.py", "stages/submission_store.py", "stages/model_meta.py",
              *_DEFINITION),
    "leaderboard": (*_COMMON, "stages/leaderboard.py", "stages/validate.py",
                    "stages/untrusted_json.py", "stages/catalogue.py", *_EXTRACTOR_CONTRACT,
                    "stages/submission.py", "stages/submission_store.py",
                    "stages/model_meta.py", "stages/aggregate.py", "stages/uncertainty.py",
                    *_DEFINITION, "benchmark/schema", MODELS,  # cards and published_run
                    "pyproject.toml"),  # the repository's address, in the board's header
}
# Steps that run once per model (`foreach` groups) -> the section of the model's catalogue file
# they read: the model's manifest lists that section, and embed only the model's own family.
PER_MODEL: dict[str, str] = {"embed": "embed", "score": "card"}
# The rest of the CLI package: imported by every command to build the parser, but no step's
# handler is there (the leaderboard's only passes its flags on), so it is part of no step.
DISPATCH_ONLY = ("stages/cli/__init__.py", "stages/cli/data.py", "stages/cli/results.py",
                 "stages/cli/trust.py", "stages/cli/maintainers.py")


class CodeManifestError(GenebError, ValueError):
    """A step or file of the code manifest that does not exist."""


def _family_files(root: Path) -> dict[str, set[str]]:
    """Family -> its files (relative to ``root``), the families as the registry discovers them."""
    found = {}
    for family, where in discover_families(root / EXTRACTORS).items():
        files = [p for p in where.rglob("*") if p.is_file()] if where.is_dir() else [where]
        found[family] = {p.relative_to(root).as_posix() for p in files}
    return found


def _expand(step: str, entry: str, root: Path) -> set[str]:
    path = root / entry
    if path.is_dir():
        return {p.relative_to(root).as_posix() for p in path.rglob("*")
                if p.is_file() and p.suffix != ".pyc" and "__pycache__" not in p.parts}
    if path.is_file():
        return {entry}
    raise CodeManifestError(f"stages/code_manifest.py: STEP_CODE[{step!r}] lists {entry!r}, which "
                            f"is not a file or directory under {root}")


def _model_files(step: str, model: str, root: Path, files: set[str]) -> set[str]:
    """The step's files for one model: its catalogue section and, for embed, its own family."""
    model_file = root / catalogue.model_path(model, Path(MODELS))
    if not model_file.is_file():
        raise CodeManifestError(f"{MODELS}/{model}.yaml: no such model file (params.yaml "
                                f"'models' names {model!r})")
    body = catalogue.read_model(model_file).get(PER_MODEL[step])
    if body is None:
        raise CodeManifestError(f"{MODELS}/{model}.yaml: no {PER_MODEL[step]} section, which "
                                f"the {step} step of {model!r} reads")
    files = files | {f"{MODELS}/{model}.yaml#{PER_MODEL[step]}"}
    if step == "embed":
        families = _family_files(root)
        others = set().union(*(f for family, f in families.items() if family != body["extractor"]))
        files -= others
    return files


def step_files(step: str, root: Path = paths.REPO_ROOT, model: str | None = None) -> list[str]:
    """The step's files, relative to ``root``, sorted, directories expanded (byte-code skipped);
    a per-model step (:data:`PER_MODEL`) needs ``model``."""
    if step not in STEP_CODE:
        raise CodeManifestError(f"unknown pipeline step {step!r}; known: {sorted(STEP_CODE)}")
    if (step in PER_MODEL) != (model is not None):
        raise CodeManifestError(f"step {step!r} " + ("runs once per model: name the model"
                                                     if model is None else "is not per model"))
    files = set().union(*(_expand(step, entry, root) for entry in STEP_CODE[step]))
    return sorted(_model_files(step, model, root, files) if model is not None else files)


def _digest(root: Path, name: str) -> str:
    path, _, part = name.partition("#")
    return catalogue.section_sha256(root / path, part) if part else file_sha256(root / path)


def code_manifest(step: str, root: Path = paths.REPO_ROOT, model: str | None = None) -> dict:
    """The step's manifest (one model's, for a per-model step): the sha256 of each of its files
    (no timestamps)."""
    files = {name: _digest(root, name) for name in step_files(step, root, model)}
    return {"format": CODE_MANIFEST_FORMAT, "step": step, **({"model": model} if model else {}),
            "files": files}


def manifest_path(step: str, out_dir: Path = DEFAULT_DIR, model: str | None = None) -> Path:
    return Path(out_dir) / (f"{step}/{model}.json" if model is not None else f"{step}.json")


def write_code_manifests(models: list[str], out_dir: Path = DEFAULT_DIR,
                         root: Path = paths.REPO_ROOT) -> dict[Path, dict]:
    """Write every step's manifest atomically, per model of ``models`` for the per-model steps
    (an unchanged step's file keeps its bytes), and remove those of models no longer listed;
    returns path -> the manifest written."""
    written = {}
    for step in STEP_CODE:
        for model in models if step in PER_MODEL else [None]:
            path = manifest_path(step, out_dir, model)
            written[path] = code_manifest(step, root, model)
            atomic_write_json(path, written[path])
    for step in PER_MODEL:
        for stale in sorted(Path(out_dir, step).glob("*.json")):
            if stale not in written:
                stale.unlink()
    return written


def changed_files(step: str, root: Path, out_dir: Path = DEFAULT_DIR,
                  model: str | None = None) -> list[str]:
    """How the step's code under ``root`` differs from its committed manifest, one
    ``"<file> (modified|added|deleted)"`` per file; ``[]`` when the manifest is current."""
    path = root / manifest_path(step, out_dir, model)
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return [f"{manifest_path(step, out_dir, model).as_posix()} (missing or unreadable)"]
    current = code_manifest(step, root, model)["files"]
    changes = [f"{name} (modified)" for name in current
               if name in recorded and recorded[name] != current[name]]
    changes += [f"{name} (added)" for name in current if name not in recorded]
    changes += [f"{name} (deleted)" for name in recorded if name not in current]
    return sorted(changes)
