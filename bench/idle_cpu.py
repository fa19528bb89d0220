"""Benchmark: what a gateway spends doing nothing. Starts the real ASGI app under uvicorn (``--workers``, one by
default), sends it ``--warm`` requests so that everything a request touches is loaded and every timer a request
starts is running (refresh-ahead caches, connection pools, the usage writer), then sends nothing for ``--seconds``
(60 by default) and measures the CPU its processes spent meanwhile (user + system, /proc), as a share of one core.
Target: under 1% of a core. The process's own threads show where it goes (``--threads``: CPU per thread name).

Run: ``.venv/bin/python bench/idle_cpu.py [--seconds 60] [--workers 1] [--json FILE]``. Services: an embedded
PostgreSQL and Redis under ``.data/bench`` (unless DATABASE_URL / REDIS_URL are set); no Celery worker (its own
idle cost is not the gateway's).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ProcessMeter, load_average, machine  # noqa: E402
from concurrency import django_setup, free_port, server_start, server_stop, server_wait  # noqa: E402

TARGET_CORE_SHARE = 0.01
BODY = {"provider": "test", "model": "echo", "inputs": {"prompts": ["hello there"]}}


def task_cpu(pids: list[int]) -> list[tuple[int, int, str, float]]:
    """(pid, thread id, thread name, CPU seconds) of every thread of the processes, from /proc/<pid>/task/*/stat."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = []
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                name, rest = (task / "stat").read_text().rsplit(")", 1)
                fields = rest.split()
                found.append((pid, int(task.name), name.split("(", 1)[1], (int(fields[11]) + int(fields[12])) / ticks))
            except (OSError, ValueError, IndexError):
                continue
    return found


def thread_cpu(pids: list[int]) -> dict[str, float]:
    """CPU seconds by thread name (comm) over the processes."""
    found: dict[str, float] = {}
    for _, _, comm, seconds in task_cpu(pids):
        found[comm] = found.get(comm, 0.0) + seconds
    return found


def idle_window(meters: dict[str, ProcessMeter], seconds: float) -> dict[str, dict]:
    """Each process tree's CPU over ``seconds`` of no traffic (after 2 s for what the last request left to
    finish: its usage record, a refresh), as a share of one core, and by thread name."""
    time.sleep(2.0)
    pids = {name: meter._pids() for name, meter in meters.items()}
    before = {name: (meter.cpu_seconds(), thread_cpu(pids[name])) for name, meter in meters.items()}
    started = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    out = {}
    for name, meter in meters.items():
        cpu, threads = meter.cpu_seconds() - before[name][0], thread_cpu(pids[name])
        by_thread = {t: round(threads[t] - before[name][1].get(t, 0.0), 3) for t in threads
                     if threads[t] - before[name][1].get(t, 0.0) > 0}
        out[name] = {"idle_seconds": round(elapsed, 1), "cpu_seconds": round(cpu, 3),
                     "core_share": round(cpu / elapsed, 5), "by_thread": by_thread}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--warm", type=int, default=200, help="requests sent before the idle window")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    secret, namespace = django_setup()
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="idle-cpu-"))
    process = server_start(port, args.workers, folder / "uvicorn.log")
    base = f"http://127.0.0.1:{port}"
    try:
        server_wait(process, base)
        headers = {"Authorization": f"Bearer {secret}", "X-Namespace": namespace}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            statuses = [client.post("/v1/inference", json=BODY).status_code for _ in range(args.warm)]
        load_before = load_average()
        idle = idle_window({"gateway": ProcessMeter(process.pid)}, args.seconds)["gateway"]
    finally:
        server_stop(process)
    share, by_thread = idle["core_share"], idle["by_thread"]
    result = {"machine": machine(), "workers": args.workers, "warm_requests": args.warm,
              "warm_statuses": {str(s): statuses.count(s) for s in set(statuses)}, **idle,
              "load_average_before": load_before, "target_core_share": TARGET_CORE_SHARE,
              "met": share < TARGET_CORE_SHARE}
    print(f"gateway ({args.workers} worker{'s' if args.workers > 1 else ''}) idle for {idle['idle_seconds']} s after "
          f"{args.warm} requests {result['warm_statuses']}: {idle['cpu_seconds']:.3f} CPU s = {share * 100:.3f}% of "
          f"a core (target under {TARGET_CORE_SHARE * 100:g}%: {'met' if result['met'] else 'MISSED'}); "
          f"load average before {load_before[0]:.2f}")
    print("  by thread: " + (", ".join(f"{k} {v} s" for k, v in sorted(by_thread.items(), key=lambda kv: -kv[1]))
                             or "nothing measurable"))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    return 0 if result["met"] and set(statuses) == {200} else 1


if __name__ == "__main__":
    sys.exit(main())
