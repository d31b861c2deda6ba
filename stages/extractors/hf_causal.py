"""Causal decoders: Llama/Mistral/GPT-2/OLMo-style (GENERator, GenomeOcean, METAGENE-1, Omni-DNA,
gpt2_gene, OmniNA).

Padding side: **right** by default. With causal attention a token only sees tokens before it,
so pads after the sequence can never reach a real token, and positions stay 0..n-1 exactly as
when the sequence is alone. Decoder tokenizers often declare left padding because generation
appends on the right; for embedding that buys nothing. ``padding_side: left`` is still
supported (position ids are then derived from the attention mask so real tokens keep their
positions) for comparison with runs that used it.

Pooling stays GENEB's uniform mean over real tokens (BOS/EOS excluded); ``pooling: last`` takes
the last real token instead. GENERator's 6-mer tokenizer wants lengths that are a multiple of 6:
``options: {trim_to_multiple_of: 6}`` drops the leading ``len % 6`` bases, counted in the run
report as ``trimmed_nucleotides``.
"""

from __future__ import annotations

from typing import Any

from stages.extractors.base import ExtractorSettings
from stages.extractors.hf import HFExtractor


class CausalExtractor(HFExtractor):
    family = "hf_causal"
    padding_sides = ("right", "left")
    allowed_missing = {r"^lm_head\.weight$": "the LM head (often tied to the input embeddings, so "
                                             "not stored); GENEB never reads logits"}
    allowed_unexpected = {r"^lm_head\.weight$": "the LM head of a checkpoint loaded headless "
                                                "(AutoModel); GENEB never reads logits"}


def load(model_id: str, settings: ExtractorSettings, *, source: str | None,
         revision: str | None = None, device: str | None = None, **_: Any) -> CausalExtractor:
    return CausalExtractor(model_id, settings, source=source, revision=revision, device=device)
