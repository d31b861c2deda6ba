"""Tiny random-initialised checkpoints of the architectures each Hugging Face family loads, saved
with ``save_pretrained`` so they go through exactly the ``from_pretrained`` path a hub id takes:
BERT and ESM (``hf_masked_lm``), Llama, Mistral and GPT-2 (``hf_causal``), and a bidirectional
Mamba shipped as remote code the way Caduceus is (``caduceus``). HyenaDNA is tested on the real
HyenaDNA-tiny checkpoints of the anticapt package (:func:`anticapt_checkpoints`)."""

from __future__ import annotations

import importlib.util
import itertools
import json
import random
from pathlib import Path

MAX_POSITIONS = 48  # small, so that a few hundred bases already need windows
RNG = random.Random(7)


def dna(n: int) -> str:
    return "".join(RNG.choice("ACGT") for _ in range(n))


def bpe_tokenizer(template: str | None, specials: dict[str, str]):
    """A byte-pair DNA tokenizer trained on random DNA (the DNABERT-2 / GROVER / decoder kind)."""
    from tokenizers import Tokenizer, models, processors, trainers
    from transformers import PreTrainedTokenizerFast

    names = list(dict.fromkeys(specials.values()))
    tok = Tokenizer(models.BPE(unk_token=specials.get("unk_token")))
    trainer = trainers.BpeTrainer(vocab_size=80, special_tokens=names, initial_alphabet=list("ACGTN"),
                                  show_progress=False)
    tok.train_from_iterator([dna(300) for _ in range(200)], trainer)
    if template:
        used = [name for name in names if name in template]
        tok.post_processor = processors.TemplateProcessing(
            single=template, special_tokens=[(name, tok.token_to_id(name)) for name in used])
    return PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=MAX_POSITIONS, **specials)


def save(directory: Path, tokenizer, model) -> str:
    tokenizer.save_pretrained(directory)
    model.save_pretrained(directory)
    return str(directory)


def build_bert(directory: Path) -> str:
    from transformers import BertConfig, BertForMaskedLM

    tok = bpe_tokenizer("[CLS] $A [SEP]", {"unk_token": "[UNK]", "pad_token": "[PAD]", "cls_token": "[CLS]",
                                           "sep_token": "[SEP]", "mask_token": "[MASK]"})
    config = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=MAX_POSITIONS,
                        pad_token_id=tok.pad_token_id)
    return save(directory, tok, BertForMaskedLM(config))


def build_esm(directory: Path) -> str:
    """Nucleotide-Transformer-like: ESM with rotary positions and a non-overlapping 6-mer vocab."""
    from transformers import EsmConfig, EsmForMaskedLM, EsmTokenizer

    directory.mkdir(parents=True, exist_ok=True)
    vocab = (["<unk>", "<pad>", "<mask>", "<cls>", "<eos>"]
             + ["".join(p) for p in itertools.product("ACGT", repeat=6)] + list("ACGTN"))
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tok = EsmTokenizer(str(directory / "vocab.txt"), model_max_length=MAX_POSITIONS)
    config = EsmConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                       intermediate_size=64, max_position_embeddings=MAX_POSITIONS + 2, pad_token_id=1,
                       mask_token_id=2, position_embedding_type="rotary", token_dropout=False)
    return save(directory, tok, EsmForMaskedLM(config))


def build_decoder(directory: Path, kind: str) -> str:
    import transformers

    if kind == "gpt2":
        tok = bpe_tokenizer(None, {"unk_token": "<|endoftext|>", "eos_token": "<|endoftext|>"})
        config = transformers.GPT2Config(vocab_size=len(tok), n_embd=32, n_layer=2, n_head=2,
                                         n_positions=MAX_POSITIONS)
        return save(directory, tok, transformers.GPT2LMHeadModel(config))
    tok = bpe_tokenizer("<s> $A", {"unk_token": "<unk>", "pad_token": "<pad>", "bos_token": "<s>",
                                   "eos_token": "</s>"})
    cls = {"llama": (transformers.LlamaConfig, transformers.LlamaForCausalLM),
           "mistral": (transformers.MistralConfig, transformers.MistralForCausalLM)}[kind]
    config = cls[0](vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                    num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=MAX_POSITIONS,
                    pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id)
    return save(directory, tok, cls[1](config))


