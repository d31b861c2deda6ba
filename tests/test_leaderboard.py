"""``geneb leaderboard``: the published format, numbers recomputed by hand from the submission
files and pinned to the authors' own published leaderboard, the suite and missing-task policies,
and byte-identical, hand-edit-free output."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
from helpers import hand_macro

from stages import paths
from stages.cli import main
from stages.leaderboard import (
    Entry,
    build_leaderboard,
    build_payloads,
    build_rows,
    stale_files,
)
from stages.model_meta import default_model_meta
from stages.submission import Submission
from stages.validate import SubmissionError


@pytest.fixture(scope="module")
def built_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("board")
    build_leaderboard(paths.SUBMISSIONS_DIR, out)
    return out


@pytest.fixture(scope="module")
def built(built_dir) -> tuple[dict, dict]:
    return tuple(json.loads((built_dir / name).read_text()) for name in (
        "leaderboard.json", "leaderboard_tasks.json"))


def test_rows_have_the_published_fields(built, spec):
    board, tasks = built
    assert set(board["data"]) == set(tasks["data"]) == {"full", "10shot", "1shot"}
    published_keys = {"model", "disp", "params", "official", "zero_shot", "submitted"}
    for metric in ("MCC", "Acc", "F1"):
        published_keys |= {f"micro_{metric}", f"macro_{metric}", f"cat_{metric}"}
    for rows in board["data"].values():
        assert len(rows) == 41
        for row in rows:
            assert published_keys <= set(row)
            assert list(row["cat_MCC"]) == list(spec.category_order)
    assert tasks["tasks"] == [{"id": t.id, "label": t.label, "cat": t.category} for t in spec.tasks]
    for row in tasks["data"]["1shot"]:
        assert list(row["task_F1"]) == list(spec.task_ids)


def test_every_aggregate_equals_a_hand_computation(built, published, hand_scores):
    board, tasks = built
    for regime, rows in board["data"].items():
        for row, task_row in zip(rows, tasks["data"][regime], strict=True):
            results = published[row["model"]]["results"][regime]
            for metric in ("MCC", "Acc", "F1"):
                cats, macro, micro = hand_scores(results, metric)
                assert row[f"macro_{metric}"] == pytest.approx(macro, abs=1e-12)
                assert row[f"micro_{metric}"] == pytest.approx(micro, abs=1e-12)
                assert row[f"cat_{metric}"] == pytest.approx(cats, abs=1e-12)
                assert task_row[f"task_{metric}"] == {t: s[metric] for t, s in results.items()}


# From the GENEB authors' own published leaderboard/leaderboard.json (chenkenbio/GENEB, commit
# 36e02af), full regime: (model, macro_MCC, micro_MCC, tolerance). That board was built from
# full-precision scores; the dnabert2 submission file was later rounded to 4 decimals, so its
# means can differ by up to 5e-5 (half a unit in the 4th decimal), the others not at all.
PUBLISHED_BOARD = [
    ("agro-nucleotide-transformer-1b", 0.49693228727837996, 0.4962853848839059, 1e-12),
    ("BioFM-265M", 0.341721876987488, 0.336277704417613, 1e-12),
    ("deepgene", 0.4303465443177157, 0.42439187083758967, 1e-12),
    ("dnabert2-no-flashattention", 0.510735569226201, 0.5060400420901958, 5e-5),
]


@pytest.mark.parametrize(("model", "macro", "micro", "tolerance"), PUBLISHED_BOARD)
def test_matches_the_authors_published_leaderboard(built, model, macro, micro, tolerance):
    row = next(r for r in built[0]["data"]["full"] if r["model"] == model)
    assert row["macro_MCC"] == pytest.approx(macro, abs=tolerance)
    assert row["micro_MCC"] == pytest.approx(micro, abs=tolerance)


def test_display_metadata_comes_from_model_meta(built, published):
    rows = {r["model"]: r for r in built[0]["data"]["full"]}
    # the corrected counts of three models, which their submission files do not carry
    for model, params, old in [("caduceus-ps_seqlen-131k_d_model-256_n_layer-16", 8_000_000, 1_930_000),
                               ("eccdnamamba_weights", 537_000_000, 1_000_000_000),
                               ("enformer-official-rough", 252_000_000, 250_000_000)]:
        assert rows[model]["params"] == params
        assert published[model]["meta"]["params"] == old
    meta = default_model_meta()
    assert all(row["disp"] == meta[model].display for model, row in rows.items())
    # the card's readable name, not the release's (its submission file keeps "dnabert2")
    assert rows["dnabert2-no-flashattention"]["disp"] != published["dnabert2-no-flashattention"]["meta"]["display"]
    assert (rows["splicebert-1024nt"]["submitted"], rows["splicebert-1024nt"]["official"]) == (
        "self-reported", False)
    assert sum(r["official"] for r in rows.values()) == 40


def test_default_order_is_full_regime_macro_mcc(built, published, hand_scores):
    expected = sorted(published, key=lambda m: -hand_scores(published[m]["results"]["full"], "MCC")[1])
    for regime in ("full", "10shot", "1shot"):
        assert [r["model"] for r in built[0]["data"][regime]] == expected
    assert built[0]["default_sort"] == {"regime": "full", "column": "macro_MCC"}


def test_published_rows_carry_no_noise_or_exact_fields(built):
    """The 41 published results predate both: their rows keep exactly the published layout."""
    for rows in built[0]["data"].values():
        assert not any(key.startswith(("noise_", "exact_")) for row in rows for key in row)


def test_official_board_is_labelled_full(built):
    board, tasks = built
    for payload in (board, tasks):
        assert (payload["suite"], payload["subsample"], payload["notice"]) == ("full", False, "")
        assert payload["n_models"] == 41
        assert sum(c["n_tasks"] for c in payload["categories"]) == 100


def test_output_is_byte_identical_and_the_committed_files_are_a_clean_rebuild(built_dir, tmp_path):
    again = build_leaderboard(paths.SUBMISSIONS_DIR, tmp_path)
    assert [p.read_bytes() for p in again] == [(built_dir / p.name).read_bytes() for p in again]
    assert stale_files() == [], "leaderboard/*.json differ from a rebuild: run `geneb leaderboard`"


def test_check_catches_a_hand_edit(built_dir, tmp_path, capsys):
    out = shutil.copytree(built_dir, tmp_path / "board")
    assert main(["leaderboard", "--out", str(out), "--check"]) == 0
    edited = out / "leaderboard.json"
    edited.write_text(edited.read_text().replace('"disp":"GROVER"', '"disp":"GROVER!"', 1))
    assert main(["leaderboard", "--out", str(out), "--check"]) == 1
    assert f"{edited}: differs from a rebuild" in capsys.readouterr().out


def copy_submissions(dest: Path) -> Path:
    dest.mkdir(parents=True)
    for path in paths.SUBMISSIONS_DIR.glob("*.json"):
        shutil.copyfile(path, dest / path.name)
    return dest


def test_a_model_missing_a_task_is_refused_not_averaged(tmp_path, capsys, published, spec):
    folder = copy_submissions(tmp_path / "subs")
    partial = copy.deepcopy(published["GROVER"])
    del partial["results"]["full"][spec.task_ids[0]]
    (folder / "GROVER.json").write_text(json.dumps(partial))
    with pytest.raises(SubmissionError, match=f"GROVER.json: results/full: missing 1 of 100 tasks: "
                                              f"{spec.task_ids[0]}"):
        build_leaderboard(folder, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert main(["leaderboard", "--submissions", str(folder), "--out", str(tmp_path / "o")]) == 2
    assert "missing 1 of 100 tasks" in capsys.readouterr().err


def test_a_partial_row_gets_nulls_never_a_mean_over_fewer_tasks(published, spec, hand_scores):
    results = copy.deepcopy(published["GROVER"]["results"])
    missing = spec.task_ids[0]  # a Histone Mod. task
    del results["full"][missing]
    entry = Entry(Submission.from_json({**published["GROVER"], "results": results}),
                  default_model_meta()["GROVER"])
    row, task_row = build_rows(entry, "full", spec, spec.task_ids)
    cats, _, _ = hand_scores(published["GROVER"]["results"]["full"], "MCC")
    assert row["cat_MCC"]["Histone Mod."] is None
    assert row["macro_MCC"] is None and row["micro_MCC"] is None
    assert row["cat_MCC"]["Promoters"] == pytest.approx(cats["Promoters"], abs=1e-12)
    assert task_row["task_MCC"][missing] is None

    complete = Entry(Submission.from_json(published["MutBERT"]), default_model_meta()["MutBERT"])
    board, _ = build_payloads([entry, complete], spec.suite("full"), spec)
    assert [r["model"] for r in board["data"]["full"]] == ["MutBERT", "GROVER"]  # nulls last


def test_official_board_rejects_a_lite_submission(tmp_path, writer_submission):
    folder = copy_submissions(tmp_path / "subs")
    (folder / "kmer-4.json").write_text(json.dumps(writer_submission("lite")))
    with pytest.raises(SubmissionError, match="kmer-4.json: suite: 'lite' is a subsample"):
        build_leaderboard(folder, tmp_path / "out")


def test_lite_board_is_labelled_and_accepts_only_lite(tmp_path, spec, capsys, writer_submission):
    folder = tmp_path / "lite-subs"
    folder.mkdir()
    (folder / "kmer-4.json").write_text(json.dumps(writer_submission("lite")))
    out = tmp_path / "lite-board"
    assert main(["leaderboard", "--suite", "lite", "--submissions", str(folder), "--out", str(out)]) == 0
    board = json.loads((out / "leaderboard.json").read_text())
    tasks = json.loads((out / "leaderboard_tasks.json").read_text())
    assert (board["suite"], board["subsample"]) == ("lite", True)
    assert "NOT GENEB scores" in board["notice"]
    assert [c["name"] for c in board["categories"]] == ["Promoters", "Mouse Enh.", "TF Binding"]
    assert [t["id"] for t in tasks["tasks"]] == [t for t in spec.task_ids if t in spec.suite("lite").task_ids]
    assert board["data"]["full"][0]["macro_MCC"] is not None

    submission = writer_submission("lite")
    for regime in spec.regimes:  # the noise floor's Macro: the same means over per-task floors
        row, task_row = board["data"][regime][0], tasks["data"][regime][0]
        floors = {t: f["MCC"] for t, f in submission["run_settings"]["noise_floor"]["results"][regime].items()}
        assert row["noise_MCC"]["macro"] == pytest.approx(hand_macro(floors, spec), abs=1e-15)
        assert task_row["noise_task_MCC"] == floors
        exact = {t: v["MCC"] for t, v in submission["exact_results"][regime].items()}
        assert row["exact_MCC"]["macro"] == pytest.approx(hand_macro(exact, spec), abs=1e-15)

    shutil.copyfile(paths.SUBMISSIONS_DIR / "GROVER.json", folder / "GROVER.json")
    with pytest.raises(SubmissionError, match="GROVER.json: suite: file claims suite 'full' but this is "
                                              "the 'lite' leaderboard"):
        build_leaderboard(folder, out, suite="lite")


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no submission files"):
        build_leaderboard(tmp_path, tmp_path / "out")


def test_model_meta_keeps_the_published_fields_and_describes_every_model(tmp_path, published):
    from stages.model_meta import ModelMetaError, load_model_meta

    meta = load_model_meta()
    assert set(published) <= set(meta)  # the other cards: tests/test_catalogue.py
    reference = paths.REPO_ROOT.parent / "shared" / "reference" / "geneb" / "model_meta.json"
    if reference.is_file():
        for model_id, entry in json.loads(reference.read_text()).items():
            # display names are the cards' readable ones (issue 15), not the release's raw ids
            for key in ("params", "zero_shot", "provenance", "submitted_by"):
                assert getattr(meta[model_id], key) == entry[key], (model_id, key)
    for entry in meta.values():
        assert entry.card is None or (paths.REPO_ROOT / entry.card).is_file()
        assert entry.url == "" or entry.url.startswith("https://")

    broken = tmp_path / "models"
    broken.mkdir()
    text = (paths.MODELS_DIR / "GROVER.yaml").read_text()
    (broken / "GROVER.yaml").write_text(text.replace('provenance: "official"', 'provenance: "trusted"'))
    with pytest.raises(ModelMetaError, match=r"GROVER.yaml: card.provenance: 'trusted' is not one of"):
        load_model_meta(broken)


def test_rows_say_what_each_model_is_and_how_it_was_made(built, published):
    """The 41 published rows were embedded by their authors' extractors ("reference"), with the
    documented difference from each model's ``published_run``; the card's facts, ``null`` where
    it says nothing; the repository's address once in the header."""
    from stages.extractors.registry import registered_models

    board, tasks = built
    registry, meta = registered_models(), default_model_meta()
    for regime in board["data"]:
        for row, task_row in zip(board["data"][regime], tasks["data"][regime], strict=True):
            card, entry = meta[row["model"]], registry.get(row["model"])
            assert row["extraction"] == task_row["extraction"] == "reference"
            assert row["reference_extraction"] == ((entry.published_run or None) if entry else None)
            for key in ("url", "paper", "architecture", "tokenization", "training_data", "card"):
                assert row[key] == (getattr(card, key) or None), (row["model"], key)
            assert task_row["run"] is None and "url" not in task_row and "run" not in row
    rows = {r["model"]: r for r in board["data"]["full"]}
    assert "left pads" in rows["hyenadna-large-1m-seqlen-hf"]["reference_extraction"]
    assert "no mask reaches" in rows["caduceus-ps_seqlen-131k_d_model-256_n_layer-16"]["reference_extraction"]
    assert rows["splicebert-1024nt"]["card"] == "model_cards/splicebert-1024nt.md"
    assert sum(r["architecture"] is None for r in rows.values()) < 41
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((paths.REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for payload in built:
        assert payload["repository"] == project["urls"]["Repository"].rstrip("/")
        assert payload["card_base_url"] == payload["repository"] + "/blob/main/"


def test_a_row_made_by_genebs_extractors_says_so_with_its_run_settings(writer_submission, spec):
    submission = writer_submission("full")
    submission["run_settings"]["machine"] = json.loads(
        (paths.REPO_ROOT / "results" / "lite" / "submissions" / "kmer-4.json").read_text())["run_settings"]["machine"]
    entry = Entry(Submission.from_json(submission), default_model_meta()["kmer-4"], "ignored: not a reference row")
    row, task_row = build_rows(entry, "full", spec, spec.task_ids)
    assert (row["extraction"], row["reference_extraction"]) == ("geneb", None)
    settings = submission["run_settings"]
    run = task_row["run"]
    assert run["extractor"] == settings["extractor"]["family"] == "kmer"
    assert run["settings"] == {"options": {"k": 4}}  # the declared settings, nulls left out
    assert (run["harness"], run["code_revision"]) == (settings["harness_version"], settings["code_revision"])
    assert run["data"] == f"{settings['dataset']['repo_id']}@{settings['dataset']['revision']}"
    assert (run["torch"], run["transformers"]) == (settings["packages"]["torch"], settings["packages"]["transformers"])
    blas = settings["machine"]["probe"]["blas"]
    assert run["blas"] == [f"{b['vendor']} {b['version']} ({b['kernel']} kernel, {b['threads']} threads)" for b in blas]
    assert "run" not in row and "url" in row  # detail-view data only in the lazily loaded file


def test_the_repository_address_is_read_from_pyproject(tmp_path):
    from stages.leaderboard import LeaderboardError, repository_url

    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "x"\n\n[project.urls]\nHomepage = "https://a.example"\n'
                    'Repository = "https://github.com/org/repo/"\n\n[tool.x]\nRepository = "no"\n')
    assert repository_url(path) == "https://github.com/org/repo"
    path.write_text('[project]\nname = "x"\n[tool.x]\nRepository = "https://elsewhere"\n')
    with pytest.raises(LeaderboardError, match=r"pyproject.toml: \[project.urls\] has no Repository"):
        repository_url(path)
