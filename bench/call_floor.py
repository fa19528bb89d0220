"""Benchmark: the CPU floor of each layer a gateway request goes through, measured one layer at a time in this
process against the upstream emulator (bench/_emulator.py, its own process) and the Redis the gateway uses.

Per call, at ``--concurrency`` (16) calls in flight, after a warm-up: the openai SDK's ``post`` (as the adapters call
it: the body as built, the answer read as JSON) over each HTTP client that can sit under it (the lean transport,
httpx's own, and the SDK's aiohttp backend when its extra is installed); the same request through httpx2 alone over
the lean transport (no SDK); the lean transport's own ``handle_async_request`` (no httpx client either); and one Redis
command (XADD of a usage-record-sized entry, as each request's usage record is). What the SDK costs is the first
figure minus the second: the floor a gateway that calls providers through their official SDK cannot go under.

Run: ``.venv/bin/python bench/call_floor.py [--calls 4000] [--concurrency 16] [--json FILE]``. Services: the
embedded Redis under ``.data/bench`` (unless REDIS_URL is set). It measures this process's CPU (time.process_time),
so the emulator's and Redis's own work is not in the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Awaitable, Callable

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(BENCH_DIR.parent))
from _common import load_average, machine, start_emulator  # noqa: E402
from concurrency import django_setup, free_port  # noqa: E402

BODY = {"model": "chat", "messages": [{"role": "user", "content": "Say hello in five words."}], "max_tokens": 16}


async def per_call(call: Callable[[], Awaitable[object]], calls: int, concurrency: int) -> dict:
    """CPU and wall time per call of ``call``, ``concurrency`` at a time, after a warm-up of 20 per worker."""

    async def worker(count: int) -> None:
        for _ in range(count):
            await call()

    await asyncio.gather(*(worker(20) for _ in range(concurrency)))
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(calls // concurrency) for _ in range(concurrency)))
    n = calls // concurrency * concurrency
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"calls": n, "cpu_us_per_call": round(cpu / n * 1e6, 1), "calls_per_s": round(n / wall)}


def sdk_client(base_url: str, backend: str):
    import openai

    from inference.providers.lean_http import LeanTransport

    http_client = {"lean": lambda: openai.DefaultAsyncHttpxClient(transport=LeanTransport()),
                   "aiohttp": openai.DefaultAioHttpClient, "httpx": lambda: None}[backend]()
    return openai.AsyncOpenAI(api_key="sk-bench", base_url=base_url, max_retries=0, http_client=http_client)


async def measure(port: int, args: argparse.Namespace) -> dict[str, dict]:
    import httpx2

    from core.redis import redis_async
    from inference.providers.lean_http import LeanTransport

    base = f"http://127.0.0.1:{port}/d0/v1"
    out: dict[str, dict] = {}
    backends = ["lean", "httpx"]
    try:
        import aiohttp  # noqa: F401 - the SDK's aiohttp extra

        backends.insert(1, "aiohttp")
    except ImportError:
        print("(the SDK's aiohttp backend is left out: pip install 'openai[aiohttp]==3.54.0' to measure it)")
    for backend in backends:
        client = sdk_client(base, backend)
        out[f"openai SDK post, {backend}"] = await per_call(
            lambda client=client: client.post("/chat/completions", body=BODY, cast_to=object), args.calls,
            args.concurrency)
        await client.close()
    payload = json.dumps(BODY).encode()
    headers = {"content-type": "application/json", "authorization": "Bearer sk-bench"}
    async with httpx2.AsyncClient(transport=LeanTransport()) as http:
        async def plain() -> object:
            return (await http.post(f"{base}/chat/completions", content=payload, headers=headers)).json()

        out["httpx2 post, lean (no SDK)"] = await per_call(plain, args.calls, args.concurrency)
    transport = LeanTransport()
    request = httpx2.Request("POST", f"{base}/chat/completions", content=payload, headers=headers)

    async def bare() -> object:
        response = await transport.handle_async_request(request)
        body = b"".join([part async for part in response.stream])
        await response.aclose()
        return json.loads(body)

    out["lean transport alone (no client)"] = await per_call(bare, args.calls, args.concurrency)
    await transport.aclose()
    redis = redis_async()
    entry = {"e": "x" * 700}  # a usage record's JSON is about this long
    out["Redis XADD"] = await per_call(lambda: redis.xadd("infergate:bench:floor", entry, maxlen=1000,
                                                          approximate=True), args.calls, args.concurrency)
    await redis.delete("infergate:bench:floor")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("INFERGATE_DATA_DIR", str(BENCH_DIR.parent / ".data" / "bench"))
    folder = Path(os.environ["INFERGATE_DATA_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    django_setup()
    import uvloop

    port = free_port()
    emulator = start_emulator(port, folder / "emulator-floor.log")
    load = load_average()
    try:
        figures = uvloop.run(measure(port, args))
    finally:
        emulator.terminate()
    print(f"{args.concurrency} calls in flight, {args.calls} calls each, this process's CPU (load average before "
          f"{load[0]:.2f}):")
    for name, f in figures.items():
        print(f"  {name:<36}{f['cpu_us_per_call']:>8.1f} us CPU per call {f['calls_per_s']:>8} calls/s")
    sdk, plain = figures["openai SDK post, lean"], figures["httpx2 post, lean (no SDK)"]
    print(f"the SDK's own part over the lean transport: {sdk['cpu_us_per_call'] - plain['cpu_us_per_call']:.1f} us "
          "per call")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": machine(), "load_average_before": load,
                                         "concurrency": args.concurrency, "figures": figures}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
