"""The model catalogue: one file per model, ``benchmark/models/<model_id>.yaml``, with a card (what
a model is) and an optional embed section (how to embed it) that share no field; submissions, the
leaderboard and the validator all read the card, and a bad file is one line naming file and field."""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from stages import catalogue, paths
from stages.extractors.base import SettingsError
from stages.extractors.registry import (
    ModelEntry,
    RegistryError,
    discover_families,
    families,
    get_model_entry,
    load_extractor,
    registered_models,
)
from stages.model_meta import (
    PUBLISHED_FIELDS,
    ModelMeta,
    ModelMetaError,
    default_model_meta,
    load_model_meta,
    model_card,
    submission_meta,
)

CARD_FIELDS = {f.name for f in fields(ModelMeta)} - {"model_id"}
LITE_RUNS = ("kmer-4", "hyenadna-tiny-1k-anticapt")
SCHEMA = json.loads((paths.SCHEMA_DIR / catalogue.MODEL_SCHEMA).read_text(encoding="utf-8"))


@pytest.fixture
def models(tmp_path) -> Path:
    """A copy of the real catalogue to break."""
    return Path(shutil.copytree(paths.MODELS_DIR, tmp_path / "models"))


def test_one_file_per_model_named_by_its_id_and_every_model_has_a_card():
    files = sorted(paths.MODELS_DIR.glob("*.yaml"))
    assert len(files) == len(default_model_meta()) >= 46
    assert sorted(set(registered_models()) - set(default_model_meta())) == []
    submitted = {p.stem for p in paths.SUBMISSIONS_DIR.glob("*.json")}
    assert sorted(set(default_model_meta()) - set(registered_models()) - submitted) == []
    assert not (paths.BENCHMARK_DIR / "model_meta.json").exists()
    assert not (paths.BENCHMARK_DIR / "model_registry.yaml").exists()


def test_card_and_embed_sections_share_no_field():
    card, embed = (set(SCHEMA["$defs"][name]["properties"]) for name in ("card", "embed"))
    assert card & embed == set()
    assert {f.name for f in fields(ModelEntry)} & CARD_FIELDS == set()
    for path in paths.MODELS_DIR.glob("*.yaml"):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert set(raw) <= {"card", "embed"} and set(raw.get("embed") or {}) & CARD_FIELDS == set()


def test_schema_and_record_agree_on_the_card_fields():
    card = SCHEMA["$defs"]["card"]
    assert card["required"] == list(PUBLISHED_FIELDS)
    assert set(card["properties"]) == CARD_FIELDS
    assert model_card("kmer-4").paper == "" and "paper" not in model_card("kmer-4").published()


def test_a_card_field_in_the_embed_section_is_rejected_with_where_it_belongs(models):
    path = models / "kmer-3.yaml"
    path.write_text(path.read_text() + "  display: M\n")  # indented: lands in `embed`
    with pytest.raises(RegistryError, match=r"kmer-3.yaml: embed: Additional properties are not "
                                            r"allowed \('display' was unexpected\) \(display: a "
                                            r"field of the card section\)"):
        get_model_entry("kmer-3", models)


@pytest.mark.parametrize(("edit", "error", "message"), [
    (lambda t: t.replace("params: 87101793", "params: -1"), ModelMetaError,
     r"GROVER.yaml: card.params: -1 is less than the minimum of 0"),
    (lambda t: t.replace('provenance: "official"', 'provenance: "trusted"'), ModelMetaError,
     r"GROVER.yaml: card.provenance: 'trusted' is not one of"),
    (lambda t: re.sub(r'paper: ".*"', 'paper: "http://example.org"', t), ModelMetaError,
     r"GROVER.yaml: card.paper: 'http://example.org' is not valid under any of the given schemas"),
    (lambda t: t + "  settings: {pooling: max}\n", SettingsError,
     r"GROVER.yaml: embed.settings: setting 'pooling': 'max' is not one of mean, cls, last"),
    (lambda t: t.replace("extractor: hf_masked_lm", "extractor: nosuch"), RegistryError,
     r"GROVER.yaml: embed.extractor: unknown extractor family 'nosuch'; known: caduceus, "
     r"external, hf_causal, hf_masked_lm, hyena, kmer \(a family is a module "
     r"stages.extractors.<family> that defines load\)"),
    (lambda t: t.replace("card:", "card: [", 1), ModelMetaError, r"GROVER.yaml: cannot read YAML"),
])
def test_a_bad_file_is_one_line_naming_file_and_field(models, edit, error, message):
    path = models / "GROVER.yaml"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(error, match=message) as caught:
        if error is ModelMetaError:
            load_model_meta(models)
        else:
            get_model_entry("GROVER", models)
    assert "\n" not in str(caught.value)


