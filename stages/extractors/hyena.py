"""HyenaDNA (``LongSafari/hyenadna-*-hf`` and fine-tunes such as anticapt's), ``trust_remote_code``.

HyenaDNA's forward takes **no attention mask**: every position is computed, pads included.
What keeps pads harmless is that the model is causal — the long convolution is an FFT over
twice the length keeping the first ``L`` outputs, and the short convolution is left-padded — so
a token's output depends only on the tokens before it. Padding side: therefore **right**, never
left: left pads would sit before every real token and flow into all of them. (The checkpoints'
tokenizer declares left padding; GENEB overrides it and says so in the run settings.)

The character tokenizer appends ``[SEP]``; by the uniform rule it is excluded from the mean.
The positional table has ``max_seq_len`` entries (1,026 for the 1k models) and the operator
silently cuts anything longer, so windows never exceed the config's ``max_seq_len``.
"""

from __future__ import annotations

from typing import Any

from stages.extractors.base import ExtractorSettings
from stages.extractors.hf import HFExtractor


class HyenaExtractor(HFExtractor):
    family = "hyena"
    padding_sides = ("right",)
    requires_mask = False  # causal: right padding keeps real tokens independent of the pads
    allowed_unexpected = {r"^lm_head\.weight$": "HyenaDNAForCausalLM's LM head, stored by the "
                                                "LongSafari checkpoints; GENEB never reads logits"}


def load(model_id: str, settings: ExtractorSettings, *, source: str | None,
         revision: str | None = None, device: str | None = None, **_: Any) -> HyenaExtractor:
    return HyenaExtractor(model_id, settings, source=source, revision=revision, device=device)
