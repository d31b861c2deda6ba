"""The model catalogue: the registry (how to embed a model) and the cards in model_meta.json (what
a model is) share no field, every registered model has a card, and submissions, the leaderboard
and the validator all read the card."""

from __future__ import annotations

import json
from dataclasses import fields

import pytest
import yaml

from stages import paths
from stages.extractors.registry import REGISTRY_PATH, ModelEntry, RegistryError, get_model_entry, registered_models
from stages.model_meta import (
    PUBLISHED_FIELDS,
    ModelMeta,
    ModelMetaError,
    default_model_meta,
    model_card,
    submission_meta,
)

CARD_FIELDS = {f.name for f in fields(ModelMeta)} - {"model_id"}
LITE_RUNS = ("kmer-4", "hyenadna-tiny-1k-anticapt")


def test_every_registered_model_has_a_card_and_every_card_a_model():
    cards = default_model_meta()
    assert sorted(set(registered_models()) - set(cards)) == []
    submitted = {p.stem for p in paths.SUBMISSIONS_DIR.glob("*.json")}
    assert sorted(set(cards) - set(registered_models()) - submitted) == []


def test_registry_and_cards_share_no_field():
    assert {f.name for f in fields(ModelEntry)} & CARD_FIELDS == set()
    raw = yaml.safe_load(REGISTRY_PATH.read_text(encoding="utf-8"))["models"]
    for model_id, body in raw.items():
        assert set(body) & CARD_FIELDS == set(), model_id


def test_a_card_field_in_the_registry_is_rejected_with_where_it_belongs(tmp_path):
    path = tmp_path / "model_registry.yaml"
    path.write_text(yaml.safe_dump({"models": {"m": {"extractor": "kmer", "display": "M",
                                                     "settings": {"options": {"k": 3}}}}}))
    with pytest.raises(RegistryError, match=r"model 'm': unknown field\(s\) \['display'\] "
                                            r"\(.*belong in benchmark/model_meta.json\)"):
        get_model_entry("m", path)


def test_schema_and_record_agree_on_the_card_fields():
    schema = json.loads((paths.SCHEMA_DIR / "model_meta.schema.json").read_text(encoding="utf-8"))
    card = schema["additionalProperties"]
    assert card["required"] == list(PUBLISHED_FIELDS)
    assert set(card["properties"]) == CARD_FIELDS


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
    with pytest.raises(ModelMetaError, match=r"model_meta.json: no card for model 'nope'"):
        model_card("nope")