def test_a_file_name_that_is_no_model_id_is_rejected(models):
    (models / "kmer-3.yaml").rename(models / "bad name.yaml")
    with pytest.raises(ModelMetaError, match=r"bad name.yaml: the file name must be <model_id>.yaml"):
        load_model_meta(models)


def test_one_model_reads_only_its_own_file(models):
    (models / "GROVER.yaml").write_text("card: {display: 1}\n")  # broken, but not read
    assert get_model_entry("kmer-3", models).settings.options == {"k": 3}
    with pytest.raises(RegistryError, match=r"model 'splicebert-1024nt' is not registered: "
                                            r".*splicebert-1024nt.yaml has no embed section"):
        get_model_entry("splicebert-1024nt", models)
    with pytest.raises(RegistryError, match=r"model 'nope' is not registered: no .*nope.yaml"):
        get_model_entry("nope", models)


def test_an_edited_file_is_read_again(models):
    path = models / "kmer-3.yaml"
    assert load_model_meta(models)["kmer-3"].display == "3-mer frequencies (baseline)"
    time.sleep(0.01)
    path.write_text(path.read_text().replace("3-mer frequencies (baseline)", "Three-mers"))
    assert load_model_meta(models)["kmer-3"].display == "Three-mers"


# -- families: discovered from the package, no shared list ------------------------------------

def test_families_are_the_modules_that_define_load():
    found = families()
    assert set(found) == {"caduceus", "external", "hf_causal", "hf_masked_lm", "hyena", "kmer"}
    assert found["kmer"] == "stages.extractors.kmer"
    assert {e.extractor for e in registered_models().values()} <= set(found)


def test_a_new_family_module_is_found_without_editing_a_shared_file(tmp_path):
    package = Path(shutil.copytree(paths.REPO_ROOT / "stages" / "extractors", tmp_path / "ext",
                                   ignore=shutil.ignore_patterns("__pycache__")))
    (package / "myfam.py").write_text("def load(model_id, settings, **_):\n    return None\n")
    (package / "helper.py").write_text("def embed(x):\n    return x\n")  # no load: a helper
    (package / "_private.py").write_text("def load():\n    pass\n")
    (package / "pkgfam").mkdir()
    (package / "pkgfam" / "__init__.py").write_text("from .impl import load\n")
    assert set(discover_families(package)) - set(families()) == {"myfam", "pkgfam"}


def test_an_unknown_family_says_which_exist():
    entry = get_model_entry("kmer-3")
    bogus = ModelEntry(model_id="x", extractor="nosuch", settings=entry.settings)
    with pytest.raises(RegistryError, match=r"unknown extractor family 'nosuch'; known: caduceus, "):
        load_extractor(bogus)


# -- who reads the card ------------------------------------------------------------------------

@pytest.mark.parametrize("model_id", LITE_RUNS)
def test_a_runs_meta_is_its_card_byte_for_byte(model_id):
    committed = json.loads((paths.REPO_ROOT / "results" / "lite" / "submissions"
                            / f"{model_id}.json").read_text(encoding="utf-8"))["meta"]
    built = submission_meta(model_id, provenance="self-reported", submitted_by="")
    assert json.dumps(built) == json.dumps(committed)
    assert built == model_card(model_id).published()


def test_the_lite_leaderboard_shows_the_cards():
    board = json.loads((paths.REPO_ROOT / "results" / "lite" / "leaderboard" / "leaderboard.json")
                       .read_text(encoding="utf-8"))
    for row in board["data"]["full"]:
        card = model_card(row["model"])
        assert (row["disp"], row["params"], row["zero_shot"], row["submitted"]) == \
            (card.display, card.params, card.zero_shot, card.provenance)


def test_a_model_without_a_card_fails_clearly():
    with pytest.raises(ModelMetaError, match=r"benchmark/models/nope.yaml: no card for model "
                                             r"'nope': add the file with a card section"):
        model_card("nope")
