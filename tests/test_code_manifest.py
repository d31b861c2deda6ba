"""The code manifest: each step's list covers what its command really imports and opens, the
files are deterministic, and a change touches exactly the steps that use the changed file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stages import paths
from stages.code_manifest import (
    DISPATCH_ONLY,
    STEP_CODE,
    CodeManifestError,
    changed_files,
    code_manifest,
    step_files,
    write_code_manifests,
)

# Runs a `geneb` command in this interpreter, then prints the files of every `stages` module it
# imported (lazy imports inside functions included, since the command really ran) and every file
# under benchmark/ it opened (an audit hook sees each open()).
RUN_AND_LIST = """
import json, os, sys
root = sys.argv[2]
benchmark = os.path.join(root, "benchmark") + os.sep
opened = set()
def watch(event, args):
    if event == "open" and isinstance(args[0], (str, os.PathLike)):
        path = os.path.abspath(os.fspath(args[0]))
        if path.startswith(benchmark):
            opened.add(path[len(root) + 1:])
sys.addaudithook(watch)
from stages.cli import main
code = main(json.loads(sys.argv[1]))
loaded = {m.__file__[len(root) + 1:] for m in list(sys.modules.values())
          if (m.__name__ or "").startswith("stages") and getattr(m, "__file__", None)
          and m.__file__.startswith(root)}
print("LOADED=" + json.dumps(sorted(loaded | opened)))
sys.exit(code)
"""


def _imported_by(args: list[str], cwd: Path) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST, json.dumps(args), str(paths.REPO_ROOT)],
        cwd=cwd, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(paths.REPO_ROOT),
             paths.ROOT_ENV: str(paths.REPO_ROOT)})  # runs in a scratch folder, not a checkout
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("LOADED="))
    return [Path(f).as_posix() for f in json.loads(line[len("LOADED="):])]


@pytest.fixture(scope="module")
def imports(tmp_path_factory) -> dict[str, list[str]]:
    """What each pipeline command imports when it runs for real on the lite suite (k-mer)."""
    work = tmp_path_factory.mktemp("code-manifest")
    emb, res = work / "emb", work / "res"
    return {
        "manifest": _imported_by(["manifest", "--suite", "lite", "--out",
                                  str(work / "manifest.json")], work),
        "embed": _imported_by(["embed", "--model", "kmer-3", "--suite", "lite", "--quiet",
                               "--manifest", str(work / "manifest.json"), "--out", str(emb)],
                              work),
        "score": _imported_by(["score", "--model", "kmer-3", "--suite", "lite", "--quiet",
                               "--embeddings", str(emb), "--submission", str(res / "s.json"),
                               "--metrics", str(res / "m.json")], work),
        "leaderboard": _imported_by(["leaderboard", "--suite", "lite", "--submissions",
                                     str(paths.REPO_ROOT / "results/lite/submissions"),
                                     "--out", str(work / "board")], work),
    }


@pytest.mark.parametrize("step", list(STEP_CODE))
def test_each_step_lists_every_file_its_command_uses(imports, step):
    used = imports[step]
    # the probe saw the command's own module and the benchmark definition it loads
    assert "stages/cli/pipeline.py" in used and "benchmark/suites.json" in used
    missing = sorted(set(used) - set(step_files(step)) - set(DISPATCH_ONLY))
    assert not missing, (f"`geneb {step}` uses {missing}, which STEP_CODE[{step!r}] in "
                         "stages/code_manifest.py does not list: DVC would not re-run the stage "
                         "when they change")


def test_score_code_excludes_extractor_families():
    # Editing one extractor must re-embed, never re-probe every model.
    score = set(step_files("score"))
    assert "stages/extractors/registry.py" in score
    assert not score & {"stages/extractors/kmer.py", "stages/extractors/hf.py",
                        "stages/extractors/hyena.py"}
    assert "stages/extractors/kmer.py" in step_files("embed")


def _copy_stages(root: Path) -> Path:
    for folder in ("stages", "benchmark"):
        shutil.copytree(paths.REPO_ROOT / folder, root / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_a_code_change_touches_exactly_the_steps_that_run_it(tmp_path):
    root = _copy_stages(tmp_path / "repo")
    out = root / "manifests" / "code"
    first = {p.name: p.read_bytes() for p in write_code_manifests(out, root)}
    again = {p.name: p.read_bytes() for p in write_code_manifests(out, root)}
    assert first == again  # no timestamps: DVC sees an unchanged step as unchanged
    record = json.loads(first["score.json"])
    assert record["step"] == "score" and "stages/probe.py" in record["files"]
    assert all(len(digest) == 64 for digest in record["files"].values())

    probe = root / "stages" / "probe.py"
    probe.write_text(probe.read_text() + "\n# edited\n")
    kmer = root / "stages" / "extractors" / "kmer.py"
    kmer.write_text(kmer.read_text() + "\n# edited\n")
    (root / "stages" / "extractors" / "new_family.py").write_text("X = 1\n")
    meta = root / "benchmark" / "model_meta.json"
    meta.write_text(meta.read_text() + "\n")
    # a card is copied into every submission's meta, so score re-runs too (not embed)
    assert changed_files("score", root, out) == ["benchmark/model_meta.json (modified)",
                                                 "stages/probe.py (modified)"]
    assert changed_files("embed", root, out) == ["stages/extractors/kmer.py (modified)",
                                                 "stages/extractors/new_family.py (added)"]
    assert changed_files("leaderboard", root, out) == ["benchmark/model_meta.json (modified)"]
    assert changed_files("manifest", root, out) == []
    after = {p.name: p.read_bytes() for p in write_code_manifests(out, root)}
    assert {name for name in after if after[name] != first[name]} == {
        "score.json", "embed.json", "leaderboard.json"}


def test_missing_manifest_or_listed_file_is_named(tmp_path):
    root = _copy_stages(tmp_path / "repo")
    assert changed_files("embed", root, root / "nowhere") == [
        f"{(root / 'nowhere' / 'embed.json').as_posix()} (missing or unreadable)"]
    (root / "stages" / "probe.py").unlink()
    with pytest.raises(CodeManifestError, match=r"STEP_CODE\['score'\] lists 'stages/probe.py'"):
        code_manifest("score", root)
    with pytest.raises(CodeManifestError, match="unknown pipeline step 'probe'"):
        step_files("probe")
