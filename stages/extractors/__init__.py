"""Extractors turn DNA sequences into one float32 vector each. See ``base.py`` for the contract."""

from stages.extractors.base import Extractor, ExtractorSettings
from stages.extractors.registry import ModelEntry, get_model_entry, load_extractor, registered_models

__all__ = [
    "Extractor",
    "ExtractorSettings",
    "ModelEntry",
    "get_model_entry",
    "load_extractor",
    "registered_models",
]
