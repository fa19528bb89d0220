"""Soak: 30 minutes of mixed traffic against the stack as ``make run`` serves it, watching memory and usage records.

What runs, all on 127.0.0.1: an embedded PostgreSQL and Redis under ``.data/soak`` (unless DATABASE_URL /
REDIS_URL or INFERGATE_DATA_DIR are set); then the very commands of ``make run`` (playground/devserver.py): uvicorn
with one worker per core, a Celery worker and Celery beat (which drains the usage stream every second), with the
test providers on (``INFERGATE_TEST_PROVIDERS=1``) and the upstream emulator of bench/gateway.py as an
OpenAI-compatible provider (``emu-d0``), plus ``emu-broken``, the same emulator at a path where it answers 404, and
``emu-down``, a port nobody listens on.

Traffic, at a moderate fixed rate (``--rate`` HTTP requests per second over ``--clients`` keep-alive connections,
``--ws-rate`` websocket requests per second over ``--ws-clients`` sockets, each socket reopened every
``WS_REQUESTS_PER_SOCKET`` requests): chat on ``/v1/inference`` and ``/v1/chat/completions`` (``test/echo``),
embeddings on both routes (``emu-d0/embed``, through the openai SDK and the emulator) and on the local embedding
model (``local/all-minilm-l6-v2``, about one request in 30), streams over ``ws://.../v1/inference/stream``; and
injected errors, each with the one status it must get: bodies that are not an object or have wrong types,
unknown models, providers that fail (``test/fail-502``, ``test/stream-fail-502`` after one delta, and over the
network ``emu-down`` after its retries), one that refuses (``emu-broken``), invalid JSON on the websocket.

Measured: the RSS of each process tree (gateway, Celery worker, Celery beat, PostgreSQL, Redis) and its anonymous
part (RssAnon: private heap, where a leak shows) every ``--sample-seconds``; after the warm-up (the first
``--warmup-minutes``), a least-squares line per process and its slopes in MB/hour, the anonymous one judged against
``--threshold-mb-per-hour`` (RSS also counts shared and file-backed pages: PostgreSQL's shared buffers, counted again
in every backend as it touches them, and grow as the usage table does). Every outcome by kind and status; anything but
the kind's status is an unexpected error (must be 0). At the end, once the usage stream is drained: the usage
records of the run's own namespace against the answers the client saw (HTTP by ``X-Request-ID``, websocket by the
``request_id`` of its ``start`` event, and in total): lost must be 0. Exit code 0 when memory is stable, no
unexpected error and nothing lost.

Run: ``make bench-soak`` or ``.venv/bin/python bench/soak.py [--minutes 30] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import websockets

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(PROJECT_DIR))
from _common import Connection, ProcessMeter, Request, load_average, machine, start_emulator, wait_http  # noqa: E402
from concurrency import free_port, server_stop  # noqa: E402
from gateway import compatible_settings  # noqa: E402

HOST = "127.0.0.1"
TEXTS = ["The quick brown fox jumps over the lazy dog.", "A soak test runs for a long time."]
WS_REQUESTS_PER_SOCKET = 50
ANSWER_TIMEOUT_S = 30.0
DRAIN_TIMEOUT_S = 120.0
ROLES = ("gateway", "celery worker", "celery beat", "postgres", "redis")


@dataclass(frozen=True)
class Kind:
    """One kind of request: where it goes, its body, the one status it must get, and its share of traffic."""

    name: str
    path: str  # an HTTP path, or "ws"
    body: Any
    expected: int
    weight: int
    injected: bool = False


def chat(model: str) -> dict:
    return {"provider": "test", "model": model, "inputs": {"prompts": ["Hello, soak."]}}


HTTP_KINDS = (
    Kind("chat", "/v1/inference", chat("echo"), 200, 30),
    Kind("chat openai", "/v1/chat/completions", {"model": "test/echo", "messages": [
        {"role": "user", "content": "Hello, soak."}]}, 200, 15),
    Kind("embeddings", "/v1/inference", {"provider": "emu-d0", "model": "embed", "inputs": {"texts": TEXTS}}, 200, 10),
    Kind("embeddings openai", "/v1/embeddings", {"model": "emu-d0/embed", "input": TEXTS}, 200, 15),
    Kind("embeddings local", "/v1/inference", {"provider": "local", "model": "all-minilm-l6-v2",
                                               "inputs": {"texts": TEXTS}}, 200, 3),
    Kind("bad body: an array", "/v1/inference", ["not", "an", "object"], 422, 2, True),
    Kind("bad body: wrong types", "/v1/inference",
         {"provider": "test", "model": "echo", "inputs": {"prompts": "not a list"}, "parameters": 7}, 422, 2, True),
    Kind("unknown model", "/v1/inference", chat("no-such-model"), 400, 2, True),
    Kind("unknown model openai", "/v1/chat/completions", {"model": "nobody/nothing", "messages": [
        {"role": "user", "content": "hi"}]}, 400, 2, True),
    Kind("failing provider", "/v1/inference", chat("fail-502"), 502, 2, True),
    Kind("upstream refuses", "/v1/inference", {"provider": "emu-broken", "model": "chat",
                                               "inputs": {"prompts": ["hi"]}}, 400, 1, True),
    Kind("upstream down", "/v1/inference", {"provider": "emu-down", "model": "chat",
                                            "inputs": {"prompts": ["hi"]}}, 502, 1, True),
)
WS_KINDS = (
    Kind("stream chat", "ws", chat("echo"), 200, 8),
    Kind("stream embeddings", "ws", {"provider": "emu-d0", "model": "embed", "inputs": {"texts": TEXTS}}, 200, 2),
    Kind("stream failing provider", "ws", chat("stream-fail-502"), 502, 1, True),
    Kind("stream invalid JSON", "ws", '{"provider": "test", "model": ', 400, 1, True),
)
KINDS = {k.name: k for k in HTTP_KINDS + WS_KINDS}


@dataclass
class Tally:
    """What the client saw: outcomes per kind, the request ids it saw answered, the unexpected answers."""

    outcomes: Counter = field(default_factory=Counter)  # (kind, outcome) -> n
    answered_ids: set[str] = field(default_factory=set)
    answered: int = 0  # every HTTP response and every websocket done/error event
    unanswered: int = 0
    unexpected: int = 0
    examples: list[str] = field(default_factory=list)  # the first unexpected answers, for the report

    def note(self, kind: Kind, outcome: str, ok: bool, detail: str = "") -> None:
        self.outcomes[(kind.name, outcome)] += 1
        if not ok:
            self.unexpected += 1
            if len(self.examples) < 20:
                self.examples.append(f"{kind.name}: {outcome} {detail[:300]}")


def shape_ok(kind: Kind, status: int, body: bytes) -> bool:
    """The answer is what its route documents: the result on a 200, the error envelope otherwise."""
    try:
        data = json.loads(body)
    except ValueError:
        return False
    openai = kind.path.startswith("/v1/chat") or kind.path.startswith("/v1/embeddings")
    if status != 200:
        return isinstance(data.get("error"), dict) and (openai or data.get("success") is False)
    if kind.path == "/v1/chat/completions":
        return bool(data["choices"][0]["message"]["content"])
    if kind.path == "/v1/embeddings":
        return len(data["data"]) == len(TEXTS)
    return bool(data["data"].get("responses") or len(data["data"].get("embeddings", [])) == len(TEXTS))


async def http_client(index: int, port: int, auth: dict[str, str], rate: float, stop_at: float, run: str,
                      tally: Tally, rng: random.Random, kinds: tuple[Kind, ...] = HTTP_KINDS) -> None:
    """One keep-alive connection sending ``rate`` requests per second of the mixed kinds until ``stop_at``."""
    connection = await Connection.open(HOST, port)
    weights = [k.weight for k in kinds]
    next_at, number = time.monotonic() + rng.random() / rate, 0
    try:
        while (now := time.monotonic()) < stop_at:
            await asyncio.sleep(max(0.0, next_at - now))
            next_at += 1 / rate
            kind, number = rng.choices(kinds, weights)[0], number + 1
            request_id = f"soak-{run}-{index}-{number}"
            raw = Request(HOST, port, kind.path, kind.body, {**auth, "x-request-id": request_id}).encode()
            try:
                status, body = await asyncio.wait_for(connection.send(raw), ANSWER_TIMEOUT_S)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, RuntimeError) as error:
                tally.unanswered += 1
                tally.note(kind, type(error).__name__, False, request_id)
                await connection.close()
                connection = await Connection.open(HOST, port)
                continue
            tally.answered += 1
            tally.answered_ids.add(request_id)
            ok = status == kind.expected and shape_ok(kind, status, body)
            tally.note(kind, str(status) if shape_ok(kind, status, body) else f"{status} (bad shape)", ok,
                       body[:300].decode(errors="replace"))
    finally:
        await connection.close()


async def ws_request(ws, kind: Kind) -> tuple[str, str | None, str]:
    """Send one body; (outcome, the start event's request id, the last event) once done or error arrives."""
    await ws.send(kind.body if isinstance(kind.body, str) else json.dumps(kind.body))
    request_id, deltas = None, 0
    while True:
        event = json.loads(await ws.recv())
        if event["type"] == "start":
            request_id = event["request_id"]
        elif event["type"] == "delta":
            deltas += 1
        elif event["type"] == "done":
            return "200", request_id, ""
        elif event["type"] == "error":
            status = event["error"].get("status")
            started = "" if request_id else " (before start)"
            return f"{status}", request_id, f"{event['error']['error'].get('type')}{started}, {deltas} deltas"


async def ws_client(port: int, auth: dict[str, str], rate: float, stop_at: float, tally: Tally,
                    rng: random.Random, kinds: tuple[Kind, ...] = WS_KINDS) -> None:
    """Websocket requests at ``rate`` per second, one at a time, on a socket reopened every
    ``WS_REQUESTS_PER_SOCKET`` requests."""
    weights = [k.weight for k in kinds]
    next_at = time.monotonic() + rng.random() / rate
    while time.monotonic() < stop_at:
        async with websockets.connect(f"ws://{HOST}:{port}/v1/inference/stream", additional_headers=auth,
                                      max_size=None) as ws:
            for _ in range(WS_REQUESTS_PER_SOCKET):
                if (now := time.monotonic()) >= stop_at:
                    break
                await asyncio.sleep(max(0.0, next_at - now))
                next_at += 1 / rate
                kind = rng.choices(kinds, weights)[0]
                try:
                    outcome, request_id, detail = await asyncio.wait_for(ws_request(ws, kind), ANSWER_TIMEOUT_S)
                except (OSError, asyncio.TimeoutError, websockets.ConnectionClosed) as error:
                    tally.unanswered += 1
                    tally.note(kind, type(error).__name__, False)
                    break
                tally.answered += 1
                if request_id:
                    tally.answered_ids.add(request_id)
                # The failing stream must have started (and sent its delta) before failing; invalid JSON must not.
                started_as_expected = kind.expected == 200 or bool(request_id) == (kind.expected != 400)
                ok = outcome == str(kind.expected) and started_as_expected
                tally.note(kind, outcome, ok, detail)


class MemorySampler:
    """RSS, and its private anonymous part (heap: where a leak shows; RssAnon in /proc/<pid>/status), in MB,
    summed over each role's process tree."""

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots = roots
        self.samples: list[dict[str, Any]] = []

    def sample(self, elapsed_s: float) -> dict[str, Any]:
        row: dict[str, Any] = {"t": round(elapsed_s, 1)}
        for role, pid in self.roots.items():
            rss = anon = processes = 0
            try:
                root = psutil.Process(pid)
                tree = [root, *root.children(recursive=True)]
            except psutil.Error:
                tree = []
            for process in tree:
                try:
                    status = Path(f"/proc/{process.pid}/status").read_text()
                except OSError:
                    continue
                fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
                rss += int(fields.get("VmRSS", "0 kB").split()[0])
                anon += int(fields.get("RssAnon", "0 kB").split()[0])
                processes += 1
            row[role] = {"rss_mb": round(rss / 1024, 1), "anon_mb": round(anon / 1024, 1), "processes": processes}
        self.samples.append(row)
        return row


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """The least-squares slope of (seconds, MB) in MB per hour; 0.0 with fewer than two points."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_t, mean_y = sum(t for t, _ in points) / n, sum(y for _, y in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if not var:
        return 0.0
    return sum((t - mean_t) * (y - mean_y) for t, y in points) / var * 3600


def window_slopes(points: list[tuple[float, float]], window_s: float) -> list[float]:
    """The slope in each consecutive ``window_s`` of ``points`` (MB/hour): whether growth levels off."""
    if not points:
        return []
    start, slopes = points[0][0], []
    while start < points[-1][0]:
        inside = [point for point in points if start <= point[0] < start + window_s]
        if len(inside) >= 3:
            slopes.append(round(slope_per_hour(inside), 2))
        start += window_s
    return slopes


def trends(samples: list[dict[str, Any]], warmup_s: float, threshold: float) -> dict[str, dict[str, Any]]:
    """Per role, after the warm-up: the RSS and anonymous RSS slopes (over all of it, and per window of
    10 minutes, or a third of a shorter run), first/last/min/max RSS, and the verdict (on the anonymous
    slope over all of it)."""
    after = [s for s in samples if s["t"] >= warmup_s]
    window_s = min(600.0, (after[-1]["t"] - after[0]["t"]) / 3) if len(after) > 1 else 600.0
    out = {}
    for role in ROLES:
        rows = [(s["t"], s[role]) for s in after if role in s]
        if not rows:
            continue
        rss = [r["rss_mb"] for _, r in rows]
        anon = slope_per_hour([(t, r["anon_mb"]) for t, r in rows])
        out[role] = {"samples": len(rows), "rss_first_mb": rss[0], "rss_last_mb": rss[-1], "rss_min_mb": min(rss),
                     "rss_max_mb": max(rss),
                     "rss_slope_mb_per_hour": round(slope_per_hour([(t, r["rss_mb"]) for t, r in rows]), 2),
                     "anon_first_mb": rows[0][1]["anon_mb"], "anon_last_mb": rows[-1][1]["anon_mb"],
                     "anon_slope_mb_per_hour": round(anon, 2), "processes": sorted({r["processes"] for _, r in rows}),
                     "anon_window_minutes": round(window_s / 60, 1),
                     "anon_window_slopes": window_slopes([(t, r["anon_mb"]) for t, r in rows], window_s),
                     "stable": len(rows) >= 3 and anon < threshold}
    return out


def stack_start(port: int, emulator_port: int, folder: Path) -> dict[str, subprocess.Popen]:
    """The emulator, then the web server, Celery worker and beat with the commands of ``make run``."""
    from django.conf import settings

    from playground.devserver import _commands

    processes = {"emulator": start_emulator(emulator_port, folder / "emulator.log")}
    workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
    env = {**os.environ, "DATABASE_URL": settings.DATABASE_URL, "REDIS_URL": settings.REDIS_URL,
           "INFERGATE_TEST_PROVIDERS": "1"}
    for name, command in _commands(port, workers, str(folder)).items():
        with (folder / f"soak-{name}.log").open("w") as log:
            processes[name] = subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
                                               start_new_session=True)
    return processes


def celery_wait(process: subprocess.Popen, timeout: float = 120.0) -> None:
    """Until the Celery worker answers a ping (raises if it exits or time runs out)."""
    from playground.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Celery worker exited with code {process.returncode}")
        if app.control.ping(timeout=1.0):
            return
    raise RuntimeError(f"the Celery worker did not answer a ping within {timeout:.0f} s")


def process_roots(processes: dict[str, subprocess.Popen]) -> dict[str, int]:
    """The root pid of each role: PostgreSQL's postmaster (the parent of our backend) and Redis' own pid."""
    from django.db import connection

    from core.redis import redis_sync

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        postmaster = psutil.Process(cursor.fetchone()[0]).ppid()
    return {"gateway": processes["web"].pid, "celery worker": processes["worker"].pid,
            "celery beat": processes["beat"].pid, "postgres": postmaster,
            "redis": int(redis_sync().info("server")["process_id"])}


def tenant_prepare(run: str) -> tuple[dict[str, str], str]:
    """A key without practical limits (bench/concurrency.py's) and a namespace of this run's own."""
    from concurrency import django_setup

    secret, _ = django_setup()
    from tenancy.accounts.services import namespace_get_or_create, organization_get_or_create

    namespace = namespace_get_or_create(organization=organization_get_or_create(name="bench"), name=f"soak-{run}")
    return {"authorization": f"Bearer {secret}", "x-namespace": namespace.name}, namespace.id


async def warm_up(port: int, auth: dict[str, str], run: str, tally: Tally) -> None:
    """Each kind before the clock starts, checked; the answered ones a few times (so that both web workers
    load the local model)."""
    for kind in HTTP_KINDS + WS_KINDS:
        for attempt in range(1 if kind.injected else 4):
            if kind.path == "ws":
                async with websockets.connect(f"ws://{HOST}:{port}/v1/inference/stream",
                                              additional_headers=auth) as ws:
                    outcome, request_id, detail = await ws_request(ws, kind)
                tally.answered += 1
                tally.answered_ids |= {request_id} if request_id else set()
                tally.note(kind, outcome, outcome == str(kind.expected), detail)
            else:
                connection = await Connection.open(HOST, port)
                request_id = f"soak-{run}-warm-{kind.name.replace(' ', '-').replace(':', '')}-{attempt}"
                raw = Request(HOST, port, kind.path, kind.body, {**auth, "x-request-id": request_id}).encode()
                status, body = await connection.send(raw)
                await connection.close()
                tally.answered += 1
                tally.answered_ids.add(request_id)
                ok = status == kind.expected and shape_ok(kind, status, body)
                tally.note(kind, str(status), ok, body[:300].decode(errors="replace"))
    if tally.unexpected:
        raise RuntimeError("warm-up answers were not as expected:\n  " + "\n  ".join(tally.examples))


async def monitor(sampler: MemorySampler, processes: dict[str, subprocess.Popen], started: float, stop_at: float,
                  args: argparse.Namespace, tally: Tally) -> list[str]:
    """Memory every ``sample_seconds`` and a progress line a minute until ``stop_at``; the processes that died."""
    next_print, died = started, []
    while True:
        now = time.monotonic()
        row = sampler.sample(now - started)
        died = [f"{name} (exit code {p.returncode})" for name, p in processes.items() if p.poll() is not None]
        if now >= next_print or now >= stop_at or died:
            next_print += 60
            memory = ", ".join(f"{role} {row[role]['rss_mb']:.0f}" for role in ROLES if role in row)
            print(f"[{(now - started) / 60:5.1f} min] {tally.answered} answered, {tally.unexpected} unexpected; "
                  f"RSS MB: {memory}; load {load_average()[0]:.2f}", flush=True)
        if now >= stop_at or died:
            return died
        await asyncio.sleep(min(args.sample_seconds, max(0.0, stop_at - now)))


async def traffic(args: argparse.Namespace, port: int, auth: dict[str, str], run: str, tally: Tally,
                  sampler: MemorySampler, processes: dict[str, subprocess.Popen]) -> list[str]:
    started = time.monotonic()
    stop_at = started + args.minutes * 60
    rng = random.Random(args.seed)
    http_kinds = tuple(k for k in HTTP_KINDS if k.name not in args.skip)
    ws_kinds = tuple(k for k in WS_KINDS if k.name not in args.skip)
    clients = [http_client(i, port, auth, args.rate / args.clients, stop_at, run, tally, random.Random(rng.random()),
                           http_kinds) for i in range(args.clients if http_kinds else 0)]
    clients += [ws_client(port, auth, args.ws_rate / args.ws_clients, stop_at, tally, random.Random(rng.random()),
                          ws_kinds) for _ in range(args.ws_clients if ws_kinds else 0)]
    watch = asyncio.create_task(monitor(sampler, processes, started, stop_at, args, tally))
    load = asyncio.gather(*clients)
    done, _ = await asyncio.wait([watch, load], return_when=asyncio.FIRST_COMPLETED)
    died = watch.result() if watch in done else []
    if died:
        load.cancel()
    await asyncio.gather(load, return_exceptions=True)
    return died if died else await watch


def usage_settle(timeout: float) -> float:
    """Seconds until the usage stream is empty with nothing pending (the beat drains it every second)."""
    from core.redis import redis_sync
    from inference.usage.stream import GROUP, STREAM

    client, started = redis_sync(), time.monotonic()
    time.sleep(2.0)  # a websocket's record is written just after its done event
    while time.monotonic() - started < timeout:
        groups = {g["name"].decode() if isinstance(g["name"], bytes) else g["name"]: g
                  for g in client.xinfo_groups(STREAM)} if client.exists(STREAM) else {}
        pending = groups.get(GROUP, {}).get("pending", 0)
        if client.xlen(STREAM) == 0 and not pending:
            return round(time.monotonic() - started, 1)
        time.sleep(0.5)
    raise RuntimeError(f"the usage stream was not drained within {timeout:.0f} s")


def usage_account(namespace_id: str, tally: Tally) -> dict[str, Any]:
    """The run's usage records against the answers the client saw."""
    from django.db.models import Count

    from inference.usage.models import UsageRecord

    records = UsageRecord.objects.filter(namespace_id=namespace_id)
    stored = records.count()
    stored_ids = set(records.values_list("request_id", flat=True))
    duplicated = records.values("request_id").annotate(n=Count("id")).filter(n__gt=1).count()
    missing = sorted(tally.answered_ids - stored_ids)
    return {"answered": tally.answered, "answered_with_id": len(tally.answered_ids), "unanswered": tally.unanswered,
            "stored": stored, "missing_ids": len(missing), "missing_examples": missing[:10],
            "duplicated_ids": duplicated, "lost": max(len(missing), tally.answered - stored)}


def log_errors(folder: Path) -> dict[str, int]:
    """ERROR or CRITICAL lines and tracebacks in the web server's, worker's and beat's logs."""
    counts = {}
    for name in ("web", "worker", "beat"):
        lines = (folder / f"soak-{name}.log").read_text(errors="replace").splitlines()
        counts[name] = sum(1 for line in lines if '"level": "ERROR"' in line or '"level": "CRITICAL"' in line
                           or line.startswith("Traceback") or " ERROR/" in line or " CRITICAL/" in line)
    return counts


def outcome_rows(tally: Tally) -> list[dict[str, Any]]:
    order = {k.name: i for i, k in enumerate(HTTP_KINDS + WS_KINDS)}
    return [{"kind": name, "route": "websocket" if KINDS[name].path == "ws" else KINDS[name].path,
             "outcome": outcome, "count": n, "expected": str(KINDS[name].expected), "injected": KINDS[name].injected}
            for (name, outcome), n in sorted(tally.outcomes.items(), key=lambda item: (order[item[0][0]], item[0][1]))]



def report(result: dict[str, Any]) -> None:
    total = sum(r["count"] for r in result["outcomes"])
    injected = sum(r["count"] for r in result["outcomes"] if r["injected"])
    print(f"\nsoak {result['minutes']:g} min from {result['started_utc']}: {total} requests "
          f"({total / (result['minutes'] * 60):.1f}/s), {injected} of them injected errors; "
          f"{result['web_workers']} web workers")
    print(f"  {'kind':<26}{'route':<22}{'status':<18}{'count':>8}  expected")
    for row in result["outcomes"]:
        mark = "" if row["outcome"] == row["expected"] else "  <- UNEXPECTED"
        print(f"  {row['kind']:<26}{row['route']:<22}{row['outcome']:<18}{row['count']:>8}  {row['expected']}{mark}")
    print(f"unexpected answers (beyond the injected errors): {result['unexpected']}")
    for example in result["unexpected_examples"]:
        print(f"  {example}")
    print(f"\nmemory after a {result['warmup_minutes']:g} min warm-up, sampled every {result['sample_seconds']:g} s "
          f"(threshold: anonymous RSS slope < {result['threshold_mb_per_hour']:g} MB/hour):")
    print(f"  {'process (MB)':<15}{'procs':>6}{'RSS first':>11}{'last':>8}{'min':>8}{'max':>8}{'MB/h':>9}"
          f"{'anon first':>12}{'last':>8}{'MB/h':>9}  verdict")
    for role, t in result["memory"].items():
        procs = "/".join(str(p) for p in t["processes"])
        print(f"  {role:<15}{procs:>6}{t['rss_first_mb']:>11.1f}{t['rss_last_mb']:>8.1f}{t['rss_min_mb']:>8.1f}"
              f"{t['rss_max_mb']:>8.1f}{t['rss_slope_mb_per_hour']:>+9.2f}{t['anon_first_mb']:>12.1f}"
              f"{t['anon_last_mb']:>8.1f}{t['anon_slope_mb_per_hour']:>+9.2f}  "
              f"{'stable' if t['stable'] else 'GROWING' if t['samples'] >= 3 else 'too few samples'}")
    windows = next(iter(result["memory"].values()), {}).get("anon_window_minutes")
    if windows:
        print(f"  anonymous MB/h in each {windows:g} min after the warm-up: " + "; ".join(
            f"{role} {' '.join(f'{v:+.1f}' for v in t['anon_window_slopes'])}" for role, t in result["memory"].items()))
    usage = result["usage"]
    print(f"\nusage records: {usage['answered']} requests answered, {usage['stored']} records stored in the run's "
          f"namespace (drained {usage['drain_seconds']} s after the traffic stopped); by request id "
          f"{usage['answered_with_id'] - usage['missing_ids']} of {usage['answered_with_id']} found, "
          f"{usage['duplicated_ids']} duplicated; unanswered {usage['unanswered']}")
    print(f"lost = {usage['lost']}")
    seconds = result["minutes"] * 60
    print("CPU over the traffic: " + ", ".join(f"{role} {s:.0f} s ({s / seconds:.0%} of a core)"
                                               for role, s in result["cpu_seconds"].items()))
    print("ERROR lines / tracebacks in the servers' logs: " + ", ".join(
        f"{name} {n}" for name, n in result["log_errors"].items()))
    if result["died"]:
        print(f"processes that died: {', '.join(result['died'])}")
    if result["killed_at_stop"]:
        print(f"killed at the end, not stopped within 15 s of SIGTERM: {', '.join(result['killed_at_stop'])}")
    print(f"load average: before {result['load_average_before']}, after {result['load_average_after']}; "
          f"{result['machine']['cpus']} CPUs, {result['machine']['cpu_model']}")
    print("PASS" if result["passed"] else "FAIL")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="traffic time, warm-up included")
    parser.add_argument("--warmup-minutes", type=float, help="left out of the memory trend (default: 5, or a "
                        "sixth of --minutes when shorter)")
    parser.add_argument("--sample-seconds", type=float, help="memory sampling interval (default: 10, or "
                        "--minutes * 2 s when shorter)")
    parser.add_argument("--threshold-mb-per-hour", type=float, default=10.0,
                        help="the largest anonymous RSS slope after warm-up still judged stable, per process tree")
    parser.add_argument("--rate", type=float, default=40.0, help="HTTP requests per second, all clients")
    parser.add_argument("--clients", type=int, default=4, help="HTTP keep-alive connections")
    parser.add_argument("--ws-rate", type=float, default=4.0, help="websocket requests per second, all sockets")
    parser.add_argument("--ws-clients", type=int, default=2)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--skip", type=lambda text: {name.strip() for name in text.split(",") if name.strip()},
                        default=set(), help="kinds of request left out, comma-separated (e.g. 'embeddings local'; "
                        "for probes: which kind a growth comes with)")
    parser.add_argument("--json", type=Path, help="also write the figures and every memory sample to this file")
    args = parser.parse_args()
    if args.skip - set(KINDS):
        parser.error(f"--skip: unknown kinds {sorted(args.skip - set(KINDS))}; the kinds are {sorted(KINDS)}")
    if args.warmup_minutes is None:
        args.warmup_minutes = min(5.0, args.minutes / 6)
    if args.sample_seconds is None:
        args.sample_seconds = min(10.0, max(0.5, args.minutes * 2))
    return args


