"""The one copy of the helpers every neural extractor shares: windows, batches, padding, pooling.

Everything here works on token-id lists and tensors, never on a model, so it is tested without
one. The rules it implements are GENEB's declared policy (docs/extractors.md):

* **Windows.** A sequence whose tokens do not fit ``max_length`` is split, in token space, into
  windows of ``max_length - specials`` content tokens whose starts are ``stride`` tokens apart
  (``stride`` defaults to the window size: no overlap); the last window ends at the last token.
  Every window gets the tokenizer's own prefix/suffix special tokens. Nothing is truncated.
* **Aggregation.** A sequence's vector is the mean of its windows' pooled vectors weighted by the
  number of tokens each window pooled; for mean pooling this is the mean over all pooled tokens.
* **Batches.** Windows are sorted by length (longest first, so an out-of-memory error comes
  early) and cut into batches of at most ``batch_size`` rows and ``batch_tokens`` padded tokens;
  each batch is padded only to its own longest row.
* **Pooling.** Only the real tokens of a row count; pads never do, and special tokens only when
  the settings say ``special_tokens: include``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

POOLINGS = ("mean", "cls", "last")
SPECIAL_RULES = ("exclude", "include")


@dataclass(frozen=True)
class Windows:
    """The model inputs planned for a list of sequences, one row per window."""

    rows: list[list[int]]  # token ids with the tokenizer's special tokens, unpadded
    owner: np.ndarray  # index of the input sequence each row belongs to
    windowed: int  # how many input sequences needed more than one window


def window_starts(n_tokens: int, size: int, stride: int) -> list[int]:
    """Start offsets of the windows covering ``n_tokens`` content tokens; the last reaches the end."""
    if size < 1:
        raise ValueError(f"window size must be at least 1 token, got {size}")
    if not 1 <= stride <= size:
        raise ValueError(f"window stride must be between 1 and the window size {size}, got {stride}"
                         " (a larger stride would skip tokens)")
    starts = [0]
    while starts[-1] + size < n_tokens:
        starts.append(starts[-1] + stride)
    return starts


def plan_windows(token_lists: Sequence[Sequence[int]], prefix: Sequence[int], suffix: Sequence[int],
                 max_length: int, stride: int | None = None) -> Windows:
    """Split content-token lists into model rows of at most ``max_length`` tokens each."""
    size = max_length - len(prefix) - len(suffix)
    if size < 1:
        raise ValueError(f"max_length {max_length} leaves no room for content tokens next to "
                         f"{len(prefix) + len(suffix)} special token(s)")
    stride = size if stride is None else stride
    rows: list[list[int]] = []
    owner: list[int] = []
    windowed = 0
    prefix, suffix = list(prefix), list(suffix)
    for index, tokens in enumerate(token_lists):
        tokens = list(tokens)
        if not tokens:
            raise ValueError(f"sequence {index} produced no tokens (empty sequence?)")
        starts = window_starts(len(tokens), size, stride)
        windowed += len(starts) > 1
        for start in starts:
            rows.append(prefix + tokens[start:start + size] + suffix)
            owner.append(index)
    return Windows(rows, np.asarray(owner, dtype=np.int64), windowed)


def length_batches(lengths: Sequence[int], batch_size: int, batch_tokens: int,
                   same_length: bool = False) -> list[np.ndarray]:
    """Row indices grouped into batches, longest rows first; each batch fits both limits.

    A batch holds at most ``batch_size`` rows and at most ``batch_tokens`` tokens once padded to
    its longest row (a single row longer than ``batch_tokens`` still gets a batch of its own).
    ``same_length`` makes every batch pad-free, for models that can neither mask pads nor keep
    them away from real tokens (bidirectional, no attention mask).
    """
    if batch_size < 1 or batch_tokens < 1:
        raise ValueError(f"batch_size and batch_tokens must be positive, got {batch_size}, {batch_tokens}")
    lengths = np.asarray(lengths, dtype=np.int64)
    order = np.argsort(-lengths, kind="stable")
    batches = []
    start = 0
    while start < len(order):
        longest = int(lengths[order[start]])
        rows = max(1, min(batch_size, batch_tokens // max(longest, 1)))
        if same_length:
            rows = min(rows, int((lengths[order[start:start + rows]] == longest).sum()))
        batches.append(order[start:start + rows])
        start += rows
    return batches


def _spans(rows: Sequence[Sequence[int]], side: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Per row: where its tokens start in the padded batch, its length, and the batch width."""
    if side not in ("right", "left"):
        raise ValueError(f"padding side must be 'right' or 'left', got {side!r}")
    lengths = np.fromiter((len(row) for row in rows), dtype=np.int64, count=len(rows))
    width = int(lengths.max())
    return (np.zeros_like(lengths) if side == "right" else width - lengths), lengths, width


