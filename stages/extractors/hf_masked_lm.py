"""Masked-LM encoders: BERT-style (DNABERT-2, DNABERT-S, GROVER, GENA-LM, MutBERT) and ESM-style
(Nucleotide Transformer v1/v2, agro-NT).

Padding side: **right**. Attention is bidirectional but masked, so pads never enter a real
token's attention; positions (absolute or rotary) count from the first token, so right padding
leaves every real token at the position it has when the sequence is embedded alone. Left
padding would shift those positions and change the vectors, so it is refused.

Tokenisation quirks stay in the model's own tokenizer: NT's non-overlapping 6-mers (with single
bases for the remainder), DNABERT-2/GROVER/GENA-LM BPE. Windows are cut in token space, so a
window boundary never splits a 6-mer or a BPE token. MutBERT takes one-hot rows instead of ids
(``options: {one_hot_inputs: true}``).
"""

from __future__ import annotations

from typing import Any

from stages.extractors.base import ExtractorSettings
from stages.extractors.hf import HFExtractor


class MaskedLMExtractor(HFExtractor):
    family = "hf_masked_lm"
    padding_sides = ("right",)
    allowed_missing = {
        r"^pooler\.dense\.(weight|bias)$": "the pooler AutoModel adds to BERT/ESM, absent from MLM "
                                          "checkpoints; GENEB never reads pooler_output",
        r"^(cls\.predictions|lm_head)\.": "the MLM head of a headless checkpoint loaded with "
                                          "auto_class masked_lm; GENEB never reads logits",
        r"(^|\.)contact_head\.": "ESM's contact-prediction head, called only by predict_contacts",
    }
    allowed_unexpected = {
        r"^(cls\.predictions|lm_head)\.": "the MLM head of a checkpoint loaded headless (AutoModel); "
                                          "GENEB never reads logits",
        r"^cls\.seq_relationship\.": "BERT's next-sentence head (BertForPreTraining checkpoints)",
        r"^(\w+\.)?pooler\.dense\.(weight|bias)$": "a checkpoint's pooler, absent from the MLM "
                                                   "class GENEB loads (and never read)",
    }


def load(model_id: str, settings: ExtractorSettings, *, source: str | None,
         revision: str | None = None, device: str | None = None, **_: Any) -> MaskedLMExtractor:
    return MaskedLMExtractor(model_id, settings, source=source, revision=revision, device=device)
