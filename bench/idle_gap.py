"""Benchmark: why the gateway adds more at concurrency 1 when the upstream is slow: the upstream's wait, or the gateway
process sitting idle between its bursts of work?

One Infergate server (one uvicorn worker) in front of the upstream emulator (bench/_emulator.py); one keep-alive
connection sends requests one after another, in three patterns: back to back with a 0 ms upstream; a 0 ms upstream
with ``--pause-ms`` (50) of nothing between requests; back to back with a 50 ms upstream. Direct requests to the
emulator in the same pattern are the reference. Per pattern it prints the latency added over direct (p50, p99) and the
gateway's CPU per request, split into its event-loop thread and all other threads (/proc, per thread).

If the pause alone costs what the slow upstream costs, the figure is the price of an idle CPU (caches and branch
predictors gone cold while the vCPU slept), not of anything the gateway does while it waits.

Run: ``.venv/bin/python bench/idle_gap.py [--requests 300] [--pause-ms 50] [--json FILE]``. Services: an embedded
PostgreSQL and Redis under ``.data/bench`` (unless DATABASE_URL / REDIS_URL / INFERGATE_DATA_DIR are set).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
from _common import Connection, ProcessMeter, load_average, machine, percentile, start_emulator  # noqa: E402
from concurrency import django_setup, free_port, server_start, server_stop, server_wait  # noqa: E402
from gateway import compatible_settings, requests_for  # noqa: E402
from idle_cpu import task_cpu  # noqa: E402


async def sequence(port: int, raw: bytes, count: int, pause_s: float) -> list[float]:
    connection = await Connection.open("127.0.0.1", port)
    latencies = []
    try:
        for _ in range(count):
            if pause_s:
                await asyncio.sleep(pause_s)
            started = time.perf_counter()
            status, body = await connection.send(raw)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                raise RuntimeError(f"status {status}: {body[:300]!r}")
    finally:
        await connection.close()
    return latencies


def loop_and_other_cpu(pids: list[int]) -> tuple[float, float]:
    """CPU seconds of the processes' main threads (a uvicorn worker's event loop) and of all their other threads."""
    main = others = 0.0
    for pid, tid, _, seconds in task_cpu(pids):
        if tid == pid:
            main += seconds
        else:
            others += seconds
    return main, others


async def measure(args: argparse.Namespace, emulator_port: int, gateway_port: int, meter: ProcessMeter,
                  auth: dict[str, str]) -> list[dict]:
    through = requests_for("infergate", gateway_port, [0, 50], auth)
    direct = requests_for("direct", emulator_port, [0, 50], {})
    rows = []
    pause = args.pause_ms / 1000
    for name, key, pause_s in (("back to back, 0 ms upstream", "chat/0", 0.0),
                               (f"{args.pause_ms} ms pauses, 0 ms upstream", "chat/0", pause),
                               ("back to back, 50 ms upstream", "chat/50", 0.0)):
        await sequence(gateway_port, through[key].encode(), 30, 0.0)  # warm
        reference = await sequence(emulator_port, direct[key].encode(), args.requests, pause_s)
        pids = meter._pids()
        before = loop_and_other_cpu(pids)
        measured = await sequence(gateway_port, through[key].encode(), args.requests, pause_s)
        after = loop_and_other_cpu(pids)
        loop, others = after[0] - before[0], after[1] - before[1]
        n = args.requests
        rows.append({"pattern": name, "requests": n,
                     "added_p50_ms": round((percentile(measured, 50) - percentile(reference, 50)) * 1000, 3),
                     "added_p99_ms": round((percentile(measured, 99) - percentile(reference, 99)) * 1000, 3),
                     "cpu_ms_per_request": round((loop + others) / n * 1000, 3),
                     "loop_thread_cpu_ms_per_request": round(loop / n * 1000, 3),
                     "other_threads_cpu_ms_per_request": round(others / n * 1000, 3)})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--pause-ms", type=int, default=50)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    emulator_port, gateway_port = free_port(), free_port()
    os.environ["INFERGATE_OPENAI_COMPATIBLE"] = json.dumps(compatible_settings(emulator_port, [0, 50]))
    os.environ.setdefault("INFERGATE_DATA_DIR", str(BENCH_DIR.parent / ".data" / "bench"))
    folder = Path(os.environ["INFERGATE_DATA_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    secret, namespace = django_setup()
    emulator = start_emulator(emulator_port, folder / "emulator-gap.log")
    gateway = server_start(gateway_port, 1, folder / "uvicorn-gap.log")
    load = load_average()
    try:
        server_wait(gateway, f"http://127.0.0.1:{gateway_port}")
        rows = asyncio.run(measure(args, emulator_port, gateway_port, ProcessMeter(gateway.pid),
                                   {"authorization": f"Bearer {secret}", "x-namespace": namespace}))
    finally:
        server_stop(gateway)
        emulator.terminate()
    print(f"one connection, {args.requests} requests per pattern, chat (load average before {load[0]:.2f}); "
          "CPU is per request, in ms")
    print(f"  {'pattern':<32}{'+p50':>8}{'+p99':>8}{'CPU':>8}{'loop':>8}{'others':>8}")
    for r in rows:
        print(f"  {r['pattern']:<32}{r['added_p50_ms']:>8.2f}{r['added_p99_ms']:>8.2f}{r['cpu_ms_per_request']:>8.2f}"
              f"{r['loop_thread_cpu_ms_per_request']:>8.2f}{r['other_threads_cpu_ms_per_request']:>8.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": machine(), "load_average_before": load, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
