"""Load through the balancer (or at one node): ``concurrency`` clients, each one request at a time on a
keep-alive HTTP/1.1 connection, every request with an X-Request-ID of its own so that each answer can be
matched to its usage record afterwards.

A raw asyncio client rather than httpx, as bench/_common.py explains: on two cores shared with three nodes,
PostgreSQL, Redis and HAProxy, the load generator's own CPU per request must stay small. A connection
that breaks is noted as ``cut`` (the request may or may not have run; it is never sent again) and the
client opens a new one.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Answer:
    request_id: str
    sent: float  # monotonic
    done: float
    status: int  # 0: the connection was cut before an answer
    node: str  # X-Infergate-Node, set by HAProxy ("" when a node answered directly or nothing answered)
    ours: bool  # the body is JSON (a node's answer), not the balancer's own error page
    body: bytes = b""


@dataclass
class Target:
    host: str
    port: int
    path: str
    body: dict
    headers: dict[str, str]

    def encode(self, request_id: str) -> bytes:
        payload = json.dumps(self.body).encode()
        lines = [f"POST {self.path} HTTP/1.1", f"host: {self.host}:{self.port}", "content-type: application/json",
                 f"content-length: {len(payload)}", f"x-request-id: {request_id}",
                 *(f"{k}: {v}" for k, v in self.headers.items())]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


@dataclass
class Load:
    """Every answer of a run, in completion order."""

    answers: list[Answer] = field(default_factory=list)
    seconds: float = 0.0

    def statuses(self) -> Counter:
        return Counter(a.status for a in self.answers)

    def by_node(self) -> Counter:
        return Counter(a.node for a in self.answers if 200 <= a.status < 300)

    def ok_ids(self) -> list[str]:
        return [a.request_id for a in self.answers if 200 <= a.status < 300]


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name:
            headers[name.strip().lower().decode()] = value.strip().decode()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


async def _client(target: Target, prefix: str, until: float, remaining: list[int], load: Load,
                  keep_bodies: bool) -> None:
    reader = writer = None
    while time.monotonic() < until and remaining[0] != 0:
        remaining[0] -= 1
        request_id = f"{prefix}-{uuid.uuid4().hex[:16]}"
        sent = time.monotonic()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(target.host, target.port, limit=1 << 22)
            writer.write(target.encode(request_id))
            status, headers, body = await _read_answer(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            load.answers.append(Answer(request_id, sent, time.monotonic(), 0, "", False))
            if writer is not None:
                writer.close()
            reader = writer = None
            continue
        load.answers.append(Answer(request_id, sent, time.monotonic(), status, headers.get("x-infergate-node", ""),
                                   headers.get("content-type", "").startswith("application/json"),
                                   body if keep_bodies or status >= 500 else b""))
        if headers.get("connection", "").lower() == "close":
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def run_load(target: Target, *, concurrency: int, seconds: float, prefix: str, count: int = -1,
                   keep_bodies: bool = False) -> Load:
    """Requests for ``seconds`` (or until ``count`` were sent, when given) from ``concurrency`` clients."""
    load, started = Load(), time.monotonic()
    remaining = [count]
    await asyncio.gather(*(_client(target, prefix, started + seconds, remaining, load, keep_bodies)
                           for _ in range(concurrency)))
    load.seconds = time.monotonic() - started
    return load
