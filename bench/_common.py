"""What the gateway and local-model benchmarks share: a load generator cheap enough to leave the cores to the
servers it measures, percentiles, the CPU and peak RSS of a server process, and waiting for a server.

The load generator speaks HTTP/1.1 over one keep-alive connection per concurrent client (asyncio streams,
request bytes built once): httpx spends ~0.3-1 ms of CPU per request itself, which on a 2-core machine is
taken from the servers under test and would flatten every ratio. Responses must carry a Content-Length
(the emulator, Infergate and LiteLLM all do).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by the nearest-rank method; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def load_average() -> tuple[float, float, float]:
    return tuple(round(v, 2) for v in os.getloadavg())


def machine() -> dict[str, Any]:
    model = ""
    try:
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "")
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model, "load_average": load_average()}


@dataclass
class Request:
    """One request, encoded once: ``method path`` with a JSON body and headers."""

    host: str
    port: int
    path: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        payload = json.dumps(self.body).encode()
        lines = [f"POST {self.path} HTTP/1.1", f"host: {self.host}:{self.port}", "content-type: application/json",
                 f"content-length: {len(payload)}", *(f"{k}: {v}" for k, v in self.headers.items())]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


class Connection:
    """One keep-alive connection; ``send`` returns (status, body)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reconnects = 0

    @classmethod
    async def open(cls, host: str, port: int) -> "Connection":
        connection = cls(host, port)
        connection.reader, connection.writer = await asyncio.open_connection(host, port, limit=1 << 22)
        return connection

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        """One request and its answer; a keep-alive connection the server closed while it was idle is
        opened again and the request sent again, once (as HTTP clients do)."""
        self.writer.write(raw)
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError) as error:
            if isinstance(error, asyncio.IncompleteReadError) and error.partial:
                raise
            self.reconnects += 1
            self.writer.close()
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 22)
            self.writer.write(raw)
            head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                raise RuntimeError("the load generator reads Content-Length bodies only")
        if length is None:
            raise RuntimeError(f"no Content-Length in the response: {head[:200]!r}")
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except OSError:
            pass


@dataclass
class Burst:
    """What ``burst`` measured: seconds per request (in completion order), outcomes, wall time."""

    latencies: list[float]
    statuses: dict[int, int]
    seconds: float
    sample: bytes  # the body of the first answer, to check its shape


async def burst(connections: list[Connection], raw: bytes, count: int) -> Burst:
    """``count`` requests through ``connections`` (one request at a time on each: the concurrency is
    ``len(connections)``), each client taking the next request as soon as its answer is in."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    remaining = [count]
    sample = [b""]

    async def client(connection: Connection) -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            started = time.perf_counter()
            status, body = await connection.send(raw)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
            if not sample[0]:
                sample[0] = body

    started = time.perf_counter()
    await asyncio.gather(*(client(c) for c in connections))
    return Burst(latencies=latencies, statuses=statuses, seconds=time.perf_counter() - started, sample=sample[0])


class ProcessMeter:
    """CPU seconds (user + system) and peak RSS of a server process and its children (uvicorn workers),
    through psutil when installed, else /proc."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        try:
            import psutil
        except ImportError:
            psutil = None
        self._psutil = psutil

    def _pids(self) -> list[int]:
        if self._psutil is not None:
            try:
                root = self._psutil.Process(self.pid)
                return [self.pid, *(child.pid for child in root.children(recursive=True))]
            except self._psutil.Error:
                return []
        try:
            return [self.pid, *(int(c) for c in Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split())]
        except OSError:
            return []

    def cpu_seconds(self) -> float:
        total = 0.0
        errors = (OSError, ValueError, IndexError) + ((self._psutil.Error,) if self._psutil else ())
        for pid in self._pids():
            try:
                if self._psutil is not None:
                    times = self._psutil.Process(pid).cpu_times()
                    total += times.user + times.system
                else:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except errors:
                continue
        return total

    def peak_rss_mb(self) -> float:
        """The kernel's high-water mark of resident memory (VmHWM), summed over the processes."""
        total = 0
        for pid in self._pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
        return round(total / 1024, 1)


def wait_http(url: str, process: Any, timeout: float = 120.0, headers: dict[str, str] | None = None) -> None:
    """Until GET ``url`` answers 200 (raises if the process exits or time runs out)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:3]} exited with code {process.returncode} before answering {url}")
        try:
            if httpx.get(url, timeout=2.0, headers=headers).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


BENCH_DIR = Path(__file__).resolve().parent


def start_emulator(port: int, log: Path) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, str(BENCH_DIR / "_emulator.py"), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=log.open("w"), text=True, start_new_session=True)
    if process.stdout.readline().strip() != "ready":
        raise RuntimeError(f"the emulator did not start (see {log})")
    return process


def profile_start(pid: int, output: Path) -> subprocess.Popen:
    """py-spy sampling the Infergate process (and its workers) until it is sent SIGINT."""
    executable = shutil.which("py-spy")
    if executable is None:
        raise SystemExit("--profile needs py-spy on PATH (pip install py-spy==0.4.3, in any environment)")
    process = subprocess.Popen([executable, "record", "--pid", str(pid), "--subprocesses", "--format", "raw",
                                "--rate", "250", "--threads", "--output", str(output)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    return process
