"""Load-time guards (issue 16) for every Hugging Face family, on tiny checkpoints saved with
``save_pretrained`` (``tiny_models``) and on the real HyenaDNA-tiny checkpoints of anticapt:

* no random weights: a checkpoint with a layer removed, an extra tensor, a wrong shape, or
  DNABERT-2-style weights read by plain BERT is refused with one line; the real checkpoints load
  with 0 missing and 0 unexpected; what the guard found is in the weights identity, so in every
  embedding file's cache key and in the submission's run settings;
* seed independence: two loads under different torch seeds embed bit-identically;
* one row per sequence, in input order, the same at batch size 1 and 8 (CPU fp32: within 1e-6
  of the largest component);
* nothing changes silently: dtype, self-truncating tokenizers, sequence-dependent special tokens.

Families are loaded through their own ``load`` (the registry only picks the module). Caduceus
needs mamba-ssm's CUDA kernels, so its family runs here with its one CUDA-only step
(``check_environment``) lifted, on a Caduceus-layout checkpoint whose Mamba mixers run on CPU.
"""

from __future__ import annotations

import importlib
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_models import MODELS, REMOTE_MODELS, anticapt_checkpoints, dna

from stages.embed import embed_task
from stages.embedding_files import read_embeddings
from stages.extractors import kmer, load_checks
from stages.extractors.base import ExtractorSettings
from stages.extractors.caduceus import CaduceusExtractor
from stages.extractors.hf import ExtractorLoadError
from stages.extractors.hf_masked_lm import MaskedLMExtractor
from stages.extractors.load_checks import LoadCheckError
from stages.taskdata import load_task

HYENA = anticapt_checkpoints()
NEURAL = [*MODELS, *REMOTE_MODELS, "hyenadna-tiny"]
# Batch invariance on CPU fp32: every component within 1e-6 of the vectors' largest |component|
# (HyenaDNA's FFT convolution takes its length from the padded batch, which moves components by
# a few float32 ulps; the attention families stay within 1e-6 absolute).
TOLERANCE = 1e-6
LAYER_1 = re.compile(r"(^|\.)(layer|layers|h)\.1\.")  # BERT/ESM, Llama/Mistral/HyenaDNA/BiMamba, GPT-2


class CaduceusOnCPU(CaduceusExtractor):
    """The caduceus family with its CUDA check lifted; everything else is the family's own."""

    def check_environment(self, device: str) -> None:
        """Caduceus' kernels are CUDA-only; the tiny checkpoint's mixers are not."""


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, tuple[str, str, dict]]:
    """model id -> (checkpoint directory, family, options)."""
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("guard-models")
    found = {model_id: (build(root / model_id), family, options)
             for model_id, (build, family, options) in {**MODELS, **REMOTE_MODELS}.items()}
    if HYENA:
        found["hyenadna-tiny"] = (str(HYENA[0]), "hyena", {"trust_remote_code": True})
    return found


def load(model_id: str, source: str, family: str, options: dict, revision: str | None = None, **settings):
    declared = ExtractorSettings(dtype="auto", options=options, **settings)
    if family == "caduceus":
        return CaduceusOnCPU(model_id, declared, source=source, revision=revision, device="cpu")
    module = importlib.import_module(f"stages.extractors.{family}")
    return module.load(model_id, declared, source=source, revision=revision, device="cpu")


def model(checkpoints, model_id: str, **settings):
    if model_id not in checkpoints:
        pytest.skip("the anticapt package (HyenaDNA-tiny weights) is not installed")
    return load(model_id, *checkpoints[model_id], **settings)


def weights_file(directory: Path) -> Path:
    return next(directory / name for name in ("model.safetensors", "pytorch_model.bin")
                if (directory / name).is_file())


