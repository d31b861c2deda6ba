"""The code that runs on the cluster: one Ray actor per worker, the model loaded once.

Test hook: ``GENEB_RAY_SHARD_DELAY_S`` (forwarded from the driver's environment) makes a worker
sleep that long before returning each shard, so that a test can kill it mid-shard.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from typing import Any

from stages.engines.shards import Shard
from stages.extractors.base import check_embeddings, report_delta
from stages.extractors.registry import ModelEntry, load_extractor

DELAY_ENV = "GENEB_RAY_SHARD_DELAY_S"


class ShardWorker:
    """A Ray actor body: loads the model once, then embeds shard after shard."""

    def __init__(self, entry: ModelEntry, overrides: dict[str, Any] | None,
                 device: str | None, threads: int) -> None:
        started = time.perf_counter()
        self.extractor = load_extractor(entry, overrides, device=device)
        if "torch" in sys.modules:  # Ray pins OMP_NUM_THREADS to the actor's CPUs; undo that
            sys.modules["torch"].set_num_threads(threads)
        self.threads = threads
        self.load_seconds = time.perf_counter() - started

    def describe(self) -> dict[str, Any]:
        import ray

        return {"pid": os.getpid(), "host": socket.gethostname(),
                "node_id": ray.get_runtime_context().get_node_id(),
                "model_id": self.extractor.model_id, "settings": self.extractor.settings,
                "weights": self.extractor.identity(), "load_seconds": round(self.load_seconds, 3),
                "shard_unit": getattr(self.extractor, "shard_unit", None), "threads": self.threads}

    def embed(self, shard: Shard, sequences: list[str]) -> dict[str, Any]:
        before = self.extractor.run_report()
        started = time.perf_counter()
        vectors = self.extractor.embed(sequences)
        vectors = check_embeddings(self.extractor.model_id, vectors, len(sequences))
        seconds = time.perf_counter() - started
        time.sleep(float(os.environ.get(DELAY_ENV) or 0))
        return {"shard": shard, "vectors": vectors, "seconds": seconds, "pid": os.getpid(),
                "report": report_delta(before, self.extractor.run_report())}
