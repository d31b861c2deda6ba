"""Load-time guards of the Hugging Face families: an extractor never embeds with weights it did not
load, and nothing about its inputs changes behind the declared settings.

``hf.HFExtractor`` runs every guard on every load, so a new family gets them by subclassing it.
What each guard decides, and the published defects it would have caught, is in
docs/extractors.md ("Load-time guards").

* **Weights** (:func:`check_weights`). ``from_pretrained(..., output_loading_info=True)`` says
  which weights the model expects but the checkpoint lacks (they would be randomly initialised),
  which checkpoint tensors nothing used, which had the wrong shape, and what went wrong. Any of
  these fails the load, naming model, source, revision, counts and the first few names, except
  keys the family declares as dropped (``allowed_missing``/``allowed_unexpected``: a pattern and
  why GENEB never reads that weight, e.g. an LM head). DNABERT-S loaded without its remote code
  came up with most of its parameters random; this guard refuses such a load.
* **dtype** (:func:`check_dtype`). No floating parameter may be in a lower (or the other half)
  precision than the dtype the settings resolved to; higher precision kept by the model code is
  counted.
* **Inputs** (:func:`special_affixes`, :func:`check_inputs`). The special tokens are found with
  two different probes and must agree; a tokenizer that cuts long input by itself is refused
  (GENEB windows and needs every token); the length limits, the tokenizer's own padding side and
  the pad token are recorded.

Every check returns what it found; ``HFExtractor.identity()`` carries it as ``load_check``, so
it is part of each embedding file's cache key and of the submission's run settings.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from typing import Any

from stages.errors import GenebError, first_few

SHOWN = 3  # key names quoted per list in a message
_IGNORE_MISSING = "_keys_to_ignore_on_load_missing"
_ABSENT = object()
_PRECISION = {"float16": 1, "bfloat16": 1, "float32": 2, "float64": 3}
_PROBES = ("ACGTACGTAC", "TTGACCATGAGCTTAGGCCATAGC")  # two lengths and contents (24: a multiple of 6)


class ExtractorLoadError(GenebError, ValueError):
    """A model could not be loaded; the message names the model and what to do."""


class LoadCheckError(ExtractorLoadError):
    """A load-time guard refused a model: weights left random or unused, or a dtype, length or
    special-token rule that changed behind the declared settings."""


def _split(where: str, loaded: Any) -> tuple[Any, dict[str, Any]]:
    """``(model, loading info)`` from ``from_pretrained(..., output_loading_info=True)``; remote
    code whose ``from_pretrained`` drops the request leaves nothing to check, so it is refused."""
    if isinstance(loaded, tuple) and len(loaded) == 2 and isinstance(loaded[1], Mapping):
        return loaded[0], dict(loaded[1])
    raise LoadCheckError(f"{where}: from_pretrained returned no loading report "
                         "(output_loading_info), so GENEB cannot tell which weights were loaded")


def load_reporting_every_key(where: str, fetch: Callable[[Any], Any]) -> tuple[Any, dict[str, Any], list[str]]:
    """``(model, loading info, the architecture's missing-key patterns)`` with no missing key hidden.

    ``fetch(cls)`` calls ``from_pretrained(..., output_loading_info=True)`` on ``cls`` (``None``:
    the Auto class). transformers leaves out of ``missing_keys`` whatever matches the model class's
    ``_keys_to_ignore_on_load_missing``, and remote code declares trained weights there (HyenaDNA:
    ``freq``, its sine activations' learnt frequencies). So a class with such patterns is loaded
    once more with them switched off, and :func:`check_weights` judges every missing key.
    """
    model, info = _split(where, fetch(None))
    cls = type(model)
    hidden = sorted(getattr(cls, _IGNORE_MISSING, None) or ())
    if not hidden:
        return model, info, []
    del model, info  # free the first copy before loading the second
    own = cls.__dict__.get(_IGNORE_MISSING, _ABSENT)
    setattr(cls, _IGNORE_MISSING, None)
    try:
        model, info = _split(where, fetch(cls))
    finally:
        if own is _ABSENT:
            delattr(cls, _IGNORE_MISSING)
        else:
            setattr(cls, _IGNORE_MISSING, own)
    return model, info, hidden


def _names(keys: Any) -> list[str]:
    return sorted(str(k[0] if isinstance(k, tuple) else k) for k in keys)


def _apply_drops(names: list[str], allowed: Mapping[str, str]) -> tuple[list[str], dict[str, int]]:
    """(names no declared pattern covers, pattern -> how many names it covered)."""
    applied: dict[str, int] = {}
    left = []
    for name in names:
        pattern = next((p for p in allowed if re.search(p, name)), None)
        if pattern is None:
            left.append(name)
        else:
            applied[pattern] = applied.get(pattern, 0) + 1
    return left, dict(sorted(applied.items()))


def _millions(n: int) -> str:
    return f"{n / 1e6:.1f}M" if n >= 100_000 else f"{n:,}"


def _numel(model: Any, name: str) -> int:
    try:
        return int(model.get_parameter(name).numel())
    except (AttributeError, KeyError, TypeError):  # a buffer, or a name of another layout
        return 0


def check_weights(where: str, model: Any, info: Mapping[str, Any], allowed_missing: Mapping[str, str],
                  allowed_unexpected: Mapping[str, str], *, remote_code: bool,
                  architecture_missing: list[str] = ()) -> dict[str, Any]:
    """Refuse a model with weights missing from the checkpoint, checkpoint tensors left unused,
    shape mismatches or loading errors, beyond what the family declares it drops.

    ``where`` names the model, source and revision; ``remote_code`` says whether
    ``trust_remote_code`` was on (the message suggests it for a checkpoint that ships code).
    ``architecture_missing`` (see :func:`load_reporting_every_key`) excuses buffers only: a
    buffer is rebuilt from the config (``position_ids``), a parameter would keep its initial value.
    """
    missing, dropped_missing = _apply_drops(_names(info.get("missing_keys", ())), allowed_missing)
    buffers = {name for name, _ in model.named_buffers()}
    excused = {pattern: [n for n in missing if n in buffers and re.search(pattern, n)]
               for pattern in architecture_missing}
    missing = [n for n in missing if not any(n in names for names in excused.values())]
    unexpected, dropped_unused = _apply_drops(_names(info.get("unexpected_keys", ())), allowed_unexpected)
    mismatched = _names(info.get("mismatched_keys", ()))
    errors = [str(e) for e in info.get("error_msgs", ()) if str(e).strip()]
    total = sum(p.numel() for p in model.parameters())
    problems = []
    if missing:
        random_params = sum(_numel(model, name) for name in missing)
        problems.append(f"{len(missing)} weight tensor(s) of the model are missing from the checkpoint "
                        f"and would keep their initial, untrained values ({_millions(random_params)} "
                        f"of {_millions(total)} parameters): {first_few(missing, SHOWN)}")
    if unexpected:
        problems.append(f"{len(unexpected)} checkpoint tensor(s) are not used by the model: "
                        f"{first_few(unexpected, SHOWN)}")
    if mismatched:
        problems.append(f"{len(mismatched)} tensor(s) have the wrong shape: {first_few(mismatched, SHOWN)}")
    if errors:
        problems.append(f"loading reported {len(errors)} error(s): {errors[0].splitlines()[0][:200]}")
    if problems:
        ships_code = bool(getattr(model.config, "auto_map", None))
        hint = (" The checkpoint ships its own model code (auto_map in config.json): set options: "
                "{trust_remote_code: true}." if ships_code and not remote_code else "")
        raise LoadCheckError(f"{where}: {'; '.join(problems)}.{hint} A family that never reads such "
                             "weights declares them (allowed_missing/allowed_unexpected; see "
                             "docs/extractors.md, 'Load-time guards')")
    record: dict[str, Any] = {"missing": 0, "unexpected": 0, "mismatched": 0, "parameters": total}
    drops = {k: v for k, v in (("missing", dropped_missing), ("unexpected", dropped_unused)) if v}
    if drops:
        record["declared_drops"] = drops
    ignores = {"missing": {pattern: len(names) for pattern, names in excused.items()},
               "unexpected": sorted(getattr(model, "_keys_to_ignore_on_load_unexpected", None) or ())}
    if any(ignores.values()):  # the architecture's own patterns (unexpected: applied by transformers)
        record["architecture_ignores"] = {k: v for k, v in ignores.items() if v}
    return record


def check_dtype(where: str, model: Any, dtype: str) -> dict[str, Any]:
    """Every floating parameter in ``dtype`` or kept in a higher precision (counted: Mamba's
    ``A_log``, the architecture's ``_keep_in_fp32_modules``); a lower or other half precision than
    the settings resolved to (remote code calling ``.half()``) is refused."""
    kept: dict[str, int] = {}
    wrong = []
    for name, param in model.named_parameters():
        found = str(param.dtype).removeprefix("torch.")
        if not param.is_floating_point() or found == dtype:
            continue
        if _PRECISION.get(found, 0) > _PRECISION[dtype]:
            kept[found] = kept.get(found, 0) + 1
        else:
            wrong.append(f"{name} ({found})")
    if wrong:
        raise LoadCheckError(f"{where}: {len(wrong)} parameter(s) are in a lower or other precision than "
                             f"the dtype the settings resolved to ({dtype}): {first_few(sorted(wrong), SHOWN)}; the "
                             "model code changes the dtype by itself, so the vectors would not be what "
                             "the settings say")
    declared = getattr(model.config, "dtype", None) or getattr(model.config, "torch_dtype", None)
    record: dict[str, Any] = {"used": dtype,
                              "checkpoint": str(declared).removeprefix("torch.") if declared else None}
    if kept:
        record["kept_higher"] = dict(sorted(kept.items()))
    return record


def _affixes(tokenizer: Any, probe: str) -> tuple[list[int], list[int]] | None:
    plain = tokenizer(probe, add_special_tokens=False)["input_ids"]
    full = tokenizer(probe, add_special_tokens=True)["input_ids"]
    for start in range(len(full) - len(plain) + 1):
        if full[start:start + len(plain)] == plain:
            return full[:start], full[start + len(plain):]
    return None


def special_affixes(model_id: str, tokenizer: Any) -> tuple[list[int], list[int]]:
    """The special tokens the tokenizer puts before and after a sequence's own tokens.

    Found by tokenising a probe with and without special tokens, so the rule holds for BPE,
    k-mer and character tokenizers alike (``[CLS] … [SEP]``, ``<s> …``, ``… [SEP]``, or none).
    A second probe of another length and content must give the same tokens: a tokenizer whose
    special tokens depend on the sequence would make ``special_tokens: exclude`` drop real ones.
    """
    found = [_affixes(tokenizer, probe) for probe in _PROBES]
    if found[0] is None:
        raise ExtractorLoadError(f"{model_id}: cannot locate the sequence inside its tokenisation "
                                 f"with special tokens (probe {_PROBES[0]})")
    if found[1] != found[0]:
        raise LoadCheckError(f"{model_id}: the tokenizer adds different special tokens to two probes "
                             f"({found[0]} for {_PROBES[0]}, {found[1]} for {_PROBES[1]}), so GENEB "
                             "cannot tell special tokens from sequence tokens")
    return found[0]


def _probe(bases: int) -> str:
    rng = random.Random(bases)  # deterministic, and no long repeats for BPE merges to swallow
    return "".join(rng.choice("ACGT") for _ in range(bases))


def check_no_truncation(where: str, tokenizer: Any, max_length: int) -> None:
    """Refuse a tokenizer that caps the number of tokens by itself (GENEB windows long input).

    Probes of growing length (multiples of 6, for k-mer tokenizers) must at some point give more
    than ``max_length`` content tokens; four probes cover up to ~500 bases per token.
    """
    bases = 6 * (max_length // 6 + 1)
    for _ in range(4):
        count = len(tokenizer(_probe(bases), add_special_tokens=False)["input_ids"])
        if count > max_length:
            return
        bases *= 8
    raise LoadCheckError(f"{where}: the tokenizer returns only {count} tokens for {bases // 8:,} bases, "
                         f"never more than max_length {max_length}: it truncates by itself, and GENEB "
                         "would silently embed only the start of long sequences")


def check_inputs(where: str, tokenizer: Any, affixes: tuple[list[int], list[int]], *,
                 max_length: int, limit: int | None, tokenizer_limit: int | None,
                 padding_side: str, special_tokens: str, pad_id: int) -> dict[str, Any]:
    """Refuse a self-truncating tokenizer; record what GENEB uses against what the checkpoint says
    (the checkpoint's padding side and length limit are overridden by the settings, visibly)."""
    check_no_truncation(where, tokenizer, max_length)
    prefix, suffix = affixes
    return {
        "max_length": {"used": max_length, "model_limit": limit, "tokenizer_limit": tokenizer_limit},
        "special_tokens": {"rule": special_tokens, "prefix": tokenizer.convert_ids_to_tokens(prefix),
                           "suffix": tokenizer.convert_ids_to_tokens(suffix)},
        "padding": {"used": padding_side, "tokenizer": getattr(tokenizer, "padding_side", None),
                    "pad_token": tokenizer.convert_ids_to_tokens(pad_id)},
    }