def edited_copy(checkpoints, model_id: str, tmp_path: Path, edit) -> str:
    """A copy of the checkpoint whose tensors ``edit`` changed (its directory)."""
    from safetensors.torch import load_file, save_file

    source, _, _ = checkpoints[model_id]
    directory = tmp_path / model_id
    shutil.copytree(source, directory, ignore=shutil.ignore_patterns("__pycache__"))
    path = weights_file(directory)
    safetensors = path.suffix == ".safetensors"
    tensors = load_file(path) if safetensors else torch.load(path, map_location="cpu", weights_only=True)
    tensors = edit(dict(tensors))
    if safetensors:
        save_file(tensors, path, metadata={"format": "pt"})
    else:
        torch.save(tensors, path)
    return str(directory)


def stored_names(checkpoints, model_id: str) -> list[str]:
    from safetensors import safe_open

    path = weights_file(Path(checkpoints[model_id][0]))
    if path.suffix == ".safetensors":
        with safe_open(path, "pt") as handle:
            return sorted(handle.keys())
    return sorted(torch.load(path, map_location="cpu", weights_only=True))


# -- no random weights ---------------------------------------------------------------------------

@pytest.mark.parametrize("model_id", NEURAL)
def test_a_checkpoint_with_a_layer_removed_is_refused(checkpoints, model_id, tmp_path):
    intact = model(checkpoints, model_id).identity()["load_check"]
    removed = [name for name in stored_names(checkpoints, model_id) if LAYER_1.search(name)]
    source = edited_copy(checkpoints, model_id, tmp_path,
                         lambda t: {k: v for k, v in t.items() if k not in removed})
    _, family, options = checkpoints[model_id]
    with pytest.raises(LoadCheckError) as refused:
        load(model_id, source, family, options, revision="0" * 40)
    message = str(refused.value)
    assert "\n" not in message and message.startswith(f"{model_id} ({source}, revision {'0' * 40}): ")
    count, shown = re.search(r": (\d+) weight tensor\(s\) of the model are missing from the checkpoint "
                             r"and would keep their initial, untrained values \([^)]+\): ([\w.]+(?:, [\w.]+)*)",
                             message).groups()
    assert int(count) == len(removed) and len(removed) >= 4  # nothing hidden, not even HyenaDNA's freq
    names = [name.rstrip(".") for name in shown.split(", ")]
    assert len(names) == min(load_checks.SHOWN, len(removed)) and names == sorted(names)
    stored = [re.sub(r"\.gamma$", ".weight", re.sub(r"\.beta$", ".bias", n)) for n in removed]  # ESM files
    for name in names:
        assert any(n.endswith(name) for n in stored), name
    assert intact["missing"] == 0  # the intact checkpoint passes the same guard


@pytest.mark.parametrize("model_id", NEURAL)
def test_a_checkpoint_with_an_extra_tensor_is_refused(checkpoints, model_id, tmp_path):
    extra = "backbone.layers.7.mixer.extra.weight"
    source = edited_copy(checkpoints, model_id, tmp_path, lambda t: {**t, extra: torch.ones(3, 3)})
    _, family, options = checkpoints[model_id]
    with pytest.raises(LoadCheckError, match=rf"^{model_id} \(.*, revision unpinned\): 1 checkpoint "
                                             rf"tensor\(s\) are not used by the model: {re.escape(extra)}\."):
        load(model_id, source, family, options)


def test_a_tensor_of_the_wrong_shape_is_refused_in_one_line(checkpoints, tmp_path):
    def widen(tensors):
        name = next(k for k in tensors if k.endswith("layer.1.output.dense.weight"))
        return {**tensors, name: torch.zeros(tensors[name].shape[0], tensors[name].shape[1] + 1)}

    source = edited_copy(checkpoints, "tiny-bert", tmp_path, widen)
    with pytest.raises(ExtractorLoadError, match=r"^tiny-bert: cannot load .*ignore_mismatched_sizes") as refused:
        load("tiny-bert", source, "hf_masked_lm", {})
    assert "\n" not in str(refused.value)


