"""The engine shared by every Hugging Face family: load through ``transformers``, embed fast.

A family module (``hf_masked_lm``, ``hf_causal``, ``hyena``, ``caduceus``) is a small subclass of
:class:`HFExtractor` that declares how its architecture must be fed (which auto class loads it,
which padding sides keep real-token outputs independent of the pads, whether batches must be
pad-free). Loading is the same ``from_pretrained`` call for a hub id and a local directory, so a
model saved with ``save_pretrained`` exercises exactly the path a hub id takes.

Every load runs the load-time guards (``load_checks``): no weight the checkpoint lacks or leaves
unused beyond the family's declared drops, no silent dtype, truncation or special-token change;
what they found is part of ``identity()``.

Speed: windows are length-sorted and dynamically padded (``batching``), the forward pass runs
under ``torch.inference_mode`` in the resolved dtype, the next chunk is tokenised in a
background thread while the model runs, and an out-of-memory error halves the batch and retries.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from stages.extractors import batching, load_checks
from stages.extractors.base import ExtractorSettings, reverse_complement
from stages.extractors.load_checks import ExtractorLoadError, special_affixes
from stages.machine import torch_cpu_capability

log = logging.getLogger(__name__)

AUTO_CLASSES = {"model": "AutoModel", "masked_lm": "AutoModelForMaskedLM",
                "causal_lm": "AutoModelForCausalLM"}
OPTIONS = {"trust_remote_code", "auto_class", "one_hot_inputs", "trim_to_multiple_of", "full_model"}
DEFAULT_BATCH = {"cpu": (64, 8_192), "gpu": (256, 131_072)}  # rows, padded tokens per batch
CHUNK = 4096  # sequences tokenised ahead of the model, in a background thread
_WEIGHT_SUFFIXES = (".json", ".bin", ".safetensors", ".py", ".txt", ".model", ".pt")


def prepare_hf_home() -> None:
    """Make sure ``transformers`` can copy ``trust_remote_code`` modules somewhere writable.

    ``transformers`` reads ``HF_HOME`` once, at import; if it is unset or read-only before the
    import, point it at a temporary directory. After the import it is too late to move, so an
    unwritable modules cache is reported instead of failing deep inside ``from_pretrained``.
    """
    if "transformers" in sys.modules:
        from transformers.dynamic_module_utils import HF_MODULES_CACHE

        if not _writable(Path(HF_MODULES_CACHE)):
            raise ExtractorLoadError(
                f"transformers' modules cache {HF_MODULES_CACHE} is not writable; set HF_HOME (or "
                "HF_MODULES_CACHE) to a writable directory before starting GENEB")
        return
    home = Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface")
    if not _writable(home):
        fallback = Path(tempfile.gettempdir()) / "geneb-hf-home"
        fallback.mkdir(parents=True, exist_ok=True)
        log.warning("HF_HOME %s is not writable; using %s", home, fallback)
        os.environ["HF_HOME"] = str(fallback)


def _writable(path: Path) -> bool:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path.is_dir() and os.access(path, os.W_OK)


def resolve_source(model_id: str, source: str | None) -> tuple[str, bool]:
    """``(path or hub id, is_local)``. ``package:NAME/sub/dir`` points inside an installed package."""
    if not source:
        raise ExtractorLoadError(f"{model_id}: the registry gives no source (hub id or local path)")
    if source.startswith("package:"):
        package, _, inner = source[len("package:"):].partition("/")
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ExtractorLoadError(
                f"{model_id}: weights live in the Python package {package!r}, which is not installed "
                f"(for anticapt: pip install --no-deps anticapt==1.0)")
        path = Path(next(iter(spec.submodule_search_locations))) / inner
        if not path.is_dir():
            raise ExtractorLoadError(f"{model_id}: {path} (from {source}) is not a directory")
        return str(path), True
    return source, Path(source).is_dir()


def weights_identity(source: str, path: str, revision: str | None, local: bool) -> dict[str, Any]:
    """What pins the weights: the hub commit, or a SHA-256 over a local directory's files."""
    if local:
        digest = hashlib.sha256()
        for file in sorted(Path(path).iterdir()):
            if file.is_file() and file.suffix in _WEIGHT_SUFFIXES:
                digest.update(file.name.encode() + b"\0")
                with open(file, "rb") as handle:
                    for block in iter(lambda h=handle: h.read(1 << 20), b""):
                        digest.update(block)
        return {"source": source, "sha256": digest.hexdigest()}
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(source, "config.json", revision=revision)
    commit = Path(cached).parent.name if isinstance(cached, str) else None
    return {"source": source, "revision": revision, "commit": commit}


