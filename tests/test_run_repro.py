"""``geneb run`` and ``dvc repro`` make the same embedding folder and submission, so each reuses the
other's work: after ``dvc repro``, ``geneb run`` embeds nothing and rewrites its files byte for
byte; after ``geneb run``, ``dvc repro`` embeds nothing and re-probes nothing. Both in scratch clones of the small DVC
pipeline (:func:`stages.dvc_scratch.build_pipeline_origin`), whose committed results ``dvc repro``
made."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stages import paths
from stages.dvc_reports import report_paths
from stages.dvc_scratch import TEST_MODELS, TEST_TASKS, build_pipeline_origin, clone, run

pytestmark = pytest.mark.slow
MODEL = TEST_MODELS[0]
RUN = ["geneb", "run", "--model", MODEL, "--suite", "lite", "--quiet"]  # the default paths are dvc.yaml's


@pytest.fixture(scope="module")
def origin(tmp_path_factory) -> Path:
    return build_pipeline_origin(paths.REPO_ROOT, tmp_path_factory.getbasetemp() / "dvc-origin",
                                 TEST_TASKS, TEST_MODELS)


def outputs(repo: Path) -> dict[str, bytes]:
    """The model's embedding folder (task files and sidecars), submission, metrics and plot data."""
    files = [*sorted((repo / "embeddings/lite" / MODEL).iterdir()),
             repo / f"results/lite/submissions/{MODEL}.json",
             *report_paths(repo / "results/lite", MODEL).values()]
    return {path.relative_to(repo).as_posix(): path.read_bytes() for path in files}


def test_geneb_run_reuses_what_dvc_repro_made(origin, tmp_path):
    repo = clone(origin, tmp_path / "clone")
    run(["dvc", "repro", f"embed@{MODEL}"], repo)  # embeddings are not in git: DVC makes them
    made_by_dvc = outputs(repo)
    assert {"_extractor_code.json", "_settings.json"} <= {Path(f).name for f in made_by_dvc}
    result = run(RUN, repo)
    assert f"embed {MODEL} on lite: 0 task(s) embedded, {len(TEST_TASKS)} reused" in result.output
    assert outputs(repo) == made_by_dvc
    assert run(["git", "status", "--porcelain"], repo).output == ""


def test_dvc_repro_reuses_what_geneb_run_made(origin, tmp_path):
    repo = clone(origin, tmp_path / "clone")
    result = run(RUN, repo)
    assert f"embed {MODEL} on lite: {len(TEST_TASKS)} task(s) embedded, 0 reused" in result.output
    # the submission and metrics `dvc repro` committed, byte for byte
    assert run(["git", "status", "--porcelain"], repo).output == ""
    made_by_run = outputs(repo)
    repro = run(["dvc", "repro", f"score@{MODEL}"], repo)  # and every stage it depends on
    # DVC runs embed@ only because the folder is not in its cache yet; the stage reuses every task
    # file, and the folder's hash is the locked one, so score@ is not re-run
    ran = re.findall(r"^Running stage '([^']+)'", repro.output, flags=re.MULTILINE)
    assert set(ran) <= {f"embed@{MODEL}"}, repro.output
    assert not ran or f"embed {MODEL} on lite: 0 task(s) embedded" in repro.output
    assert f"Stage 'score@{MODEL}' didn't change, skipping" in repro.output
    assert outputs(repo) == made_by_run
    assert run(["git", "status", "--porcelain"], repo).output == ""
