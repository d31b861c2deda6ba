"""docs/architecture.md stays true: every module has a layer there, and no module imports one of a
higher layer (imports inside functions count too)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from stages import paths

DOC = paths.REPO_ROOT / "docs" / "architecture.md"
ROW = re.compile(r"^\| (\d) \|")


def documented_layers() -> dict[str, int]:
    """Path (a file, or a package folder ending in '/') -> layer, from the doc's layer table."""
    layers: dict[str, int] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            modules = line.rsplit("|", 2)[-2]
            for path in re.findall(r"`([^`]+)`", modules):
                assert path not in layers, f"{path} is listed twice"
                layers[path] = int(match.group(1))
    return layers


def layer_of(file: str, layers: dict[str, int]) -> int | None:
    """A file's own row, else its innermost package's."""
    if file in layers:
        return layers[file]
    packages = [p for p in layers if p.endswith("/") and file.startswith(p)]
    return layers[max(packages, key=len)] if packages else None


def module_file(name: str) -> str | None:
    base = paths.REPO_ROOT / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate.relative_to(paths.REPO_ROOT).as_posix()
    return None


def imported_files(file: Path) -> set[str]:
    """Every ``stages`` module a file imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("stages"):
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names if alias.name.startswith("stages")]
        resolved = [module_file(name) for name in names]
        found |= {f for f in resolved if f is not None}
    return found


SOURCES = sorted(p.relative_to(paths.REPO_ROOT).as_posix()
                 for p in (paths.REPO_ROOT / "stages").rglob("*.py"))


def test_every_module_has_a_documented_layer():
    layers = documented_layers()
    assert layers, "no layer table found in docs/architecture.md"
    assert [f for f in SOURCES if layer_of(f, layers) is None] == []
    missing = [p for p in layers if not (paths.REPO_ROOT / p).exists()]
    assert missing == [], "the doc names files that do not exist"


def test_no_module_imports_a_higher_layer():
    layers = documented_layers()
    upward = []
    for file in SOURCES:
        own = layer_of(file, layers)
        for target in imported_files(paths.REPO_ROOT / file):
            if target == "stages/__init__.py":
                continue  # the package's face (version only)
            if layer_of(target, layers) > own:  # type: ignore[operator]
                upward.append(f"{file} (layer {own}) imports {target} "
                              f"(layer {layer_of(target, layers)})")
    assert upward == []
