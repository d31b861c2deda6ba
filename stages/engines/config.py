"""Which engine embeds a suite: ``params.yaml``'s ``engine`` section (read by
:mod:`stages.params`), overridden by the CLI flags; this module takes values, never the file.

The engine never changes an embedding (the Ray engine is bit-identical to the local one on CPU),
so it is deliberately *not* a DVC stage parameter: switching ``local`` -> ``ray`` re-runs nothing.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from stages.errors import GenebError

ENGINES: tuple[str, ...] = ("local", "ray")


class EngineConfigError(GenebError, ValueError):
    """The ``engine`` section of params.yaml or an engine CLI flag is malformed."""


@dataclass(frozen=True)
class EngineConfig:
    """How to run the embedding step. Only ``name`` matters for the local engine."""

    name: str = "local"
    # ray: None or "local" starts a private Ray instance on this machine; "auto" joins the cluster
    # started with `ray start` here; "HOST:PORT" joins that cluster's head.
    address: str | None = None
    shard_size: int = 4096  # sequences per shard (rounded up to a multiple of the alignment)
    align: int = 1  # shard boundaries fall on multiples of this, unless the extractor declares
    #                 its own unit (`shard_unit`: the chunk it processes independently)
    workers: int | None = None  # None: one per GPU, or one per `cpus_per_worker` CPUs without GPUs
    cpus_per_worker: float = 1.0
    # torch threads per worker. None: as many as a local run on the driver's machine uses, because
    # CPU results of padded batches depend on the thread count (bit-identity with local needs it);
    # set it to cpus_per_worker on many-core CPU nodes to avoid oversubscription.
    threads: int | None = None
    gpus_per_worker: float | None = None  # None: 1 where the cluster has GPUs, else 0
    max_restarts: int = 3  # times Ray restarts a dead worker (reloading the model)
    max_retries: int = 3  # times a shard is re-run after its worker died mid-shard
    in_flight: int = 2  # shards queued per worker (hides transfer latency)

    def __post_init__(self) -> None:
        if self.name not in ENGINES:
            raise EngineConfigError(f"unknown engine {self.name!r}; choose one of {ENGINES}")
        for name in ("shard_size", "align", "in_flight"):
            if int(getattr(self, name)) < 1:
                raise EngineConfigError(f"engine.{name} must be >= 1, got {getattr(self, name)!r}")
        for name in ("workers", "threads"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise EngineConfigError(f"engine.{name} must be >= 1 or null, "
                                        f"got {getattr(self, name)!r}")
        if self.cpus_per_worker < 0 or (self.gpus_per_worker or 0) < 0:
            raise EngineConfigError("engine.cpus_per_worker and gpus_per_worker must be >= 0")
        if self.max_restarts < 0 or self.max_retries < 0:
            raise EngineConfigError("engine.max_restarts and engine.max_retries must be >= 0")


_FIELDS = {f.name for f in fields(EngineConfig)}


def engine_config(section: Mapping[str, Any] | None = None, **overrides: Any) -> EngineConfig:
    """Build a config from a params.yaml ``engine`` mapping plus non-``None`` overrides."""
    values = dict(section or {})
    values.update({key: value for key, value in overrides.items() if value is not None})
    unknown = sorted(set(values) - _FIELDS)
    if unknown:
        raise EngineConfigError(f"unknown engine setting(s) {unknown}; known: {sorted(_FIELDS)}")
    return EngineConfig(**values)


def add_engine_args(parser: argparse.ArgumentParser) -> None:
    """The ``--engine`` and ``--ray-address`` flags of ``geneb embed`` and ``geneb run``."""
    parser.add_argument("--engine", choices=ENGINES,
                        help="embedding engine (default: params.yaml engine.name, else local)")
    parser.add_argument("--ray-address", help="Ray cluster to join: HOST:PORT, 'auto' (the one "
                        "`ray start` made here) or 'local' (a private instance); implies nothing "
                        "unless the engine is ray")

