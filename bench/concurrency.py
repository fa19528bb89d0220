"""Benchmark: is the inference path async end to end?

Starts the real ASGI app under uvicorn (one worker by default: the figure is about one process being
async, not about parallelism) with the test-only provider ``test/sleep-200ms`` (an ``asyncio.sleep(0.2)``
that costs no CPU) and measures *single*, the median of sequential requests (200 ms plus the gateway's
overhead), and *concurrent*, the wall time from first send to last response of ``--concurrency`` requests
fired at once (median of ``--rounds`` rounds). An async path keeps concurrent close to single; a path that
serialises requests takes up to ``concurrency x single``. Target: concurrent <= 5 x single, every answer a
200; exit code 0 when both hold, else 1. "load generator CPU" is what this process spent per round on the
same cores as the server. Services: an embedded PostgreSQL and Redis under ``.data/bench`` (unless
DATABASE_URL / REDIS_URL are set). Run: ``.venv/bin/python bench/concurrency.py [--json FILE]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

PROJECT_DIR = Path(__file__).resolve().parent.parent
TARGET_RATIO = 5.0
BODY = {"provider": "test", "model": "sleep-200ms", "inputs": {"prompts": ["hi"]}}


def django_setup() -> tuple[str, str]:
    """Start the embedded services (through settings), migrate, and return (secret, namespace name)."""
    os.environ.setdefault("INFERGATE_DATA_DIR", str(PROJECT_DIR / ".data" / "bench"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
    sys.path.insert(0, str(PROJECT_DIR))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from tenancy.accounts.services import api_key_create, namespace_get_or_create, organization_get_or_create

    organization = organization_get_or_create(name="bench")
    namespace = namespace_get_or_create(organization=organization, name="bench")
    # Limits stay on (one Redis round trip per request), set high enough not to refuse the bench's bursts.
    return api_key_create(organization=organization, name="bench-concurrency", rate_limit_rpm=1_000_000_000,
                          rate_limit_tpm=1_000_000_000).secret, namespace.name


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_start(port: int, workers: int, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """uvicorn in its own process group, with ``env`` over this process's environment; its output
    (tracebacks of any 500) goes to ``log``."""
    from playground.devserver import web_command

    env = {**os.environ, "INFERGATE_TEST_PROVIDERS": "1", "LOG_LEVEL": "WARNING", **(env or {})}
    command = [*web_command(port, workers), "--log-level", "warning", "--backlog", "4096",
               "--timeout-keep-alive", "75"]  # > a round: idle keep-alive connections must not be closed
    with log.open("w") as output:
        return subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdout=output, stderr=subprocess.STDOUT,
                                start_new_session=True)


def server_stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def server_wait(process: subprocess.Popen, base_url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited with code {process.returncode} before answering /healthz")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"uvicorn did not answer /healthz within {timeout:.0f} s")


async def timed_post(client: httpx.AsyncClient) -> tuple[float, str]:
    """Seconds taken and the outcome: the status code, or the exception's name when there was no answer."""
    started = time.perf_counter()
    try:
        outcome = str((await client.post("/v1/inference", json=BODY)).status_code)
    except httpx.HTTPError as error:
        outcome = type(error).__name__
    return time.perf_counter() - started, outcome


def thread_count(pid: int) -> int:
    """Threads of the server process and its children (the uvicorn workers), from /proc."""
    total = 0
    for candidate in [pid, *_children(pid)]:
        try:
            status = Path(f"/proc/{candidate}/status").read_text()
        except OSError:
            continue
        total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:")))
    return total


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


async def thread_peak(pid: int, peak: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], thread_count(pid))
        await asyncio.sleep(0.01)


