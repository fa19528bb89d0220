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

from bench.cluster.services import PROJECT_DIR, free_port

ROLE = [sys.executable, "-m", "playground.devserver"]


@dataclass
class Role:
    """One process of the deployment in a session of its own (so that a whole Celery worker, pool
    children included, can be signalled at once), its output in ``log``."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("a") as output:
            self.process = subprocess.Popen([*ROLE, *self.args], cwd=PROJECT_DIR, env=self.env, stdout=output,
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
    """A gateway node: uvicorn (one worker: three nodes share two cores here) on an address of its own."""

    host: str = "127.0.0.11"
    port: int = 0

    @classmethod
    def create(cls, index: int, env: dict[str, str], folder: Path) -> "Node":
        host = f"127.0.0.{10 + index}"
        port = free_port(host)
        node_env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(folder / f"node{index}-metrics")}
        Path(node_env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
        return cls(name=f"node{index}", args=["web", "--host", host, "--port", str(port), "--workers", "1"],
                   env=node_env, log=folder / f"node{index}.log", host=host, port=port)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

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
    """Every role of the deployment: ``nodes`` gateway nodes, ``workers`` Celery workers, one beat."""

    env: dict[str, str]
    folder: Path
    nodes: list[Node] = field(default_factory=list)
    workers: list[Role] = field(default_factory=list)
    beat: Role | None = None

    def start(self, nodes: int, workers: int) -> None:
        self.workers = [Role(f"worker{i}", ["worker", "--name", f"worker{i}@%h", "--concurrency", "1"], self.env,
                             self.folder / f"worker{i}.log") for i in range(1, workers + 1)]
        self.beat = Role("beat", ["beat", "--schedule", str(self.folder / "celerybeat-schedule")], self.env,
                         self.folder / "beat.log")
        self.nodes = [Node.create(i, self.env, self.folder) for i in range(1, nodes + 1)]
        for role in [*self.workers, self.beat, *self.nodes]:
            role.start()
        for node in self.nodes:
            node.wait_ready()

    def stop(self) -> None:
        for role in [*self.nodes, *self.workers, *([self.beat] if self.beat else [])]:
            role.stop()
