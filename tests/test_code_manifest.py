"""The code manifest: each step's list covers what its command really imports and opens, the
files are deterministic, a change touches exactly the steps that use the changed file, and a new
model or family, or another model's card, changes no model's embed or score manifest."""

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
    PER_MODEL,
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
                               "--reports", str(res / "reports")], work),
        "leaderboard": _imported_by(["leaderboard", "--suite", "lite", "--submissions",
                                     str(paths.REPO_ROOT / "results/lite/submissions"),
                                     "--out", str(work / "board")], work),
    }


def _listed(step: str) -> set[str]:
    """The step's files for the model the commands ran (kmer-3), catalogue sections as files."""
    model = "kmer-3" if step in PER_MODEL else None
    return {name.partition("#")[0] for name in step_files(step, model=model)}


@pytest.mark.parametrize("step", list(STEP_CODE))
def test_each_step_lists_every_file_its_command_uses(imports, step):
    used = imports[step]
    # the probe saw the command's own module and the benchmark definition it loads
    assert "stages/cli/pipeline.py" in used and "benchmark/suites.json" in used
    missing = sorted(set(used) - _listed(step) - set(DISPATCH_ONLY))
    assert not missing, (f"`geneb {step}` uses {missing}, which STEP_CODE[{step!r}] in "
                         "stages/code_manifest.py does not list: DVC would not re-run the stage "
                         "when they change")


@pytest.mark.parametrize("step", list(PER_MODEL))
def test_a_model_step_reads_its_own_catalogue_file_only(imports, step):
    models = {name for name in imports[step] if name.startswith("benchmark/models/")}
    assert models == {"benchmark/models/kmer-3.yaml"}
    listed = step_files(step, model="kmer-3")
    assert [n for n in listed if n.startswith("benchmark/models/")] == [
        f"benchmark/models/kmer-3.yaml#{PER_MODEL[step]}"]


def test_score_code_excludes_extractor_families():
    # Editing one extractor must re-embed, never re-probe every model.
    score = set(step_files("score", model="kmer-3"))
    assert "stages/extractors/registry.py" in score
    assert not score & {"stages/extractors/kmer.py", "stages/extractors/hf.py",
                        "stages/extractors/hyena.py"}
    embed = set(step_files("embed", model="kmer-3"))
    assert "stages/extractors/kmer.py" in embed and "stages/extractors/hf.py" in embed  # helper
    assert not embed & {"stages/extractors/hyena.py", "stages/extractors/hf_causal.py"}
    assert "stages/extractors/hyena.py" in step_files("embed", model="hyenadna-tiny-1k-anticapt")


