"""The Ray engine: embed a suite on a Ray cluster, writing exactly what the local engine writes.

Long-lived workers (Ray actors, one GPU each where the cluster has GPUs, ``cpus_per_worker`` CPUs
otherwise) load the model once. The driver streams tasks: it reads a task, skips it when its
per-task file is already cached under the same key, otherwise cuts it into shards
(:mod:`stages.engines.shards`) and keeps every worker fed with ``in_flight`` shards. A task is
written through :func:`stages.embedding_files.save_embeddings` (same key, same atomic write) only once all
its rows are back, so an interrupted run resumes from the finished tasks.

Faults: a worker process that dies is restarted by Ray (``max_restarts``, reloading the model) and
its unfinished shards are re-run (``max_retries``); a worker that is lost for good has its shards
re-queued on the others. The worker side is :mod:`stages.engines.ray_worker`.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import sys
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stages import paths
from stages.embed import (
    append_run_log,
    load_task_checked,
    prune_stale,
    run_record,
    split_report,
    stored_key,
)
from stages.embedding_files import TaskEmbeddings, is_cached, save_embeddings
from stages.engines.config import EngineConfig
from stages.engines.ray_worker import DELAY_ENV, ShardWorker
from stages.engines.shards import (
    SPLITS,
    Shard,
    TaskAssembly,
    align_up,
    merge_reports,
    plan_shards,
    processing_order,
)
from stages.errors import GenebError
from stages.extractors.base import ExtractorSettings, check_embeddings
from stages.extractors.registry import ModelEntry, get_model_entry
from stages.manifest import DataHashes
from stages.spec import Suite
from stages.taskdata import TaskData

log = logging.getLogger(__name__)
FORWARDED_ENV = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", DELAY_ENV)


class EngineError(GenebError, ValueError):
    """The Ray engine could not finish (finished tasks stay saved; re-running resumes)."""


@dataclass(frozen=True)
class _WeightsIdentity:
    """What :func:`stages.embed.cache_key` reads from an extractor, as reported by a worker."""

    model_id: str
    settings: ExtractorSettings
    weights: dict[str, Any]

    def identity(self) -> dict[str, Any]:
        return self.weights


@dataclass
class RayRun:
    """What a Ray run did: per-task cache status plus the numbers the benchmark reports."""

    status: dict[str, bool] = field(default_factory=dict)
    workers: list[dict[str, Any]] = field(default_factory=list)
    shards: int = 0
    sequences: int = 0
    startup_seconds: float = 0.0  # connect, start workers, load the model in each
    seconds: float = 0.0  # from the first shard submitted to the last task written
    shard_seconds: list[float] = field(default_factory=list)  # worker compute time per shard
    restarts: int = 0  # worker processes replaced by Ray (seen as a new pid)
    requeued: int = 0  # shards moved to another worker after theirs was lost
    duplicates: int = 0  # shard results that arrived twice and were dropped
    pids: set[int] = field(default_factory=set)  # every worker process that returned a shard

    @property
    def sequences_per_second(self) -> float:
        return self.sequences / self.seconds if self.seconds > 0 else 0.0


ResultHook = Callable[[Shard, dict[str, Any], RayRun], None]


@dataclass
class _OpenTask:
    task: TaskData
    key: dict[str, Any]
    path: Path
    assembly: TaskAssembly


def embed_suite_ray(model: str | ModelEntry, suite: Suite, out_dir: Path, config: EngineConfig,
                    overrides: dict[str, Any] | None = None, device: str | None = None,
                    progress: bool = True,
                    on_result: ResultHook | None = None,
                    data_md5: DataHashes | None = None, run_log: Path | None = None) -> RayRun:
    """Embed every task of ``suite`` into ``out_dir`` on Ray; same files as the local engine.

    ``model`` is a registered model id or a :class:`ModelEntry` (shipped to the workers as is);
    ``data_md5`` and ``run_log`` as in :func:`stages.embed.embed_suite`.
    """
    from stages.manifest import hash_suite_data

    ray = _import_ray()
    hashes = hash_suite_data(suite) if data_md5 is None else data_md5
    entry = get_model_entry(model) if isinstance(model, str) else model
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    run = RayRun()
    started = time.perf_counter()
    started_here = _connect(ray, config)
    actors: list[Any] = []
    try:
        actors = _start_workers(ray, config, entry, overrides, device)
        try:
            run.workers = ray.get(_wait_all(ray, [actor.describe.remote() for actor in actors]))
        except ray.exceptions.RayError as exc:
            raise EngineError(f"Ray workers could not load {entry.model_id}: {exc}") from exc
        identity = _common_identity(run.workers)
        run.startup_seconds = time.perf_counter() - started
        log.info("ray: %d workers on %d node(s), model loaded in %.1fs", len(actors),
                 len({w["node_id"] for w in run.workers}), run.startup_seconds)
        scheduler = _Scheduler(ray, actors, config, run, progress, on_result, run_log)
        scheduler.run(suite, out_dir, identity, hashes)
        if progress:
            print(summary(run), file=sys.stderr)
    finally:
        for actor in actors:
            ray.kill(actor, no_restart=True)
        if started_here:
            ray.shutdown()
    prune_stale(out_dir, run.status)
    return run


def summary(run: RayRun) -> str:
    """One line for the end of a run: work done, throughput, faults survived."""
    nodes = len({worker["node_id"] for worker in run.workers})
    return (f"ray: {run.shards} shards, {run.sequences:,} sequences in {run.seconds:.1f}s "
            f"({run.sequences_per_second:,.0f} seq/s) on {len(run.workers)} workers / {nodes} "
            f"node(s) after {run.startup_seconds:.1f}s start-up; {run.restarts} worker restarts, "
            f"{run.requeued} shards re-queued; {sum(run.status.values())} tasks cached")


def _wait_all(ray: Any, refs: list[Any]) -> list[Any]:
    """``refs`` once all are done, waiting in short steps so that Ctrl-C is honoured."""
    pending = list(refs)
    while pending:
        _, pending = ray.wait(pending, num_returns=len(pending), timeout=0.5)
    return refs


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise EngineError("the ray engine needs the optional extra: pip install '.[ray]'") from None
    return ray


def _connect(ray: Any, config: EngineConfig) -> bool:
    """Join (or start) a cluster; returns whether this call started the Ray session."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if ray.is_initialized():
        return False
    if config.address in (None, "", "local"):
        _private_token(ray)
        ray.init(address="local", include_dashboard=False, log_to_driver=False)
    else:
        _check_reachable(config.address)
        try:
            ray.init(address=config.address, log_to_driver=False)
        except ConnectionError as exc:
            raise EngineError(f"cannot reach the Ray cluster at {config.address!r}: {exc}") from exc
    return True


