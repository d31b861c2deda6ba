"""Published models whose weights or code live outside the ``transformers`` loading path.

Some of the 40 published models ship as their own packages (Enformer, Evo, LucaOne, BioFM,
SPACE), as JAX or custom PyTorch code, or as weights on Google Drive or Dataverse (DNA-GPT,
DeepGene, Genomics-FM, JanusDNA). They are registered so the leaderboard knows them, but GENEB
has no family module for them yet: loading one fails with what it needs, instead of guessing.
Adding one is a single module (docs/extractors.md) and a registry change.
"""

from __future__ import annotations

from typing import Any, NoReturn

from stages.extractors.base import ExtractorSettings
from stages.extractors.hf import ExtractorLoadError


def load(model_id: str, settings: ExtractorSettings, *, source: str | None = None, **_: Any) -> NoReturn:
    needs = settings.options.get("needs", "its own code")
    raise ExtractorLoadError(
        f"{model_id}: no GENEB extractor module yet (needs {needs}; weights: {source or 'unknown'}). "
        "See docs/extractors.md, 'Adding a model'.")
