"""The processes of each role, started with the commands a deployment's service units run
(``python -m playground.devserver ROLE``, deploy/systemd/): gateway nodes, Celery workers, the one beat."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.cluster.netns import NODE_PORT, NodeNetwork
from bench.cluster.services import PROJECT_DIR, free_port

ROLE = [sys.executable, "-m", "playground.devserver"]


@dataclass
class Role:
    """One process of the deployment in a session of its own (so that a whole Celery worker, pool
    children included, can be signalled at once), its output in ``log``. ``wrap`` goes before the command
    (``ip netns exec NAMESPACE`` for a node in a namespace of its own: it execs the command in place)."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen | None = None
    wrap: list[str] = field(default_factory=list)

    def start(self) -> None:
        with self.log.open("a") as output:
            self.process = subprocess.Popen([*self.wrap, *ROLE, *self.args], cwd=PROJECT_DIR, env=self.env, stdout=output,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def signal(self, signum: int) -> None:
        os.killpg(self.process.pid, signum)

    def stop(self, timeout: float = 20.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class Node(Role):
    """A gateway node: uvicorn (one worker: three nodes share two cores here) on an address of its own: a
    loopback address, or with ``network`` its address in a network namespace of its own (bench/cluster/netns.py)."""

    host: str = "127.0.0.11"
    port: int = 0
    network: NodeNetwork | None = None

    @classmethod
    def create(cls, index: int, env: dict[str, str], folder: Path, network: NodeNetwork | None = None) -> "Node":
        if network:
            host, port, wrap = network.host, NODE_PORT, network.exec_prefix
        else:
            host = f"127.0.0.{10 + index}"
            port, wrap = free_port(host), []
        node_env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(folder / f"node{index}-metrics")}
        Path(node_env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
        return cls(name=f"node{index}", args=["web", "--host", host, "--port", str(port), "--workers", "1"],
                   env=node_env, log=folder / f"node{index}.log", wrap=wrap, host=host, port=port, network=network)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def check_placed(self) -> None:
        """In a namespace, the pid the run signals must be uvicorn's own, inside that namespace."""
        if self.network is None:
            return
        command = Path(f"/proc/{self.process.pid}/cmdline").read_bytes().split(b"\0")
        if b"uvicorn" not in command or not self.network.holds(self.process.pid):
            raise RuntimeError(f"{self.name}: pid {self.process.pid} is not uvicorn in {self.network.namespace} "
                               f"({b' '.join(command).decode(errors='replace')})")

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if not self.alive or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} is not ready; see {self.log}")
            time.sleep(0.2)


@dataclass
class Cluster:
    """Every role of the deployment: ``nodes`` gateway nodes, ``workers`` Celery workers, one beat. With
    ``networks``, node N runs in ``networks[N - 1]`` with the environment ``node_envs[N - 1]``."""

    env: dict[str, str]
    folder: Path
    networks: list[NodeNetwork] = field(default_factory=list)
    node_envs: list[dict[str, str]] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    workers: list[Role] = field(default_factory=list)
    beat: Role | None = None

    def start(self, nodes: int, workers: int) -> None:
        self.workers = [Role(f"worker{i}", ["worker", "--name", f"worker{i}@%h", "--concurrency", "1"], self.env,
                             self.folder / f"worker{i}.log") for i in range(1, workers + 1)]
        self.beat = Role("beat", ["beat", "--schedule", str(self.folder / "celerybeat-schedule")], self.env,
                         self.folder / "beat.log")
        if self.networks:
            self.nodes = [Node.create(i, self.node_envs[i - 1], self.folder, self.networks[i - 1])
                          for i in range(1, nodes + 1)]
        else:
            self.nodes = [Node.create(i, self.env, self.folder) for i in range(1, nodes + 1)]
        for role in [*self.workers, self.beat, *self.nodes]:
            role.start()
        for node in self.nodes:
            node.wait_ready()
            node.check_placed()

    def stop(self) -> None:
        for role in [*self.nodes, *self.workers, *([self.beat] if self.beat else [])]:
            role.stop()