async def measure(base_url: str, headers: dict[str, str], args: argparse.Namespace, server_pid: int) -> dict:
    # One client (one keep-alive connection) per concurrent request, connected before the clock starts: one
    # httpx pool of 200 connections spends 1-3 s of CPU per burst itself (encode/httpx#3215), on the same 2 cores.
    tls = ssl.create_default_context()  # shared: otherwise httpx builds one per client (plain HTTP needs none)
    clients = [httpx.AsyncClient(base_url=base_url, headers=headers, timeout=120.0, verify=tls)
               for _ in range(args.concurrency)]
    try:
        await asyncio.gather(*(client.get("/healthz") for client in clients))
        for _ in range(args.warmup):
            if (status := (await timed_post(clients[0]))[1]) != "200":
                raise RuntimeError(f"warm-up request answered {status}")
        singles = [await timed_post(clients[0]) for _ in range(args.single)]
        threads_idle = thread_count(server_pid)
        peak, stop = [threads_idle], asyncio.Event()
        sampler = asyncio.create_task(thread_peak(server_pid, peak, stop))
        rounds: list[float] = []
        outcomes: Counter[str] = Counter()
        client_cpu = time.process_time()
        for _ in range(args.rounds):
            started = time.perf_counter()
            results = await asyncio.gather(*(timed_post(client) for client in clients))
            rounds.append(time.perf_counter() - started)
            outcomes.update(outcome for _, outcome in results)
        client_cpu = time.process_time() - client_cpu
        stop.set()
        await sampler
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))
    single_ms, concurrent_ms = statistics.median(t for t, _ in singles) * 1000, statistics.median(rounds) * 1000
    return {
        "workers": args.workers, "concurrency": args.concurrency, "rounds": args.rounds,
        "single_median_ms": round(single_ms, 1), "concurrent_median_ms": round(concurrent_ms, 1),
        "concurrent_min_ms": round(min(rounds) * 1000, 1), "concurrent_max_ms": round(max(rounds) * 1000, 1),
        "client_cpu_ms_per_round": round(client_cpu / args.rounds * 1000, 1),
        "ratio": round(concurrent_ms / single_ms, 2), "target_ratio": TARGET_RATIO,
        "single_non_200": sum(1 for _, outcome in singles if outcome != "200"),
        "concurrent_non_200": sum(n for outcome, n in outcomes.items() if outcome != "200"),
        "concurrent_outcomes": dict(outcomes),
        "server_threads_idle": threads_idle, "server_threads_peak": peak[0],
    }


def report(figures: dict) -> bool:
    figures["failures"] = failures = figures["single_non_200"] + figures["concurrent_non_200"]
    figures["passed"] = passed = figures["ratio"] <= TARGET_RATIO and not failures
    others = {k: v for k, v in figures["concurrent_outcomes"].items() if k != "200"}
    print(f"workers:            {figures['workers']}\n"
          f"single request:     {figures['single_median_ms']:.1f} ms (median of sequential requests)\n"
          f"{figures['concurrency']} concurrent:     {figures['concurrent_median_ms']:.1f} ms wall clock "
          f"(median of {figures['rounds']} rounds; min {figures['concurrent_min_ms']:.1f}, "
          f"max {figures['concurrent_max_ms']:.1f}; load generator CPU "
          f"{figures['client_cpu_ms_per_round']:.0f} ms/round)\n"
          f"ratio:              {figures['ratio']:.2f}x (target <= {TARGET_RATIO:.0f}x)\n"
          f"server threads:     {figures['server_threads_idle']} idle, {figures['server_threads_peak']} at peak "
          f"during the bursts\n"
          f"non-200 responses:  {failures}" + (f" (concurrent: {others})" if others else "") + "\n"
          + ("PASS" if passed else "FAIL"))
    return passed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--single", type=int, default=10, help="sequential requests for the single figure")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures to this file as JSON")
    args = parser.parse_args()

    secret, namespace = django_setup()
    base_url = f"http://127.0.0.1:{(port := free_port())}"
    log = Path(os.environ["INFERGATE_DATA_DIR"]) / "uvicorn.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    process = server_start(port, args.workers, log)
    try:
        server_wait(process, base_url)
        headers = {"Authorization": f"Bearer {secret}", "X-Namespace": namespace}
        figures = asyncio.run(measure(base_url, headers, args, process.pid))
    finally:
        server_stop(process)
    passed = report(figures)
    if figures["failures"]:
        print(f"server log: {log}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
