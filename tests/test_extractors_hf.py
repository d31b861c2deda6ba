"""Tiny random-initialised models of the real architecture classes (BERT, ESM, Llama, Mistral,
GPT-2; built by ``tiny_models``), saved with ``save_pretrained`` and loaded through the registry
exactly as a hub id is:
``load_extractor`` -> family ``load`` -> ``AutoTokenizer/AutoModel*.from_pretrained(source)``.
No download is ever attempted (HF_HUB_OFFLINE=1; every source is a local directory)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never attempt a download
# trust_remote_code modules are copied under HF_HOME: a writable scratch place, not ~/.cache
os.environ.setdefault("HF_HOME", os.path.join(tempfile.gettempdir(), "geneb-test-hf-home"))

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402
from tiny_models import MAX_POSITIONS, MODELS, dna  # noqa: E402

from stages.extractors.hf import ExtractorLoadError  # noqa: E402
from stages.extractors.registry import get_model_entry, load_extractor  # noqa: E402


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Path:
    """A catalogue folder (one model file each) whose sources are the saved tiny models (local
    paths instead of hub ids)."""
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("tiny-models")
    catalogue = root / "models"
    catalogue.mkdir()
    for model_id, (build, family, options) in MODELS.items():
        source = build(root / model_id)
        card = {"display": model_id, "params": 0, "url": "", "zero_shot": False,
                "training_data": "", "provenance": "self-reported", "submitted_by": ""}
        embed = {"extractor": family, "source": source,
                 "settings": {"dtype": "auto", "options": options, "batch_size": 16}}
        (catalogue / f"{model_id}.yaml").write_text(yaml.safe_dump({"card": card, "embed": embed}))
    return catalogue


def extractor(registry: Path, model_id: str, **overrides):
    return load_extractor(get_model_entry(model_id, registry), overrides or None, device="cpu")


@pytest.mark.parametrize("model_id", sorted(MODELS))
def test_embedding_does_not_depend_on_batch_composition_or_padding(registry, model_id):
    ex = extractor(registry, model_id)
    assert ex.settings.dtype == "float32" and ex.settings.max_length == MAX_POSITIONS
    target = dna(31)
    longer = [dna(n) for n in (90, 120, 60, 150)]  # pads the target heavily in its batch
    alone = ex.embed([target])
    mixed = ex.embed(longer[:2] + [target] + longer[2:])
    assert alone.shape == (1, ex.hidden_size) and alone.dtype == np.float32
    np.testing.assert_allclose(mixed[2], alone[0], rtol=1e-4, atol=1e-5)
    assert not np.allclose(mixed[0], mixed[1], atol=1e-3)  # different sequences, different vectors
    one_by_one = np.stack([ex.embed([s])[0] for s in longer])
    np.testing.assert_allclose(np.delete(mixed, 2, axis=0), one_by_one, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("model_id", ["tiny-gpt2", "tiny-llama"])  # absolute and rotary positions
def test_left_padding_keeps_decoder_positions_via_position_ids(registry, model_id):
    right = extractor(registry, model_id)
    left = extractor(registry, model_id, padding_side="left")
    target, longer = dna(20), [dna(140), dna(100)]
    alone = right.embed([target])[0]
    np.testing.assert_allclose(left.embed(longer + [target])[2], alone, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(left.embed([target])[0], alone, rtol=1e-4, atol=1e-5)


def test_encoders_refuse_left_padding(registry):
    with pytest.raises(ExtractorLoadError, match=r"tiny-bert: padding_side 'left' is not allowed"):
        extractor(registry, "tiny-bert", padding_side="left")


@pytest.mark.parametrize("model_id", ["tiny-bert", "tiny-esm", "tiny-gpt2"])
def test_long_sequences_are_windowed_never_truncated(registry, model_id):
    ex = extractor(registry, model_id)
    long = dna(1200)
    changed_tail = long[:-30] + "".join({"A": "C", "C": "G", "G": "T", "T": "A"}[b] for b in long[-30:])
    before = ex.run_report()
    vectors = ex.embed([long, changed_tail, dna(10)])
    report = ex.run_report()
    assert report["windowed_sequences"] - before["windowed_sequences"] == 2
    assert report["windows"] - before["windows"] > 4
    assert not np.allclose(vectors[0], vectors[1], atol=1e-4)  # the tail past max_length counts
    plain, overlap = extractor(registry, model_id), extractor(registry, model_id, window_stride=10)
    assert overlap.settings.window_stride == 10
    plain.embed([long])
    overlap.embed([long])
    assert overlap.run_report()["windows"] > 2 * plain.run_report()["windows"] > 4


def test_reverse_complement_strand_is_the_mean_of_both(registry):
    both = extractor(registry, "tiny-bert", strand="both")
    forward = extractor(registry, "tiny-bert")
    seq = dna(40)
    rc = seq.translate(str.maketrans("ACGT", "TGCA"))[::-1]
    expected = (forward.embed([seq])[0] + forward.embed([rc])[0]) / 2
    np.testing.assert_allclose(both.embed([seq])[0], expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(both.embed([rc])[0], expected, rtol=1e-4, atol=1e-5)


def test_out_of_memory_halves_the_batch_and_gives_the_same_vectors(registry):
    ex = extractor(registry, "tiny-mistral")
    seqs = [dna(n) for n in range(20, 100, 5)]
    reference = ex.embed(seqs)
    real_forward = ex._forward

    def forward_that_fits_four_rows(rows):
        if len(rows) > 4:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_forward(rows)

    ex._forward = forward_that_fits_four_rows
    np.testing.assert_allclose(ex.embed(seqs), reference, rtol=1e-5, atol=1e-6)
    report = ex.run_report()
    assert report["oom_backoffs"] == 2 and report["runtime"]["batch_size"] == 4  # 16 -> 8 -> 4, then kept


def test_special_tokens_rule_is_applied(registry):
    exclude = extractor(registry, "tiny-bert")
    include = extractor(registry, "tiny-bert", special_tokens="include")
    cls = extractor(registry, "tiny-bert", pooling="cls")
    seq = dna(30)
    assert exclude._prefix and exclude._suffix  # [CLS] ... [SEP] found by probing the tokenizer
    assert not np.allclose(exclude.embed([seq]), include.embed([seq]), atol=1e-5)
    with torch.inference_mode():
        ids = torch.tensor([cls.tokenizer(seq)["input_ids"]])
        first = cls.model(input_ids=ids).last_hidden_state[0, 0].numpy()  # the [CLS] position
    np.testing.assert_allclose(cls.embed([seq])[0], first, rtol=1e-4, atol=1e-5)
    with pytest.raises(ExtractorLoadError, match="adds no leading token"):
        extractor(registry, "tiny-gpt2", pooling="cls")


def test_identity_pins_local_weights_by_content(registry, tmp_path):
    ex = extractor(registry, "tiny-gpt2")
    identity = ex.identity()
    assert identity["architecture"] == "GPT2Model" and len(identity["sha256"]) == 64
    assert extractor(registry, "tiny-gpt2").identity() == identity


def test_lm_checkpoints_run_their_headless_base_model(registry):
    """masked_lm/causal_lm checkpoints: the base model's last_hidden_state, no LM head, no hidden
    states kept; ``full_model`` (for remote code whose base returns logits) reads the same layer."""
    for model_id, architecture in (("tiny-esm", "EsmModel"), ("tiny-llama", "LlamaModel")):
        base = extractor(registry, model_id)
        full = extractor(registry, model_id, options={"full_model": True})
        assert base.identity()["architecture"] == architecture
        assert full.identity()["architecture"].endswith(("ForMaskedLM", "ForCausalLM"))
        seqs = [dna(40), dna(25)]
        np.testing.assert_allclose(base.embed(seqs), full.embed(seqs), rtol=1e-4, atol=1e-5)
        earlier = extractor(registry, model_id, layer=-2)
        assert not np.allclose(earlier.embed(seqs), base.embed(seqs), atol=1e-3)
