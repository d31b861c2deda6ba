"""How harness code is identified, three ways for three uses: one file's bytes (the code
manifests, :mod:`stages.code_manifest`), the modules that turn sequences into vectors for one
extractor family (the code stamp of an embedding folder, :mod:`stages.embedding_files`), and the
git commit of the harness (a submission's ``code_revision``).

Modules are named by their dotted name, never by their path: a module that becomes a package, a
family that lives outside ``stages/extractors`` or a repository cloned elsewhere keeps every
stamp, while any edited byte changes it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
from pathlib import Path

from stages import paths

# What every family's vectors depend on besides its own module: the extractor contract and shared
# helpers (the whole package, minus the other families' modules) and the task-data reader.
EXTRACTOR_SHARED: tuple[str, ...] = ("stages.extractors", "stages.taskdata")


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def module_sources(name: str, required: bool = True) -> dict[str, Path]:
    """Dotted name -> source file of a module, or of every module of a package, found without
    importing it (only its parent packages are imported)."""
    from stages.extractors.registry import RegistryError

    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError:
        spec = None
    if spec is None or spec.origin is None:
        if not required:
            return {}
        raise RegistryError(f"extractor module {name} not found")
    origin = Path(spec.origin)
    if not spec.submodule_search_locations:
        return {name: origin}
    sources = {}
    for file in sorted(origin.parent.rglob("*.py")):
        parts = file.relative_to(origin.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        sources[".".join((name, *parts))] = file
    return sources


def extractor_code_hash(family: str) -> dict[str, str]:
    """The stamp of the code that turns sequences into vectors for one extractor family.

    :data:`EXTRACTOR_SHARED` except the other families' modules, plus the family's own module (or
    package), each hashed as its dotted name and the SHA-256 of its bytes. Editing one family's
    module therefore never invalidates another family's embeddings; a shared helper change
    invalidates all.
    """
    from stages.extractors.registry import families, family_module

    own = family_module(family)
    others = {name for other, module in families().items() if other != family
              for name in module_sources(module, required=False)}
    modules = {name: file for shared in EXTRACTOR_SHARED
               for name, file in module_sources(shared).items() if name not in others}
    modules.update(module_sources(own))
    digest = hashlib.sha256()
    for name in sorted(modules):
        digest.update(f"{name}\0{file_sha256(modules[name])}\0".encode())
    return {"family": family, "sha256": digest.hexdigest()}


HARNESS_PATHS = ("stages", "benchmark", "pyproject.toml")  # the code and definition behind a number


def code_revision() -> str | None:
    """The last git commit that changed the harness, with ``-dirty`` when it has local changes.

    The last commit touching :data:`HARNESS_PATHS`, not ``HEAD``: committing results (or docs)
    does not change the code, so re-running at the next commit records the same revision and
    reproduces the same submission file. Checking it out gives exactly the code that ran.
    """
    try:
        commit = subprocess.run(["git", "log", "-1", "--format=%H", "--", *HARNESS_PATHS],
                                cwd=paths.REPO_ROOT, text=True, capture_output=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", *HARNESS_PATHS],
                               cwd=paths.REPO_ROOT, text=True, capture_output=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    if not commit:
        return None
    return f"{commit}-dirty" if dirty else commit