def test_dnabert2_style_weights_read_by_plain_bert_are_refused(checkpoints, tmp_path):
    """DNABERT-S's defect: its checkpoint (fused Wqkv attention, DNABERT-2 code) loaded without
    trust_remote_code, so plain BERT left most of the encoder random."""
    fused, packed = [], []

    def fuse(tensors):
        out = {}
        fused.extend(v.numel() for k, v in tensors.items() if re.search(r"\.self\.(query|key|value)\.", k))
        for name, value in tensors.items():
            if ".attention.self.query." in name:
                parts = [tensors[name.replace(".query.", f".{p}.")] for p in ("query", "key", "value")]
                packed.append(name.replace(".query.", ".Wqkv."))
                out[packed[-1]] = torch.cat(parts)
            elif not re.search(r"\.attention\.self\.(key|value)\.", name):
                out[name] = value
        return out

    source = edited_copy(checkpoints, "tiny-bert", tmp_path, fuse)
    config = Path(source) / "config.json"
    config.write_text(config.read_text().replace('"architectures"', '"auto_map": {"AutoModel": '
                                                 '"bert_layers.BertModel"},\n  "architectures"'))
    with pytest.raises(LoadCheckError) as refused:
        load("tiny-bert", source, "hf_masked_lm", {})
    message = str(refused.value)
    assert re.search(rf": {len(fused)} weight tensor\(s\) .* \({sum(fused):,} of [\d,]+ parameters\): "
                     r"encoder\.layer\.0\.attention\.self\.key\.bias", message), message
    assert f"{len(packed)} checkpoint tensor(s) are not used by the model: {min(packed)}" in message
    assert "set options: {trust_remote_code: true}" in message


@pytest.mark.parametrize("checkpoint", HYENA, ids=lambda p: p.parent.name)
def test_real_hyenadna_tiny_checkpoints_load_with_nothing_missing_or_unused(checkpoint):
    hyena = load("hyenadna-tiny", str(checkpoint), "hyena", {"trust_remote_code": True})
    check = hyena.identity()["load_check"]
    assert (check["missing"], check["unexpected"], check["mismatched"]) == (0, 0, 0)
    assert "declared_drops" not in check
    assert check["parameters"] == sum(p.numel() for p in hyena.model.parameters()) > 0
    assert check["architecture_ignores"] == {"missing": {"freq": 0}}  # the pattern, and that it hid nothing


def test_declared_drops_reach_the_cache_key_and_the_embedding_file(checkpoints, lite, tmp_path):
    bert = model(checkpoints, "tiny-bert")
    head = [n for n in stored_names(checkpoints, "tiny-bert") if n.startswith("cls.predictions.")]
    check = bert.identity()["load_check"]
    assert check["declared_drops"] == {"missing": {r"^pooler\.dense\.(weight|bias)$": 2},
                                       "unexpected": {r"^(cls\.predictions|lm_head)\.": len(head)}}
    assert set(MaskedLMExtractor.allowed_missing) >= set(check["declared_drops"]["missing"])
    task = load_task(lite.data_dir, "leannmlindsey_GUE_mouse_3")
    embed_task(bert, task, tmp_path)
    stored = read_embeddings(tmp_path / f"{task.task_id}.npz").meta["key"]["weights"]
    assert stored == bert.identity() and stored["load_check"] == check  # run settings copy this key


# -- seed independence --------------------------------------------------------------------------

@pytest.mark.parametrize("model_id", NEURAL)
def test_two_loads_under_different_seeds_embed_bit_identically(checkpoints, model_id):
    sequences = [dna(n) for n in (12, 75, 30, 140)]
    torch.manual_seed(1)
    first = model(checkpoints, model_id).embed(sequences)
    torch.manual_seed(2)
    second = model(checkpoints, model_id).embed(sequences)
    assert first.dtype == np.float32 and np.array_equal(first, second)


def test_the_seed_check_catches_a_used_weight_declared_as_dropped(checkpoints, tmp_path):
    """Why both checks: a family that wrongly declares a weight it uses passes the key guard, and
    only the seed check sees the random values."""
    class Overbroad(MaskedLMExtractor):
        allowed_missing = {**MaskedLMExtractor.allowed_missing, r"^encoder\.layer\.1\.": "wrong"}

    source = edited_copy(checkpoints, "tiny-bert", tmp_path,
                         lambda t: {k: v for k, v in t.items() if not LAYER_1.search(k)})
    sequences = [dna(40), dna(90)]
    vectors = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        vectors.append(Overbroad("tiny-bert", ExtractorSettings(), source=source, device="cpu").embed(sequences))
    assert not np.allclose(vectors[0], vectors[1], atol=1e-3)