def main() -> int:
    args = arguments()
    before, started_utc = load_average(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"load average at start: {before}", flush=True)
    os.environ.setdefault("INFERGATE_DATA_DIR", str(PROJECT_DIR / ".data" / "soak"))
    folder = Path(os.environ["INFERGATE_DATA_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    port, emulator_port = free_port(), free_port()
    compatible = compatible_settings(emulator_port, [0])
    compatible["emu-broken"] = {**compatible["emu-d0"], "base_url": f"http://{HOST}:{emulator_port}/broken/v1"}
    compatible["emu-down"] = {**compatible["emu-d0"], "base_url": f"http://{HOST}:{free_port()}/v1"}  # nobody there
    os.environ["INFERGATE_OPENAI_COMPATIBLE"] = json.dumps(compatible)
    run = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    auth, namespace_id = tenant_prepare(run)
    processes: dict[str, subprocess.Popen] = {}
    tally, launched = Tally(), time.monotonic()
    try:
        processes = stack_start(port, emulator_port, folder)
        wait_http(f"http://{HOST}:{port}/healthz", processes["web"])
        celery_wait(processes["worker"])
        asyncio.run(warm_up(port, auth, run, warm := Tally()))
        sampler = MemorySampler(process_roots(processes))
        meters = {role: ProcessMeter(pid) for role, pid in sampler.roots.items()}
        cpu_before, own_cpu = {role: m.cpu_seconds() for role, m in meters.items()}, time.process_time()
        print(f"stack up and warm in {time.monotonic() - launched:.1f} s (logs in {folder}/soak-*.log); "
              f"{args.minutes:g} min of traffic, {args.rate:g} HTTP req/s "
              f"and {args.ws_rate:g} websocket req/s", flush=True)
        died = asyncio.run(traffic(args, port, auth, run, tally, sampler, processes))
        cpu = {role: round(m.cpu_seconds() - cpu_before[role], 1) for role, m in meters.items()}
        cpu["load generator"] = round(time.process_time() - own_cpu, 1)
        drain = usage_settle(DRAIN_TIMEOUT_S)
    finally:
        stopping = time.monotonic()
        with ThreadPoolExecutor(len(processes) or 1) as pool:  # SIGTERM to all at once; SIGKILL after 15 s
            list(pool.map(server_stop, processes.values()))
        killed = [name for name, p in processes.items() if p.returncode == -signal.SIGKILL]
        print(f"stack stopped in {time.monotonic() - stopping:.1f} s" + (
            f"; killed, not stopped within 15 s of SIGTERM: {', '.join(killed)}" if killed else ""), flush=True)
    tally.answered += warm.answered
    tally.answered_ids |= warm.answered_ids
    result = {"started_utc": started_utc, "minutes": args.minutes, "warmup_minutes": round(args.warmup_minutes, 2),
              "sample_seconds": round(args.sample_seconds, 1), "threshold_mb_per_hour": args.threshold_mb_per_hour,
              "rate": args.rate, "ws_rate": args.ws_rate, "web_workers": int(os.environ.get("WEB_CONCURRENCY")
                                                                               or os.cpu_count() or 1),
              "outcomes": outcome_rows(tally), "unexpected": tally.unexpected, "unexpected_examples": tally.examples,
              "memory": trends(sampler.samples, args.warmup_minutes * 60, args.threshold_mb_per_hour),
              "usage": {**usage_account(namespace_id, tally), "drain_seconds": drain}, "died": died,
              "cpu_seconds": cpu, "log_errors": log_errors(folder), "killed_at_stop": killed,
              "machine": machine(), "load_average_before": before, "load_average_after": load_average(),
              "samples": sampler.samples}
    result["passed"] = (not tally.unexpected and not died and not any(result["log_errors"].values())
                        and result["usage"]["lost"] == 0 and all(t["stable"] for t in result["memory"].values()))
    report(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