def _copy_stages(root: Path) -> Path:
    for folder in ("stages", "benchmark"):
        shutil.copytree(paths.REPO_ROOT / folder, root / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(paths.REPO_ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


MODELS = ["kmer-3", "kmer-4"]


def _written(out: Path, root: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes()
            for p in write_code_manifests(MODELS, out, root)}


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_code_change_touches_exactly_the_steps_that_run_it(tmp_path):
    root = _copy_stages(tmp_path / "repo")
    out = root / "manifests" / "code"
    first = _written(out, root)
    assert first == _written(out, root)  # no timestamps: DVC sees an unchanged step as unchanged
    assert set(first) == {"manifest.json", "leaderboard.json", "embed/kmer-3.json",
                          "embed/kmer-4.json", "score/kmer-3.json", "score/kmer-4.json"}
    record = json.loads(first["score/kmer-3.json"])
    assert (record["step"], record["model"]) == ("score", "kmer-3")
    assert "stages/probe.py" in record["files"]
    assert all(len(digest) == 64 for digest in record["files"].values())

    probe = root / "stages" / "probe.py"
    probe.write_text(probe.read_text() + "\n# edited\n")
    kmer = root / "stages" / "extractors" / "kmer.py"
    kmer.write_text(kmer.read_text() + "\n# edited\n")
    assert changed_files("score", root, out, "kmer-3") == ["stages/probe.py (modified)"]
    assert changed_files("embed", root, out, "kmer-4") == ["stages/extractors/kmer.py (modified)"]
    assert changed_files("leaderboard", root, out) == []
    assert changed_files("manifest", root, out) == []
    after = _written(out, root)
    assert {name for name in after if after[name] != first[name]} == {
        "score/kmer-3.json", "score/kmer-4.json", "embed/kmer-3.json", "embed/kmer-4.json"}


def test_a_model_or_family_added_elsewhere_changes_no_models_manifests(tmp_path):
    root = _copy_stages(tmp_path / "repo")
    out = root / "manifests" / "code"
    first = _written(out, root)
    # a contributor's PR: a new family, a new model file, another model's card edited
    (root / "stages" / "extractors" / "newfam.py").write_text("def load(model_id, settings, **_):\n"
                                                             "    raise NotImplementedError\n")
    shutil.copy(root / "benchmark" / "models" / "kmer-3.yaml", root / "benchmark" / "models" / "new.yaml")
    _edit(root / "benchmark" / "models" / "GROVER.yaml", 'notes: ""', 'notes: "edited by a PR"')
    assert changed_files("leaderboard", root, out) == [
        "benchmark/models/GROVER.yaml (modified)", "benchmark/models/new.yaml (added)"]
    after = _written(out, root)
    assert {name for name in after if after[name] != first[name]} == {"leaderboard.json"}

    # a helper without load() is shared code: every model's embed manifest records it
    (root / "stages" / "extractors" / "helper.py").write_text("X = 1\n")
    assert changed_files("embed", root, out, "kmer-3") == ["stages/extractors/helper.py (added)"]


def test_a_card_edit_rescores_one_model_and_never_reembeds(tmp_path):
    root = _copy_stages(tmp_path / "repo")
    out = root / "manifests" / "code"
    first = _written(out, root)
    kmer3 = root / "benchmark" / "models" / "kmer-3.yaml"
    kmer3.write_text("# a comment changes no section\n" + kmer3.read_text())
    commented = _written(out, root)
    assert {name for name in commented if commented[name] != first[name]} == {"leaderboard.json"}
    _edit(kmer3, 'notes: ""', 'notes: "edited"')
    assert changed_files("score", root, out, "kmer-3") == ["benchmark/models/kmer-3.yaml#card (modified)"]
    assert changed_files("embed", root, out, "kmer-3") == []
    assert changed_files("score", root, out, "kmer-4") == []
    _edit(kmer3, "settings: {options: {k: 3}}", "settings: {options: {k: 3}, strand: both}")
    assert changed_files("embed", root, out, "kmer-3") == ["benchmark/models/kmer-3.yaml#embed (modified)"]
    after = _written(out, root)
    assert {name for name in after if after[name] != first[name]} == {
        "score/kmer-3.json", "embed/kmer-3.json", "leaderboard.json"}


def test_manifests_follow_the_models_of_params(tmp_path):
    root = _copy_stages(tmp_path / "repo")
    out = root / "manifests" / "code"
    _written(out, root)
    write_code_manifests(["kmer-4"], out, root)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.json")) == [
        "embed/kmer-4.json", "leaderboard.json", "manifest.json", "score/kmer-4.json"]
    with pytest.raises(CodeManifestError, match=r"benchmark/models/nope.yaml: no such model file"):
        write_code_manifests(["nope"], out, root)
    with pytest.raises(CodeManifestError, match=r"splicebert-1024nt.yaml: no embed section"):
        code_manifest("embed", root, "splicebert-1024nt")
    with pytest.raises(CodeManifestError, match=r"step 'embed' runs once per model"):
        step_files("embed", root)


def test_missing_manifest_or_listed_file_is_named(tmp_path):
    root = _copy_stages(tmp_path / "repo")
    assert changed_files("embed", root, root / "nowhere", "kmer-3") == [
        f"{(root / 'nowhere' / 'embed' / 'kmer-3.json').as_posix()} (missing or unreadable)"]
    (root / "stages" / "probe.py").unlink()
    with pytest.raises(CodeManifestError, match=r"STEP_CODE\['score'\] lists 'stages/probe.py'"):
        code_manifest("score", root, "kmer-3")
    with pytest.raises(CodeManifestError, match="unknown pipeline step 'probe'"):
        step_files("probe")