def test_kmer_vectors_do_not_depend_on_the_seed():
    sequences = [dna(50), dna(9)]
    torch.manual_seed(1)
    first = kmer.load("kmer-4", ExtractorSettings(options={"k": 4})).embed(sequences)
    torch.manual_seed(2)
    assert np.array_equal(first, kmer.load("kmer-4", ExtractorSettings(options={"k": 4})).embed(sequences))


# -- one row per sequence, in order, at any batch size ------------------------------------------

def mixed_sequences(longest: int) -> list[str]:
    """Eleven sequences of mixed lengths (one needs windows), so a batch of 8 pads most of them."""
    return [dna(n) for n in (7, 150, 33, 64, 12, 99, 48, 5, 120, 27, longest)]


@pytest.mark.parametrize("model_id", [*NEURAL, "kmer-4"])
def test_one_row_per_sequence_in_input_order_at_batch_size_1_and_8(checkpoints, model_id):
    if model_id == "kmer-4":
        extractor = kmer.load(model_id, ExtractorSettings(options={"k": 4}))
        sequences = mixed_sequences(300)
        one = np.concatenate([extractor.embed([s]) for s in sequences])
        eight = np.concatenate([extractor.embed(sequences[i:i + 8]) for i in range(0, len(sequences), 8)])
    else:
        single = model(checkpoints, model_id, batch_size=1)
        extractor = model(checkpoints, model_id, batch_size=8)
        window, longest = single.settings.max_length, single.settings.max_length + 1
        while len(single.tokenizer(dna(longest), add_special_tokens=False)["input_ids"]) <= window:
            longest *= 2  # until it needs two windows
        sequences = mixed_sequences(longest)
        one, eight = single.embed(sequences), extractor.embed(sequences)
        assert single.run_report()["windowed_sequences"] >= 1
    assert one.shape == eight.shape == (len(sequences), one.shape[1]) and eight.dtype == np.float32
    tolerance = TOLERANCE * np.abs(one).max()
    np.testing.assert_allclose(eight, one, rtol=0, atol=tolerance)
    assert len({row.tobytes() for row in eight}) == len(sequences)  # a row per sequence, not per batch
    order = np.random.default_rng(3).permutation(len(sequences))
    shuffled = extractor.embed([sequences[i] for i in order])
    np.testing.assert_allclose(shuffled[np.argsort(order)], eight, rtol=0, atol=tolerance)


def test_the_caduceus_layout_needs_its_pad_free_batches(checkpoints):
    """The stand-in is bidirectional with no attention mask, like Caduceus: a pad after the
    sequence reaches every real token, which is why the family batches equal lengths only."""
    bimamba = model(checkpoints, "tiny-bimamba")
    ids = bimamba.tokenizer(dna(20))["input_ids"]
    with torch.inference_mode():
        alone = bimamba._module(input_ids=torch.tensor([ids])).last_hidden_state[0]
        padded = bimamba._module(input_ids=torch.tensor([ids + [bimamba._pad_id] * 10])).last_hidden_state[0]
    assert not torch.allclose(padded[:len(ids)], alone, atol=1e-4)
    assert not bimamba._takes_mask and bimamba.pad_free


def test_the_trim_and_last_pooling_paths_give_what_they_declare(checkpoints):
    """Option branches no other test runs: an undefined name there fails here, not in a run."""
    source, family, options = checkpoints["tiny-llama"]
    trimmed = load("tiny-llama", source, family, {**options, "trim_to_multiple_of": 6})
    sequence = dna(40)
    np.testing.assert_allclose(trimmed.embed([sequence]), model(checkpoints, "tiny-llama").embed([sequence[4:]]),
                               rtol=0, atol=1e-6)
    assert trimmed.run_report()["trimmed_nucleotides"] == 40 % 6
    last = model(checkpoints, "tiny-gpt2", pooling="last")
    ids = last.tokenizer(sequence, add_special_tokens=False)["input_ids"]  # GPT-2 adds no special token
    with torch.inference_mode():
        expected = last._module(input_ids=torch.tensor([ids])).last_hidden_state[0, -1].numpy()
    np.testing.assert_allclose(last.embed([sequence])[0], expected, rtol=0, atol=1e-6)