def _private_token(ray: Any) -> None:
    """Token auth for a private instance without Ray writing ``~/.ray/auth_token``.

    A local ``ray.init()`` turns token auth on and saves a token in the home directory, where it
    later switches ``ray start --head`` (but not worker nodes) to token auth. An explicit
    ``RAY_AUTH_MODE`` is respected as is.
    """
    if "RAY_AUTH_MODE" in os.environ:
        return
    os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    ray._raylet.Config.initialize("")  # re-read the mode, as Ray's own _enable_token_auth does


def _check_reachable(address: str) -> None:
    """Fail in seconds on a HOST:PORT nobody listens on (ray.init would retry for minutes)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or "://" in address:
        return  # "auto", or a form Ray resolves itself
    try:
        socket.create_connection((host, int(port)), timeout=10).close()
    except OSError as exc:
        raise EngineError(f"cannot reach the Ray cluster at {address}: {exc}; start its head with "
                          "`ray start --head --port=PORT` or fix engine.address") from None


def _start_workers(ray: Any, config: EngineConfig, entry: ModelEntry,
                   overrides: dict[str, Any] | None, device: str | None) -> list[Any]:
    resources = ray.cluster_resources()
    gpus = float(resources.get("GPU", 0))
    cpus = float(resources.get("CPU", 0))
    per_gpu = config.gpus_per_worker
    if per_gpu is None:
        per_gpu = 1.0 if gpus >= 1 else 0.0
    per_cpu = config.cpus_per_worker
    if not per_gpu and not per_cpu:
        raise EngineError("engine.cpus_per_worker and gpus_per_worker are both 0: set one")
    capacity = min(gpus // per_gpu if per_gpu else float("inf"),
                   cpus // per_cpu if per_cpu else float("inf"))
    workers = config.workers or max(int(capacity), 1)
    if workers > capacity:
        raise EngineError(f"{workers} workers x ({per_cpu} CPU, {per_gpu} GPU) do not fit the "
                          f"cluster ({cpus:g} CPUs, {gpus:g} GPUs); lower engine.workers")
    threads = config.threads or _local_threads()
    env = {name: os.environ[name] for name in FORWARDED_ENV if name in os.environ}
    env[paths.ROOT_ENV] = str(paths.REPO_ROOT)  # workers run elsewhere: name the checkout
    remote = ray.remote(ShardWorker).options(
        num_cpus=per_cpu, num_gpus=per_gpu, max_restarts=config.max_restarts,
        max_task_retries=config.max_retries, scheduling_strategy="SPREAD",
        runtime_env={"env_vars": env})
    return [remote.remote(entry, overrides, device, threads) for _ in range(workers)]


def _local_threads() -> int:
    """The torch thread count a local run on this machine uses."""
    import torch

    return int(torch.get_num_threads())


def _common_identity(workers: list[dict[str, Any]]) -> _WeightsIdentity:
    """The model identity all workers agree on (nodes with different weights are an error)."""
    first = workers[0]
    for worker in workers[1:]:
        if (worker["weights"], worker["settings"]) != (first["weights"], first["settings"]):
            raise EngineError(f"workers disagree on the model: {first['host']} has "
                              f"{first['weights']}, {worker['host']} has {worker['weights']}")
    return _WeightsIdentity(first["model_id"], first["settings"], first["weights"])


class _Scheduler:
    """Feeds workers shards task by task and writes each task once all its rows are back."""

    def __init__(self, ray: Any, actors: list[Any], config: EngineConfig, run: RayRun,
                 progress: bool, on_result: Callable[..., None] | None,
                 run_log: Path | None = None) -> None:
        from tqdm.auto import tqdm

        self.ray, self.actors, self.config, self.run_info = ray, actors, config, run
        self.on_result, self.run_log = on_result, run_log
        self.pids = {i: w["pid"] for i, w in enumerate(run.workers)}
        self.alive = set(range(len(actors)))
        self.load: Counter[int] = Counter()
        self.pending: deque[Shard] = deque()
        self.in_flight: dict[Any, tuple[Shard | None, int]] = {}  # ref -> (shard or None: ping, worker)
        self.open: dict[str, _OpenTask] = {}
        self.started = time.perf_counter()
        self.n_tasks = 0
        unit = run.workers[0]["shard_unit"] or config.align
        self.shard_size = align_up(config.shard_size, unit)
        self.attempts: Counter[Shard] = Counter()
        self.bar = tqdm(total=0, desc=f"embed {run.workers[0]['model_id']} (ray)", unit="shard",
                        disable=not progress)

    def run(self, suite: Suite, out_dir: Path, identity: _WeightsIdentity,
            hashes: DataHashes) -> None:
        tasks = iter(suite.task_ids)
        self.n_tasks = len(suite.task_ids)
        self.started = time.perf_counter()
        try:
            while True:
                more = self._refill(tasks, suite, out_dir, identity, hashes)
                self._submit()
                if not self.in_flight:
                    if not self.pending and not more:
                        break
                    raise EngineError(f"all Ray workers are lost; {len(self.open)} task(s) "
                                      "unfinished (finished tasks are saved: re-run to resume)")
                ready: list[Any] = []
                while not ready:  # short waits keep Ctrl-C working (a blocking wait ignores it)
                    ready, _ = self.ray.wait(list(self.in_flight), num_returns=1, timeout=0.5)
                for ref in ready:
                    self._collect(ref)
        finally:
            self.bar.close()
            self.run_info.seconds = time.perf_counter() - self.started

    def _refill(self, tasks: Any, suite: Suite, out_dir: Path, identity: _WeightsIdentity,
                hashes: DataHashes) -> bool:
        """Open tasks until enough shards are queued; returns whether tasks remain unopened."""
        while len(self.pending) < 2 * self.config.in_flight * max(len(self.alive), 1):
            task_id = next(tasks, None)
            if task_id is None:
                return False
            key = stored_key(identity, task_id, hashes[task_id])
            path = out_dir / f"{task_id}.npz"
            if is_cached(path, key):
                self.run_info.status[task_id] = True
                continue
            task = load_task_checked(suite, task_id, hashes[task_id])
            orders = {split: processing_order(getattr(task, split).sequences) for split in SPLITS}
            sizes = {split: len(order) for split, order in orders.items()}
            shards = plan_shards(task_id, sizes, self.shard_size)
            assembly = TaskAssembly(task_id, orders, tuple(shards))
            self.open[task_id] = _OpenTask(task, key, path, assembly)
            self.pending.extend(shards)
            self.bar.total += len(shards)
            self.bar.refresh()
        return True

    def _submit(self) -> None:
        for i in sorted(self.alive):
            while self.load[i] < self.config.in_flight and self.pending:
                shard = self.pending.popleft()
                opened = self.open[shard.task_id]
                sequences = getattr(opened.task, shard.split).sequences
                rows = opened.assembly.orders[shard.split][shard.start:shard.stop]
                ref = self.actors[i].embed.remote(shard, [sequences[j] for j in rows])
                self.in_flight[ref] = (shard, i)
                self.load[i] += 1

    def _collect(self, ref: Any) -> None:
        shard, i = self.in_flight.pop(ref)
        self.load[i] -= 1
        try:
            result = self.ray.get(ref)
        except self.ray.exceptions.RayTaskError as exc:  # the extractor raised: not a fault
            raise EngineError(f"{shard}: worker failed: {exc.cause!r}") from exc
        except self.ray.exceptions.RayError as exc:
            self._lost(shard, i, exc)
            return
        if shard is None:  # a ping answered: the worker came back after a restart
            self.alive.add(i)
            return
        self._accept(shard, i, result)

    def _lost(self, shard: Shard | None, i: int, exc: Exception) -> None:
        """The worker died beyond Ray's retries (or its node vanished): re-queue, probe it."""
        if shard is None:
            log.warning("ray worker %d is gone for good: %s", i, exc)
            return
        self.attempts[shard] += 1
        if self.attempts[shard] > self.config.max_retries:
            raise EngineError(f"{shard}: lost {self.attempts[shard]} times; last error: {exc}")
        log.warning("ray worker %d lost %s (%s); re-queued", i, shard, type(exc).__name__)
        self.pending.appendleft(shard)
        self.run_info.requeued += 1
        if i in self.alive:
            self.alive.discard(i)
            self.in_flight[self.actors[i].describe.remote()] = (None, i)

    def _accept(self, shard: Shard, i: int, result: dict[str, Any]) -> None:
        run = self.run_info
        if result["pid"] != self.pids[i]:
            run.restarts += 1
            log.warning("ray worker %d restarted (pid %s -> %s)", i, self.pids[i], result["pid"])
            self.pids[i] = result["pid"]
        run.pids.add(result["pid"])
        opened = self.open.get(shard.task_id)
        if opened is None or not opened.assembly.add(shard, result["vectors"], result["seconds"],
                                                     result["report"]):
            run.duplicates += 1
            return
        run.shards += 1
        run.sequences += shard.size
        run.shard_seconds.append(result["seconds"])
        if self.on_result is not None:
            self.on_result(shard, result, run)
        if opened.assembly.complete:
            self._write(opened)
        elapsed = time.perf_counter() - self.started
        self.bar.set_postfix_str(f"{run.sequences / max(elapsed, 1e-9):,.0f} seq/s, tasks "
                                 f"{len(run.status)}/{self.n_tasks}, {len(self.alive)} workers, "
                                 f"{run.restarts} restarts", refresh=False)
        self.bar.update(1)

    def _write(self, opened: _OpenTask) -> None:
        task, assembly = opened.task, opened.assembly
        model_id = opened.key["model_id"]
        vectors = {split: check_embeddings(model_id, assembly.split_vectors(split),
                                           assembly.split_sizes[split]) for split in SPLITS}
        n = sum(assembly.split_sizes.values())
        stable, machine = split_report(merge_reports(assembly.reports))
        save_embeddings(opened.path, TaskEmbeddings(vectors["train"], task.train.labels,
                                                    vectors["test"], task.test.labels,
                                                    {"key": opened.key, "report": stable}))
        append_run_log(self.run_log, run_record(
            task.task_id, model_id, n, assembly.seconds, machine,
            engine={"name": "ray", "shards": len(assembly.shards)}))
        self.run_info.status[task.task_id] = False
        del self.open[task.task_id]
        log.info("ray: %s written (%d sequences, %d shards)", task.task_id, n, len(assembly.shards))

