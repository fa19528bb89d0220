"""Benchmark: do rate limits hold across processes, and what do they cost?

1. Accuracy. Two uvicorn worker processes; ``--clients`` (default 50) clients send ``test/echo`` requests
   as fast as they can for ``--seconds`` (default 120) with one key limited to ``--rpm`` (default 600).
   The limit means "at most rpm requests in any 60 s": from a fresh key, clients that never stop get
   ``rpm`` at once and ``rpm`` again every 60 s, so the ideal count is ``rpm * ceil(seconds / 60)``; the
   script prints how far the admitted count is from it. Target: within 1%.
2. Overhead. Sequential requests, alternating between a key with limits (one Redis round trip) and a key
   with none, on the same server: the difference of the p50 latencies is what the limiter adds.
   Target: under 1 ms. (Usage recording is on for both keys: it cannot be switched off per key.)

Run: ``.venv/bin/python bench/limits_usage.py [--seconds 120] [--json FILE]``; exit code 0 when both hold.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from concurrency import django_setup, free_port, server_start, server_stop, server_wait  # noqa: E402

BODY = {"provider": "test", "model": "echo", "inputs": {"prompts": ["hi"]}}


def keys(rpm: int) -> tuple[str, str, str, str]:
    """Secrets of three keys of the bench organization, and its namespace: one limited to ``rpm``, one with
    limits it never reaches (the limiter runs), one with none (the limiter is skipped)."""
    _, namespace = django_setup()
    from tenancy.accounts.services import api_key_create, organization_get_or_create

    organization = organization_get_or_create(name="bench")
    huge = 1_000_000_000
    limited = api_key_create(organization=organization, name="bench-limited", rate_limit_rpm=rpm, rate_limit_tpm=huge)
    checked = api_key_create(organization=organization, name="bench-checked", rate_limit_rpm=huge, rate_limit_tpm=huge)
    unlimited = api_key_create(organization=organization, name="bench-unlimited", rate_limit_rpm=0, rate_limit_tpm=0)
    return limited.secret, checked.secret, unlimited.secret, namespace


async def flood(base: str, headers: dict[str, str], clients: int, seconds: float) -> dict[str, int]:
    deadline = time.monotonic() + seconds
    counts: dict[str, int] = {}

    async def client() -> None:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
            while time.monotonic() < deadline:
                status = str((await http.post("/v1/inference", json=BODY)).status_code)
                counts[status] = counts.get(status, 0) + 1
                if status == "429":
                    await asyncio.sleep(0.05)  # a polite client; the limit must hold either way

    await asyncio.gather(*(client() for _ in range(clients)))
    return counts


async def overhead(base: str, limited: dict[str, str], unlimited: dict[str, str], samples: int) -> tuple[float, float]:
    timings: dict[str, list[float]] = {"on": [], "off": []}
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        for _ in range(20):
            await http.post("/v1/inference", json=BODY, headers=unlimited)
        for _ in range(samples):
            for name, headers in (("on", limited), ("off", unlimited)):
                started = time.perf_counter()
                response = await http.post("/v1/inference", json=BODY, headers=headers)
                timings[name].append(time.perf_counter() - started)
                assert response.status_code == 200, response.text
    return statistics.median(timings["on"]) * 1000, statistics.median(timings["off"]) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rpm", type=int, default=600)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    limited, checked, unlimited, namespace = keys(args.rpm)
    port = free_port()
    log = Path(__import__("os").environ["INFERGATE_DATA_DIR"]) / "uvicorn-limits.log"
    process = server_start(port, 2, log)
    base = f"http://127.0.0.1:{port}"
    try:
        server_wait(process, base)
        counts = asyncio.run(flood(base, {"Authorization": f"Bearer {limited}", "X-Namespace": namespace},
                                   args.clients, args.seconds))
        on_ms, off_ms = asyncio.run(overhead(
            base, {"Authorization": f"Bearer {checked}", "X-Namespace": namespace},
            {"Authorization": f"Bearer {unlimited}", "X-Namespace": namespace}, args.samples))
    finally:
        server_stop(process)
    ideal = args.rpm * math.ceil(args.seconds / 60)
    admitted = counts.get("200", 0)
    error = (admitted - ideal) / ideal
    figures = {"seconds": args.seconds, "clients": args.clients, "rpm": args.rpm, "web_processes": 2,
               "responses": counts, "admitted": admitted, "ideal": ideal, "error": round(error, 4),
               "p50_limits_on_ms": round(on_ms, 3), "p50_limits_off_ms": round(off_ms, 3),
               "overhead_p50_ms": round(on_ms - off_ms, 3)}
    figures["passed"] = passed = abs(error) <= 0.01 and on_ms - off_ms < 1.0 and set(counts) <= {"200", "429"}
    print(f"accuracy: {admitted} admitted of {sum(counts.values())} in {args.seconds:.0f} s by {args.clients} clients "
          f"on 2 processes; ideal {ideal:.0f} at {args.rpm} RPM: {error * 100:+.2f}% (target within 1%)\n"
          f"responses: {counts}\n"
          f"overhead: p50 {on_ms:.3f} ms with limits, {off_ms:.3f} ms without: {on_ms - off_ms:+.3f} ms "
          f"(target < 1 ms)\n" + ("PASS" if passed else "FAIL"))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