# -- nothing changes silently -------------------------------------------------------------------

def test_the_record_says_what_the_checkpoint_declared_and_what_geneb_uses(checkpoints):
    import json

    hyena = model(checkpoints, "hyenadna-tiny")
    directory = Path(checkpoints["hyenadna-tiny"][0])
    tokenizer = json.loads((directory / "tokenizer_config.json").read_text())
    config = json.loads((directory / "config.json").read_text())
    check = hyena.identity()["load_check"]
    assert check["padding"] == {"used": "right", "tokenizer": tokenizer["padding_side"],
                                "pad_token": tokenizer["pad_token"]}
    assert check["max_length"] == {"used": hyena.settings.max_length, "model_limit": config["max_seq_len"],
                                   "tokenizer_limit": tokenizer["model_max_length"]}
    assert check["special_tokens"] == {"rule": "exclude", "prefix": [], "suffix": [tokenizer["sep_token"]]}
    assert check["dtype"] == {"used": "float32", "checkpoint": config["dtype"]}
    assert hyena.tokenizer.padding_side == tokenizer["padding_side"] != hyena.settings.padding_side


def test_a_parameter_in_a_lower_precision_is_refused_and_a_higher_one_counted(checkpoints):
    bert = model(checkpoints, "tiny-bert")
    assert bert.identity()["load_check"]["dtype"] == {"used": "float32", "checkpoint": "float32"}
    bert.model.encoder.layer[0].output.to(torch.float64)  # kept in higher precision: recorded
    assert load_checks.check_dtype("tiny-bert", bert.model, "float32")["kept_higher"] == {"float64": 4}
    bert.model.encoder.layer[1].output.to(torch.bfloat16)  # what remote code calling .half() does
    with pytest.raises(LoadCheckError, match=r"^tiny-bert: 4 parameter\(s\) are in a lower or other precision "
                                             r"than the dtype the settings resolved to \(float32\): "
                                             r"encoder\.layer\.1\.output\.LayerNorm\.bias \(bfloat16\)"):
        load_checks.check_dtype("tiny-bert", bert.model, "float32")


def test_a_tokenizer_that_truncates_by_itself_is_refused(checkpoints):
    hyena = model(checkpoints, "hyenadna-tiny")
    load_checks.check_no_truncation("h", hyena.tokenizer, 1026)  # the real one keeps every base

    class Truncating(type(hyena.tokenizer)):
        def _tokenize(self, text):
            return list(text[:1000])

    cut = Truncating(model_max_length=1026)
    with pytest.raises(LoadCheckError, match=r"^h: the tokenizer returns only 1000 tokens for [\d,]+ bases, "
                                             r"never more than max_length 1026: it truncates by itself"):
        load_checks.check_no_truncation("h", cut, 1026)


def test_special_tokens_that_depend_on_the_sequence_are_refused(checkpoints):
    hyena = model(checkpoints, "hyenadna-tiny")
    assert load_checks.special_affixes("h", hyena.tokenizer) == ([], [hyena.tokenizer.sep_token_id])

    class LengthDependent(type(hyena.tokenizer)):
        def build_inputs_with_special_tokens(self, token_ids_0, token_ids_1=None):
            prefix = [self.cls_token_id] if len(token_ids_0) > 20 else []
            return prefix + super().build_inputs_with_special_tokens(token_ids_0, token_ids_1)

    with pytest.raises(LoadCheckError, match=r"^h: the tokenizer adds different special tokens to two probes"):
        load_checks.special_affixes("h", LengthDependent(model_max_length=1026))
