"""Caduceus and PlantCaduceus (``kuleshov-group/*``): bidirectional, RC-equivariant Mamba.

Their ``trust_remote_code`` modules call the ``mamba-ssm`` and ``causal-conv1d`` CUDA kernels;
there is no CPU path, so loading on CPU fails at once with a message instead of deep inside
the remote code. The forward takes no attention mask and reads the sequence in both directions,
so any pad would reach real tokens: batches are **pad-free** (windows of equal length only;
length sorting makes most batches full anyway).
"""

from __future__ import annotations

import importlib.util
from typing import Any

from stages.extractors.base import ExtractorSettings
from stages.extractors.hf import ExtractorLoadError, HFExtractor


class CaduceusExtractor(HFExtractor):
    family = "caduceus"
    auto_class = "masked_lm"
    padding_sides = ("right",)
    pad_free = True
    requires_mask = False
    allowed_missing = {r"^lm_head\.": "the MLM head, tied to the input embeddings by the remote code; "
                                      "GENEB calls the headless Caduceus model, never the head"}

    def check_environment(self, device: str) -> None:
        if not device.startswith("cuda"):
            raise ExtractorLoadError(
                f"{self.model_id}: Caduceus needs the CUDA-only mamba-ssm kernels and cannot run on "
                f"{device}; run it on a GPU machine (--device cuda)")
        missing = [name for name in ("mamba_ssm", "causal_conv1d") if importlib.util.find_spec(name) is None]
        if missing:
            raise ExtractorLoadError(f"{self.model_id}: Caduceus needs {missing} (CUDA builds matching "
                                     "this torch) — pip install mamba-ssm causal-conv1d")


def load(model_id: str, settings: ExtractorSettings, *, source: str | None,
         revision: str | None = None, device: str | None = None, **_: Any) -> CaduceusExtractor:
    return CaduceusExtractor(model_id, settings, source=source, revision=revision, device=device)