# Caduceus' layout as remote code: a headless backbone under the prefix "caduceus", an MLM head,
# no attention mask, and every layer reading the sequence forwards and reversed (BiMambaWrapper).
# Its Mamba mixers are transformers' own, which run on CPU (Caduceus' need mamba-ssm's CUDA kernels).
_BIMAMBA_CONFIG = '''from transformers import PretrainedConfig


class BiMambaConfig(PretrainedConfig):
    model_type = "tiny_bimamba"

    def __init__(self, vocab_size=12, d_model=32, n_layer=2, d_state=8, max_position_embeddings=48,
                 **kwargs):
        self.vocab_size, self.d_model, self.n_layer, self.d_state = vocab_size, d_model, n_layer, d_state
        self.max_position_embeddings = max_position_embeddings
        super().__init__(**kwargs)
'''
_BIMAMBA_MODEL = '''from torch import nn
from transformers import MambaConfig, PreTrainedModel
from transformers.modeling_outputs import BaseModelOutputWithNoAttention, MaskedLMOutput
from transformers.models.mamba.modeling_mamba import MambaMixer

from .configuration_bimamba import BiMambaConfig


class BiMambaLayer(nn.Module):
    def __init__(self, config, index):
        super().__init__()
        mamba = MambaConfig(hidden_size=config.d_model, state_size=config.d_state,
                            intermediate_size=2 * config.d_model, num_hidden_layers=config.n_layer)
        self.norm = nn.LayerNorm(config.d_model)
        self.forward_mixer = MambaMixer(mamba, layer_idx=index)
        self.reverse_mixer = MambaMixer(mamba, layer_idx=index)

    def forward(self, hidden):
        normed = self.norm(hidden)
        return hidden + self.forward_mixer(normed) + self.reverse_mixer(normed.flip(1)).flip(1)


class BiMambaPreTrainedModel(PreTrainedModel):
    config_class = BiMambaConfig
    base_model_prefix = "caduceus"


class BiMamba(BiMambaPreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.embeddings = nn.Embedding(config.vocab_size, config.d_model)
        self.layers = nn.ModuleList(BiMambaLayer(config, i) for i in range(config.n_layer))
        self.norm_f = nn.LayerNorm(config.d_model)
        self.post_init()

    def forward(self, input_ids=None, output_hidden_states=None, return_dict=None):
        hidden = self.embeddings(input_ids)
        states = [hidden]
        for layer in self.layers:
            hidden = layer(hidden)
            states.append(hidden)
        hidden = self.norm_f(hidden)
        return BaseModelOutputWithNoAttention(last_hidden_state=hidden,
                                              hidden_states=tuple(states) if output_hidden_states else None)


class BiMambaForMaskedLM(BiMambaPreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.caduceus = BiMamba(config)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.post_init()

    def forward(self, input_ids=None, output_hidden_states=None, return_dict=None):
        out = self.caduceus(input_ids, output_hidden_states=output_hidden_states)
        return MaskedLMOutput(logits=self.lm_head(out.last_hidden_state), hidden_states=out.hidden_states)
'''


def character_tokenizer():
    """Caduceus' and HyenaDNA's kind: one token per base, ``[SEP]`` appended."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {name: i for i, name in enumerate(["[CLS]", "[SEP]", "[BOS]", "[MASK]", "[PAD]", "[RESERVED]",
                                                "[UNK]", "A", "C", "G", "T", "N"])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tok.post_processor = processors.TemplateProcessing(single="$A [SEP]", special_tokens=[("[SEP]", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=MAX_POSITIONS, unk_token="[UNK]",
                                   sep_token="[SEP]", pad_token="[PAD]", cls_token="[CLS]",
                                   mask_token="[MASK]")


def build_bimamba(directory: Path) -> str:
    """A Caduceus-layout checkpoint with its modelling code beside the weights (trust_remote_code)."""
    from transformers import AutoConfig, AutoModelForMaskedLM

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "configuration_bimamba.py").write_text(_BIMAMBA_CONFIG)
    (directory / "modeling_bimamba.py").write_text(_BIMAMBA_MODEL)
    (directory / "config.json").write_text(json.dumps({
        "model_type": "tiny_bimamba", "architectures": ["BiMambaForMaskedLM"],
        "auto_map": {"AutoConfig": "configuration_bimamba.BiMambaConfig",
                     "AutoModel": "modeling_bimamba.BiMamba",
                     "AutoModelForMaskedLM": "modeling_bimamba.BiMambaForMaskedLM"}}))
    config = AutoConfig.from_pretrained(directory, trust_remote_code=True)
    model = AutoModelForMaskedLM.from_config(config, trust_remote_code=True)
    return save(directory, character_tokenizer(), model)


# model id -> (builder, family, options): the family's real loading path for each architecture
MODELS = {
    "tiny-bert": (build_bert, "hf_masked_lm", {}),
    "tiny-esm": (build_esm, "hf_masked_lm", {"auto_class": "masked_lm"}),
    "tiny-llama": (lambda d: build_decoder(d, "llama"), "hf_causal", {"auto_class": "causal_lm"}),
    "tiny-mistral": (lambda d: build_decoder(d, "mistral"), "hf_causal", {}),
    "tiny-gpt2": (lambda d: build_decoder(d, "gpt2"), "hf_causal", {}),
}
REMOTE_MODELS = {"tiny-bimamba": (build_bimamba, "caduceus", {"trust_remote_code": True})}


def anticapt_checkpoints() -> list[Path]:
    """The real HyenaDNA-tiny fine-tunes the anticapt package ships (empty when not installed)."""
    spec = importlib.util.find_spec("anticapt")
    if spec is None or not spec.submodule_search_locations:
        return []
    root = Path(next(iter(spec.submodule_search_locations))) / "models"
    return sorted(p for p in root.glob("*/finetuned_hyenadna") if (p / "config.json").is_file())