def tokenizer_limit(tokenizer) -> int | None:
    """The tokenizer's own length limit; ``None`` for none (transformers' placeholder is ~1e30)."""
    value = getattr(tokenizer, "model_max_length", None)
    return value if isinstance(value, int) and 0 < value < 10**8 else None


class HFExtractor:
    """A ``transformers`` model behind GENEB's extractor contract (see ``base.Extractor``)."""

    family: ClassVar[str] = "hf"
    auto_class: ClassVar[str] = "model"
    padding_sides: ClassVar[tuple[str, ...]] = ("right",)
    pad_free: ClassVar[bool] = False  # bidirectional and no attention mask: equal-length batches only
    requires_mask: ClassVar[bool] = True  # refuse a model whose forward takes no attention mask
    # Weights the family never reads, as regex -> why (load_checks.check_weights); nothing else
    # may be missing from a checkpoint or left unused in it.
    allowed_missing: ClassVar[dict[str, str]] = {}
    allowed_unexpected: ClassVar[dict[str, str]] = {}

    def __init__(self, model_id: str, settings: ExtractorSettings, *, source: str | None,
                 revision: str | None = None, device: str | None = None) -> None:
        self.model_id = model_id
        unknown = sorted(set(settings.options) - OPTIONS)
        if unknown:
            raise ExtractorLoadError(f"{model_id}: unknown option(s) {unknown} for family {self.family}")
        if settings.padding_side not in self.padding_sides:
            raise ExtractorLoadError(
                f"{model_id}: padding_side {settings.padding_side!r} is not allowed for family "
                f"{self.family} (allowed: {self.padding_sides}); see docs/extractors.md")
        if settings.strand not in ("forward", "both"):
            raise ExtractorLoadError(f"{model_id}: strand must be 'forward' or 'both', got {settings.strand!r}")
        self.device = batching.resolve_device(device)
        self.check_environment(self.device)
        dtype = batching.resolve_dtype(model_id, settings.dtype, self.device)
        self._load(settings, source, revision, dtype)
        gpu = self.device.startswith("cuda")
        rows, tokens = DEFAULT_BATCH["gpu" if gpu else "cpu"]
        self._batch_size = settings.batch_size or rows
        self._batch_tokens = settings.batch_tokens or tokens
        self._report = {"sequences": 0, "windows": 0, "windowed_sequences": 0,
                        "trimmed_nucleotides": 0, "oom_backoffs": 0, "seconds": 0.0}

    # -- hooks for family modules -------------------------------------------------------------
    def check_environment(self, device: str) -> None:
        """Raise before loading when the architecture cannot run here (e.g. CUDA-only kernels)."""

    def model_limit(self, model, tokenizer) -> int | None:
        """Most tokens one forward pass may take, from the tokenizer and config."""
        config = model.config
        limits = [getattr(config, name, None) for name in
                  ("max_position_embeddings", "n_positions", "max_seq_len", "max_sequence_length")]
        limits.append(tokenizer_limit(tokenizer))
        limits = [int(v) for v in limits if isinstance(v, int) and v > 0]
        return min(limits) if limits else None

    # -- loading ------------------------------------------------------------------------------
    def _load(self, settings: ExtractorSettings, source: str | None, revision: str | None,
              dtype: str) -> None:
        prepare_hf_home()
        import torch
        import transformers

        transformers.utils.logging.disable_progress_bar()
        options = settings.options
        auto = options.get("auto_class", self.auto_class)
        if auto not in AUTO_CLASSES:
            raise ExtractorLoadError(f"{self.model_id}: auto_class must be one of {sorted(AUTO_CLASSES)}")
        path, local = resolve_source(self.model_id, source)
        trust = bool(options.get("trust_remote_code", False))
        common = {"revision": revision, "trust_remote_code": trust}
        where = f"{self.model_id} ({source}, revision {revision or 'unpinned'})"
        auto_class = getattr(transformers, AUTO_CLASSES[auto])
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(path, **common)
            model, info, hidden = load_checks.load_reporting_every_key(where, lambda cls: (
                cls or auto_class).from_pretrained(path, dtype=getattr(torch, dtype),
                                                   output_loading_info=True, **common))
        except ExtractorLoadError:
            raise
        except (OSError, ValueError, ImportError, KeyError, RuntimeError) as exc:
            raise ExtractorLoadError(f"{self.model_id}: cannot load {source!r} (revision {revision}) "
                                     f"with {AUTO_CLASSES[auto]}: {exc}") from exc
        check = load_checks.check_weights(where, model, info, self.allowed_missing, self.allowed_unexpected,
                                          remote_code=trust, architecture_missing=hidden)
        check["dtype"] = load_checks.check_dtype(where, model, dtype)
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self._prefix, self._suffix = special_affixes(self.model_id, tokenizer)
        limit = self.model_limit(model, tokenizer)
        declared_limit = tokenizer_limit(tokenizer)
        max_length = settings.max_length or limit
        if max_length is None:
            raise ExtractorLoadError(f"{self.model_id}: the model declares no length limit; set max_length")
        if limit is not None and max_length > limit:
            raise ExtractorLoadError(f"{self.model_id}: max_length {max_length} exceeds the model's limit {limit}")
        tokenizer.model_max_length = 10**9  # GENEB windows itself; silence the length warning
        if settings.pooling == "cls" and not self._prefix:
            raise ExtractorLoadError(f"{self.model_id}: pooling 'cls' but the tokenizer adds no leading token")
        # An LM head is dead weight for embedding, and output_hidden_states would keep every layer's
        # activations alive: call the headless base model unless a layer or the options say otherwise.
        body = getattr(self.model, "base_model", self.model)
        self._call_base = (body is not self.model and settings.layer == -1
                           and not options.get("full_model", False))
        self._module = body if self._call_base else self.model
        params = inspect.signature(self._module.forward).parameters
        self._takes_mask = "attention_mask" in params
        self._takes_positions = "position_ids" in params
        if self.requires_mask and not self._takes_mask:
            raise ExtractorLoadError(f"{self.model_id}: {type(model).__name__} takes no attention mask, so "
                                     f"family {self.family} cannot keep pads out of its real tokens")
        if settings.padding_side == "left" and not self._takes_positions:
            raise ExtractorLoadError(f"{self.model_id}: left padding needs position_ids, which the model lacks")
        self._auto = auto
        self._pad_id = next(i for i in (tokenizer.pad_token_id, tokenizer.eos_token_id, 0) if i is not None)
        self._vocab = len(tokenizer)
        self._identity = weights_identity(source, path, revision, local)
        check.update(load_checks.check_inputs(
            where, tokenizer, (self._prefix, self._suffix), max_length=max_length, limit=limit,
            tokenizer_limit=declared_limit,
            padding_side=settings.padding_side, special_tokens=settings.special_tokens, pad_id=self._pad_id))
        self._identity.update(family=self.family, auto_class=AUTO_CLASSES[auto],
                              architecture=type(self._module).__name__, load_check=check)
        self.settings = replace(settings, dtype=dtype, max_length=max_length)

    # -- the contract -------------------------------------------------------------------------
    def identity(self) -> dict[str, Any]:
        return dict(self._identity)

    def run_report(self) -> dict[str, Any]:
        """Counters summed since load (numbers; the embed stage diffs them) and the runtime used."""
        report: dict[str, Any] = dict(self._report, seconds=round(self._report["seconds"], 3))
        report["runtime"] = {"device": self.device, "batch_size": self._batch_size,
                             "batch_tokens": self._batch_tokens, "shard_unit": self.shard_unit,
                             "torch_cpu_capability": torch_cpu_capability()}
        return report

    @property
    def shard_unit(self) -> int:
        """Input sequences (in processing order) embedded independently of all others."""
        return CHUNK

    def embed(self, sequences: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """One float32 row per sequence, in input order; long sequences are windowed, never cut.

        Processing order is longest first (ties in input order), in chunks of ``shard_unit``
        sequences; the next chunk is tokenised in a background thread while the model runs.
        """
        started = time.perf_counter()
        sequences = list(sequences)
        out: np.ndarray | None = None  # allocated once the model has told its width
        order = np.argsort([-len(s) for s in sequences], kind="stable")
        chunks = [order[i:i + CHUNK] for i in range(0, len(order), CHUNK)]
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(self._tokenize, [sequences[i] for i in chunks[0]]) if chunks else None
            for k, chunk in enumerate(chunks):
                tokens = pending.result()
                if k + 1 < len(chunks):
                    pending = pool.submit(self._tokenize, [sequences[i] for i in chunks[k + 1]])
                windows = batching.plan_windows(tokens, self._prefix, self._suffix,
                                                self.settings.max_length, self.settings.window_stride)
                vectors, weights = self._run_rows(windows.rows, _Ticker(progress, len(chunk), len(windows.rows)))
                pooled = batching.aggregate(vectors, weights, windows.owner, len(tokens))
                if self.settings.strand == "both":  # rows [m:] are the reverse complements
                    pooled = (pooled[:len(chunk)] + pooled[len(chunk):]) / 2
                if out is None:
                    out = np.zeros((len(sequences), pooled.shape[1]), dtype=np.float32)
                out[chunk] = pooled
                self._report["windows"] += len(windows.rows)
                owners = np.bincount(windows.owner, minlength=len(tokens))[:len(chunk)]
                self._report["windowed_sequences"] += int((owners > 1).sum())  # forward strand only
        self._report["sequences"] += len(sequences)
        self._report["seconds"] += time.perf_counter() - started
        return out if out is not None else np.zeros((0, self.hidden_size), dtype=np.float32)

    @property
    def hidden_size(self) -> int:
        """Width declared by the config (only used for empty input; vectors take the real width)."""
        config = self.model.config
        for name in ("hidden_size", "d_model", "n_embd", "dim"):
            if isinstance(getattr(config, name, None), int):
                return int(getattr(config, name))
        return 0

    def _tokenize(self, sequences: list[str]) -> list[list[int]]:
        """Content tokens of each sequence, then (strand ``both``) of each reverse complement."""
        multiple = int(self.settings.options.get("trim_to_multiple_of", 0) or 0)
        if multiple > 1:  # e.g. GENERator's 6-mer tokenizer: drop the leading len % 6 bases, counted
            self._report["trimmed_nucleotides"] += sum(len(s) % multiple for s in sequences)
            sequences = [s[len(s) % multiple:] for s in sequences]
        if self.settings.strand == "both":
            sequences = sequences + reverse_complement(sequences)
        return self.tokenizer(sequences, add_special_tokens=False)["input_ids"]

    def _run_rows(self, rows: list[list[int]], ticker: _Ticker | None = None) -> tuple[np.ndarray, np.ndarray]:
        vectors: np.ndarray | None = None
        weights = np.empty(len(rows), dtype=np.float64)
        pending = batching.length_batches([len(r) for r in rows], self._batch_size, self._batch_tokens,
                                          same_length=self.pad_free)
        while pending:
            batch = pending.pop(0)
            allowed = max(1, min(self._batch_size, self._batch_tokens // len(rows[batch[0]])))
            if len(batch) > allowed:  # planned before a back-off: re-cut to the current limits
                pending[:0] = [batch[i:i + allowed] for i in range(0, len(batch), allowed)]
                continue
            try:
                pooled, weights[batch] = self._forward([rows[i] for i in batch])
            except Exception as exc:  # noqa: BLE001 - only out-of-memory is retried
                if not batching.is_out_of_memory(exc) or len(batch) == 1:
                    raise
                self._back_off()
                half = len(batch) // 2
                pending[:0] = [batch[:half], batch[half:]]
                continue
            if vectors is None:
                vectors = np.empty((len(rows), pooled.shape[1]), dtype=np.float32)
            vectors[batch] = pooled
            if ticker is not None:
                ticker.rows_done(len(batch))
        return vectors, weights

    def _back_off(self) -> None:
        import torch

        self._batch_size = max(1, self._batch_size // 2)
        self._batch_tokens = max(1, self._batch_tokens // 2)
        self._report["oom_backoffs"] += 1
        if self.device.startswith("cuda"):
            torch.cuda.empty_cache()
        log.warning("%s: out of memory; batch size now %d", self.model_id, self._batch_size)

    def _forward(self, rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        import torch

        side = self.settings.padding_side
        ids, attention = batching.pad_rows(rows, self._pad_id, side)
        rule = "include" if self.settings.pooling == "cls" else self.settings.special_tokens  # CLS is special
        keep = batching.pool_mask(rows, ids.shape[1], side, len(self._prefix), len(self._suffix), rule)
        with torch.inference_mode():
            ids_t = torch.from_numpy(ids).to(self.device)
            mask_t = torch.from_numpy(attention).to(self.device)
            kwargs: dict[str, Any] = {"return_dict": True}
            if self._takes_mask:
                kwargs["attention_mask"] = mask_t
            if side == "left":
                kwargs["position_ids"] = (mask_t.cumsum(-1) - 1).clamp(min=0)
            hidden_states = self.settings.layer != -1 or (self._auto != "model" and not self._call_base)
            if hidden_states:
                kwargs["output_hidden_states"] = True
            if self.settings.options.get("one_hot_inputs"):  # MutBERT takes one-hot rows, not ids
                one_hot = torch.nn.functional.one_hot(ids_t, self._vocab).to(self.model.dtype)
                outputs = self._module(one_hot * mask_t.unsqueeze(-1).to(one_hot.dtype), **kwargs)
            else:
                outputs = self._module(input_ids=ids_t, **kwargs)
            if isinstance(outputs, (tuple, list)):  # remote code that ignores return_dict (DNABERT-2)
                if self.settings.layer != -1:
                    raise ValueError(f"{self.model_id}: model returns a tuple; only layer -1 is supported")
                hidden = outputs[0]
            elif hidden_states:
                hidden = outputs.hidden_states[self.settings.layer]
            elif getattr(outputs, "last_hidden_state", None) is not None:
                hidden = outputs.last_hidden_state
            else:
                raise ValueError(f"{self.model_id}: {type(self._module).__name__} returned no last_hidden_state;"
                                 " set options: {full_model: true} to read hidden_states[-1] instead")
            vectors, counts = batching.pool(hidden, torch.from_numpy(keep).to(self.device),
                                            self.settings.pooling)
            if not bool(torch.isfinite(vectors).all()):
                raise ValueError(f"{self.model_id}: non-finite embedding (dtype {self.settings.dtype})")
            return vectors.cpu().numpy(), counts.cpu().numpy().astype(np.float64)


class _Ticker:
    """Turns finished rows (windows) into whole finished sequences for a progress callback."""

    def __init__(self, progress: Callable[[int], None] | None, sequences: int, rows: int) -> None:
        self.progress, self.sequences, self.rows = progress, sequences, max(rows, 1)
        self.done_rows = self.reported = 0

    def rows_done(self, n: int) -> None:
        self.done_rows += n
        target = self.sequences * self.done_rows // self.rows
        if self.progress is not None and target > self.reported:
            self.progress(target - self.reported)
        self.reported = max(self.reported, target)