def pad_rows(rows: Sequence[Sequence[int]], pad_id: int, side: str) -> tuple[np.ndarray, np.ndarray]:
    """Pad rows to the longest one: ``(input_ids, attention_mask)`` as int64 arrays."""
    starts, lengths, width = _spans(rows, side)
    positions = np.arange(width)
    mask = (positions >= starts[:, None]) & (positions < (starts + lengths)[:, None])
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    ids[mask] = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64, count=int(lengths.sum()))
    return ids, mask.astype(np.int64)


def pool_mask(rows: Sequence[Sequence[int]], width: int, side: str, n_prefix: int, n_suffix: int,
              special_tokens: str) -> np.ndarray:
    """Boolean ``(rows, width)`` mask of the positions that enter the pooled vector."""
    if special_tokens not in SPECIAL_RULES:
        raise ValueError(f"special_tokens must be one of {SPECIAL_RULES}, got {special_tokens!r}")
    skip_head, skip_tail = (n_prefix, n_suffix) if special_tokens == "exclude" else (0, 0)
    starts, lengths, longest = _spans(rows, side)
    starts = starts + (width - longest if side == "left" else 0)
    positions = np.arange(width)
    return ((positions >= (starts + skip_head)[:, None])
            & (positions < (starts + lengths - skip_tail)[:, None]))


def pool(hidden, mask, pooling: str):
    """Pool ``hidden`` (batch, length, dim) over ``mask`` (batch, length) in float32.

    Returns ``(vectors, weights)``: one vector per row and the number of tokens it pooled.
    ``cls`` takes the first pooled position, ``last`` the last one. Masked positions are
    selected with ``where``, so NaN or inf in a pad position can never leak into a vector.
    """
    import torch

    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    hidden = hidden.float()
    counts = mask.sum(dim=1)
    if bool((counts == 0).any()):
        raise ValueError("a row has no token to pool (empty sequence?)")
    if pooling == "mean":
        summed = torch.where(mask.unsqueeze(-1), hidden, torch.zeros((), dtype=hidden.dtype,
                                                                      device=hidden.device)).sum(dim=1)
        vectors = summed / counts.unsqueeze(-1).to(hidden.dtype)
    else:
        positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
        marked = torch.where(mask, positions, -1 if pooling == "last" else mask.shape[1])
        index = marked.max(dim=1).values if pooling == "last" else marked.min(dim=1).values
        vectors = hidden[torch.arange(hidden.shape[0], device=hidden.device), index]
    return vectors, counts


def aggregate(vectors: np.ndarray, weights: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """Weighted mean of window vectors per owning sequence, shape ``(n, dim)``."""
    vectors = np.asarray(vectors, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    total = np.zeros((n, vectors.shape[1]), dtype=np.float64)
    norm = np.zeros(n, dtype=np.float64)
    np.add.at(total, owner, vectors * weights[:, None])
    np.add.at(norm, owner, weights)
    if (norm == 0).any():
        raise ValueError(f"{int((norm == 0).sum())} sequence(s) got no window")
    return (total / norm[:, None]).astype(np.float32)


def resolve_device(device: str | None) -> str:
    """``None`` means CUDA when available, else CPU."""
    import torch

    if device:
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_dtype(model_id: str, dtype: str, device: str) -> str:
    """The compute dtype actually used: ``auto`` is bf16 (or fp16) on GPU and fp32 on CPU."""
    import torch

    on_gpu = device.startswith("cuda")
    if dtype == "auto":
        if not on_gpu:
            return "float32"
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    if dtype not in ("float32", "bfloat16", "float16"):
        raise ValueError(f"{model_id}: dtype must be auto, float32, bfloat16 or float16, got {dtype!r}")
    if dtype != "float32" and not on_gpu:
        raise ValueError(f"{model_id}: dtype {dtype} is only allowed on a GPU (device is {device}); "
                         "half precision on CPU is slow and changes the vectors — use float32 or auto")
    return dtype


def is_out_of_memory(error: BaseException) -> bool:
    """True for CUDA/MPS out-of-memory errors (the ones a smaller batch can fix)."""
    import torch

    if isinstance(error, torch.OutOfMemoryError):
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()
