"""The local engine: this process embeds the suite task by task (``stages.embed.embed_suite``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stages.embed import embed_suite
from stages.extractors.registry import get_model_entry, load_extractor
from stages.manifest import DataHashes
from stages.spec import Suite


def embed_suite_local(model_id: str, suite: Suite, out_dir: Path,
                      overrides: dict[str, Any] | None = None, device: str | None = None,
                      progress: bool = True, data_md5: DataHashes | None = None,
                      run_log: Path | None = None) -> dict[str, bool]:
    """Load the model here and embed every task; returns task id -> whether it was cached."""
    extractor = load_extractor(get_model_entry(model_id), overrides, device=device)
    return embed_suite(extractor, suite, out_dir, progress, data_md5, run_log)
