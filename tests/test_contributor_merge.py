"""Two model pull requests made the documented way (CONTRIBUTING.md) merge without a conflict,
and after `geneb regenerate` every check CI runs passes; the old way (each PR committing its
regenerated dvc.lock) conflicts on the same merge.

A scratch git + DVC repository made from this working tree (its lite pipeline run for real by
``build_pipeline_origin``); two branches from the same commit each add a new extractor family
module, a model file with card and embed sections, and a full-suite submission.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from stages import paths
from stages.dvc_scratch import TEST_MODELS, TEST_TASKS, build_pipeline_origin, clone, run

# The generated files: a model PR never contains them (CI and the merge rebuild them).
GENERATED = ("dvc.lock", "manifests/code/", "leaderboard/leaderboard.json",
             "leaderboard/leaderboard_tasks.json", "results/")

FAMILY = '''"""{doc}"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from stages.extractors.base import ExtractorSettings


class {cls}:
    def __init__(self, model_id: str, settings: ExtractorSettings) -> None:
        self.model_id, self.settings = model_id, settings

    def embed(self, sequences: Sequence[str]) -> np.ndarray:
        return np.array([{row} for s in sequences], dtype=np.float32).reshape(len(sequences), -1)

    def identity(self) -> dict[str, Any]:
        return {{"weights": "none ({doc})"}}

    def run_report(self) -> dict[str, Any]:
        return {{}}


def load(model_id: str, settings: ExtractorSettings, **_: Any) -> {cls}:
    return {cls}(model_id, settings)
'''

# Branch -> (model id, family, extractor class, the row it computes, published results it reuses).
MODELS = {
    "model-a": ("basecomp-a", "basecomp", "BaseComposition",
                "[s.count(b) / max(len(s), 1) for b in 'ACGT']", "GROVER"),
    "model-b": ("gcspread-b", "gcspread", "GcSpread",
                "[(h.count('G') + h.count('C')) / max(len(h), 1) for h in (s[:len(s) // 2], "
                "s[len(s) // 2:])]", "MutBERT"),
}


def add_model(repo: Path, branch: str) -> set[str]:
    """What a contributor adds for one model (CONTRIBUTING.md); returns the paths."""
    model_id, family, cls, row, published = MODELS[branch]
    module = repo / "stages" / "extractors" / f"{family}.py"
    module.write_text(FAMILY.format(doc=f"{family} features of a sequence", cls=cls, row=row))
    card = {"display": f"{family} baseline ({branch})", "params": 0, "url": "", "paper": "",
            "zero_shot": False, "training_data": "", "provenance": "self-reported",
            "submitted_by": branch, "architecture": "no neural network",
            "tokenization": "single nucleotide", "result_source": "test submission",
            "notes": "", "card": None}
    embed = {"extractor": family, "settings": {}}
    (repo / "benchmark" / "models" / f"{model_id}.yaml").write_text(
        yaml.safe_dump({"card": card, "embed": embed}, sort_keys=False))
    submission = json.loads((repo / "submissions" / f"{published}.json").read_text())
    submission["model_id"] = model_id
    submission["meta"] = {key: card[key] for key in ("display", "params", "url", "zero_shot",
                                                     "training_data", "provenance",
                                                     "submitted_by")}
    (repo / "submissions" / f"{model_id}.json").write_text(json.dumps(submission, indent=2) + "\n")
    return {f"stages/extractors/{family}.py", f"benchmark/models/{model_id}.yaml",
            f"submissions/{model_id}.json"}


def git(repo: Path, *args: str, check: bool = True) -> str:
    return run(["git", *args], repo, check=check).output


def branch_with_model(repo: Path, base: str, branch: str, name: str, regenerate: bool) -> set[str]:
    git(repo, "checkout", "-q", "-b", name, base)
    added = add_model(repo, branch)
    if regenerate:  # the old flow: the PR carries its regenerated files
        run(["geneb", "regenerate"], repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"add {MODELS[branch][0]}")
    return added


def merge(repo: Path, branch: str) -> tuple[int, list[str]]:
    """``git merge --no-ff`` into the checked-out branch: exit code and conflicted files."""
    done = run(["git", "merge", "--no-ff", "-q", "-m", f"merge {branch}", branch], repo,
               check=False)
    conflicted = git(repo, "diff", "--name-only", "--diff-filter=U").split()
    return done.returncode, conflicted


def lock_entry(repo: Path, stage: str) -> dict:
    return yaml.safe_load((repo / "dvc.lock").read_text())["stages"][stage]


@pytest.fixture(scope="module")
def origin(tmp_path_factory) -> Path:
    dest = tmp_path_factory.getbasetemp() / "dvc-origin"
    return build_pipeline_origin(paths.REPO_ROOT, dest, TEST_TASKS, TEST_MODELS)


def test_two_model_prs_merge_cleanly_and_pass_every_check_after_regenerate(origin, tmp_path):
    repo = clone(origin, tmp_path / "repo")
    base = git(repo, "rev-parse", "HEAD").strip()
    before = {stage: lock_entry(repo, stage) for stage in ("embed@kmer-4", "score@kmer-4")}

    for branch in MODELS:
        added = branch_with_model(repo, base, branch, branch, regenerate=False)
        changed = set(git(repo, "diff", "--name-only", base, branch).split())
        assert changed == added, f"{branch} touches more than its model's files: {changed - added}"
        assert not [name for name in changed if name.startswith(GENERATED)]

    git(repo, "checkout", "-q", "main")
    for branch in MODELS:
        code, conflicted = merge(repo, branch)
        assert (code, conflicted) == (0, []), f"merging {branch} conflicts in {conflicted}"

    regenerated = run(["geneb", "regenerate"], repo).output
    assert "Running stage 'code'" in regenerated
    assert not re.search(r"Running stage '(embed|score)@", regenerated), regenerated
    for command in (["geneb", "validate", "--suite", "full", *sorted(
                        str(p.relative_to(repo)) for p in (repo / "submissions").glob("*.json"))],
                    ["geneb", "leaderboard", "--suite", "full", "--check"],
                    ["geneb", "lockcheck"]):
        done = run(command, repo, check=False)
        assert done.returncode == 0, f"{' '.join(command[:3])}: exit {done.returncode}\n{done.output}"

    board = json.loads((repo / "leaderboard" / "leaderboard.json").read_text())
    shown = {row["model"] for rows in board["data"].values() for row in rows}
    assert {"basecomp-a", "gcspread-b"} <= shown
    # the new families and models left the lite pipeline's embed and score stages untouched
    assert {stage: lock_entry(repo, stage) for stage in before} == before


def test_the_old_flow_committing_regenerated_files_conflicts(origin, tmp_path):
    repo = clone(origin, tmp_path / "repo")
    base = git(repo, "rev-parse", "HEAD").strip()
    for branch in MODELS:
        branch_with_model(repo, base, branch, f"old-{branch}", regenerate=True)
    git(repo, "checkout", "-q", "main")
    assert merge(repo, "old-model-a") == (0, [])
    code, conflicted = merge(repo, "old-model-b")
    assert code != 0 and "dvc.lock" in conflicted, conflicted
