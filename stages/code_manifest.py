"""The code manifest: which files each pipeline step runs or reads besides its data (harness
source files and benchmark definition files), and the sha256 of each.

The ``code`` DVC stage depends on the whole ``stages/`` package and ``benchmark/`` folder (two
directory dependencies) and writes ``manifests/code/<step>.json``; every other stage depends on
its data and on its step's file instead of listing code and definition files. Same invalidation,
far fewer dependencies: DVC checks each dependency of each stage on every ``dvc status`` and
``dvc repro``, and at 41 models the per-stage file lists were ~800 of them
(docs/benchmarks/dvc-overhead.md). A change re-runs exactly the steps whose files changed: the
other steps' manifests are rewritten byte for byte, so DVC sees them unchanged.
``tests/test_code_manifest.py`` runs each step's command and fails if it imports a ``stages``
module or opens a ``benchmark/`` file not listed here, so the lists cannot fall behind the code.
"""

from __future__ import annotations

import json
from pathlib import Path

from stages import paths
from stages.code_hash import file_sha256
from stages.errors import GenebError
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

# The benchmark definition every step loads (stages.spec validates it against its schemas).
_DEFINITION = ("benchmark/benchmark_spec.json", "benchmark/suites.json",
               "benchmark/schema/benchmark_spec.schema.json", "benchmark/schema/suites.schema.json")
_REGISTRY = "benchmark/model_registry.yaml"

# Step (a stage of dvc.yaml, or a `foreach` group) -> files and directories (every file below).
STEP_CODE: dict[str, tuple[str, ...]] = {
    "manifest": (*_COMMON, *_DEFINITION, "stages/dvc_data.py"),  # the spec pins the dataset
    "embed": (*_COMMON, "stages/dvc_data.py", "stages/pipeline.py", "stages/params.py",
              "stages/run.py", "stages/code_hash.py", "stages/embed.py",
              "stages/embedding_files.py", "stages/extractors", "stages/engines",
              "stages/machine.py", *_DEFINITION, _REGISTRY),
    "score": (*_COMMON, *_EXTRACTOR_CONTRACT, "stages/pipeline.py", "stages/params.py",
              "stages/embedding_files.py", "stages/code_hash.py",
              "stages/run.py", "stages/scoring.py", "stages/probe.py", "stages/metrics.py",
              "stages/exact_probe.py", "stages/noise_floor.py", "stages/machine.py",
              "stages/aggregate.py", "stages/submission.py", "stages/submission_build.py",
              "stages/submission_store.py", *_DEFINITION, _REGISTRY,
              "stages/model_meta.py", "benchmark/model_meta.json",  # the submission's meta
              "benchmark/schema/model_meta.schema.json"),
    "leaderboard": (*_COMMON, "stages/leaderboard.py", "stages/validate.py",
                    "stages/untrusted_json.py",
                    "stages/submission.py", "stages/submission_store.py",
                    "stages/model_meta.py", "stages/aggregate.py", "stages/uncertainty.py",
                    *_DEFINITION, "benchmark/model_meta.json", "benchmark/schema"),
}
# The rest of the CLI package: imported by every command to build the parser, but no step's
# handler is there (the leaderboard's only passes its flags on), so it is part of no step.
DISPATCH_ONLY = ("stages/cli/__init__.py", "stages/cli/data.py", "stages/cli/results.py",
                 "stages/cli/trust.py", "stages/cli/maintainers.py")


class CodeManifestError(GenebError, ValueError):
    """A step or file of the code manifest that does not exist."""


def step_files(step: str, root: Path = paths.REPO_ROOT) -> list[str]:
    """The step's files, relative to ``root``, sorted, directories expanded (byte-code skipped)."""
    if step not in STEP_CODE:
        raise CodeManifestError(f"unknown pipeline step {step!r}; known: {sorted(STEP_CODE)}")
    files: set[str] = set()
    for entry in STEP_CODE[step]:
        path = root / entry
        if path.is_dir():
            files.update(p.relative_to(root).as_posix() for p in path.rglob("*")
                         if p.is_file() and p.suffix != ".pyc" and "__pycache__" not in p.parts)
        elif path.is_file():
            files.add(entry)
        else:
            raise CodeManifestError(f"stages/code_manifest.py: STEP_CODE[{step!r}] lists "
                                    f"{entry!r}, which is not a file or directory under {root}")
    return sorted(files)


def code_manifest(step: str, root: Path = paths.REPO_ROOT) -> dict:
    """The step's manifest: the sha256 of each of its files (no timestamps)."""
    files = {name: file_sha256(root / name) for name in step_files(step, root)}
    return {"format": CODE_MANIFEST_FORMAT, "step": step, "files": files}


def manifest_path(step: str, out_dir: Path = DEFAULT_DIR) -> Path:
    return Path(out_dir) / f"{step}.json"


def write_code_manifests(out_dir: Path = DEFAULT_DIR,
                         root: Path = paths.REPO_ROOT) -> dict[Path, dict]:
    """Write every step's manifest atomically (an unchanged step's file keeps its bytes);
    returns path -> the manifest written."""
    written = {}
    for step in STEP_CODE:
        path = manifest_path(step, out_dir)
        written[path] = code_manifest(step, root)
        atomic_write_json(path, written[path])
    return written


def changed_files(step: str, root: Path, out_dir: Path = DEFAULT_DIR) -> list[str]:
    """How the step's code under ``root`` differs from its committed manifest, one
    ``"<file> (modified|added|deleted)"`` per file; ``[]`` when the manifest is current."""
    path = root / manifest_path(step, out_dir)
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return [f"{manifest_path(step, out_dir).as_posix()} (missing or unreadable)"]
    current = code_manifest(step, root)["files"]
    changes = [f"{name} (modified)" for name in current
               if name in recorded and recorded[name] != current[name]]
    changes += [f"{name} (added)" for name in current if name not in recorded]
    changes += [f"{name} (deleted)" for name in recorded if name not in current]
    return sorted(changes)
