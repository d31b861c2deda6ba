"""A throwaway multi-node Ray cluster on this machine (tests, benchmarks, trying the engine).

It runs the real ``ray start`` commands: a head node and separately started worker nodes, every
address on 127.0.0.1, usage stats off, a private ``--temp-dir`` and free ports, each node under
``ray start --block`` so that stopping it (SIGTERM to that one process) stops exactly the Ray
processes it started and nothing else of the user's.

Two Ray 2.60 behaviours shape it. A node started with ``--node-ip-address=127.0.0.1`` is
advertised under the machine's primary address (``resolve_ip_for_localhost``) and Ray's servers
bind every interface, so the cluster uses token authentication: one random token per process,
given to the nodes and, while a cluster runs, to this process (``RAY_AUTH_MODE``,
``RAY_AUTH_TOKEN``). Without an explicit mode, a ``~/.ray/auth_token`` (which any local
``ray.init()`` writes) switches a head node to token auth but not the worker nodes, which then
cannot join.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

READY = "Ray runtime started"
_AUTH = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}  # Ray caches it per process


def _die_with_parent() -> None:
    """Linux: SIGTERM this node if the process that started it dies (no leaked clusters)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _reload_ray_config() -> None:
    """Make an already imported Ray see the changed ``RAY_AUTH_MODE`` (it reads it at import)."""
    if "ray" in sys.modules:
        sys.modules["ray"]._raylet.Config.initialize("")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class _Node:
    name: str
    process: subprocess.Popen
    log: Path


@dataclass
class LocalRayCluster:
    """``with LocalRayCluster(worker_cpus=[1]) as cluster: ... cluster.address ...``"""

    head_cpus: int = 1
    worker_cpus: list[int] = field(default_factory=lambda: [1])
    timeout: float = 120.0
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    temp_dir: Path | None = None
    nodes: list[_Node] = field(default_factory=list)
    _saved_env: dict[str, str | None] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> LocalRayCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start the head, then each worker node, and wait until all of them have joined."""
        self.temp_dir = Path(tempfile.mkdtemp(prefix="geneb-ray-", dir="/tmp"))  # short: unix sockets
        self.port = free_port()
        self._saved_env = {name: os.environ.get(name) for name in _AUTH}
        os.environ.update(_AUTH)  # this process (the driver) must present the token too
        _reload_ray_config()
        try:
            self._start_node("head", ["--head", f"--port={self.port}", "--include-dashboard=false",
                                      f"--num-cpus={self.head_cpus}",
                                      f"--ray-client-server-port={free_port()}",
                                      f"--dashboard-port={free_port()}"])
            for i, cpus in enumerate(self.worker_cpus):
                self._start_node(f"worker{i}", [f"--address={self.address}", f"--num-cpus={cpus}"])
            self._wait_for_nodes(1 + len(self.worker_cpus))
        except BaseException:
            self.stop()
            raise

    def _start_node(self, name: str, args: list[str]) -> None:
        assert self.temp_dir is not None
        log = self.temp_dir / f"{name}.log"
        ray_cli = Path(sys.executable).with_name("ray")
        command = [str(ray_cli), "start", *args, "--node-ip-address=127.0.0.1", "--block",
                   "--disable-usage-stats", f"--temp-dir={self.temp_dir}", "--num-gpus=0",
                   f"--dashboard-agent-listen-port={free_port()}"]
        env = {**os.environ, **_AUTH, "RAY_USAGE_STATS_ENABLED": "0", **self.env}
        with open(log, "wb") as handle:
            process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env,
                                       start_new_session=True, preexec_fn=_die_with_parent)
        self.nodes.append(_Node(name, process, log))
        deadline = time.monotonic() + self.timeout
        while READY not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ray node {name} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)

    def _wait_for_nodes(self, count: int) -> None:
        import ray

        ray.init(address=self.address, log_to_driver=False)
        try:
            deadline = time.monotonic() + self.timeout
            while sum(node["Alive"] for node in ray.nodes()) < count:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"only {ray.nodes()} of {count} ray nodes joined")
                time.sleep(0.2)
        finally:
            ray.shutdown()

    def stop(self) -> None:
        """SIGTERM each node's ``ray start --block`` (it stops its own processes), newest first."""
        for node in reversed(self.nodes):
            if node.process.poll() is None:
                node.process.send_signal(signal.SIGTERM)
                try:
                    node.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(node.process.pid, signal.SIGKILL)  # its own session: only its children
                    node.process.wait()
        self.nodes.clear()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env = {}
        _reload_ray_config()
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)
            self.temp_dir = None
