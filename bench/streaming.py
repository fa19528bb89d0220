"""Benchmark: streaming through the gateway's websocket against llama.cpp called directly.

1. Time to first token (TTFT). The same greedy chat request, alternately (a) through
   ws://.../v1/inference/stream on the real ASGI app under uvicorn (auth, namespace, usage on), and
   (b) straight through llama-cpp-python loaded in this script, stream=True. The gateway's overhead is
   the difference of the p50s. Target: under 20 ms.
2. Fairness. ``--streams`` websockets (default 100) each send one request at once; every stream must
   finish, and the p50/p99 TTFT show whether any starved. llama.cpp runs one generation at a time per
   process, so TTFTs spread over the burst; the figure that matters is that all complete, in order of
   arrival, with no errors.

Services: embedded PostgreSQL and Redis under ``.data/bench`` (shared with bench/concurrency.py).
Run: ``.venv/bin/python bench/streaming.py [--json FILE]``; exit code 0 when both targets hold.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from concurrency import django_setup, free_port, server_start, server_stop, server_wait  # noqa: E402

OVERHEAD_TARGET_MS = 20.0
PROMPT = "Request {}: name three colours of the rainbow."


def body(number: int) -> dict:
    """A prompt of its own per request, so that neither side answers from llama.cpp's prompt cache."""
    return {"provider": "local", "model": "smollm2-135m-instruct", "inputs": {"prompts": [PROMPT.format(number)]},
            "parameters": {"temperature": 0, "max_tokens": 16}}


def direct_model():
    from inference.providers.local.chat import _load

    return _load()


def direct_ttft(model, number: int) -> float:
    started = time.perf_counter()
    chunks = model.create_chat_completion(messages=[{"role": "user", "content": PROMPT.format(number)}], temperature=0,
                                          max_tokens=16, stream=True)
    try:
        for chunk in chunks:
            if chunk["choices"][0]["delta"].get("content"):
                return time.perf_counter() - started
    finally:
        chunks.close()
    raise RuntimeError("no token")


async def gateway_stream(ws, number: int) -> tuple[float, float, str]:
    """TTFT, total time and the last event type of one request on an open socket."""
    started = time.perf_counter()
    await ws.send(json.dumps(body(number)))
    first = None
    while True:
        event = json.loads(await ws.recv())
        if event["type"] == "delta" and first is None:
            first = time.perf_counter() - started
        if event["type"] in ("done", "error"):
            return (first if first is not None else float("nan")), time.perf_counter() - started, event["type"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def measure(url: str, headers: dict[str, str], args: argparse.Namespace) -> dict:
    model = direct_model()
    direct, gateway = [], []
    async with websockets.connect(url, additional_headers=headers, max_size=None) as ws:
        for number in range(3):  # warm-up: both sides load the model
            direct_ttft(model, number)
            await gateway_stream(ws, number)
        for number in range(3, 3 + args.samples):
            direct.append(direct_ttft(model, number))
            ttft, _, kind = await gateway_stream(ws, number)
            assert kind == "done", kind
            gateway.append(ttft)
    del model

    sockets = [await websockets.connect(url, additional_headers=headers, max_size=None) for _ in range(args.streams)]
    try:
        started = time.perf_counter()
        results = await asyncio.gather(*(gateway_stream(ws, 1000 + i) for i, ws in enumerate(sockets)))
        burst_s = time.perf_counter() - started
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets))
    ttfts = [r[0] for r in results]
    completed = sum(1 for r in results if r[2] == "done")
    direct_p50, gateway_p50 = statistics.median(direct) * 1000, statistics.median(gateway) * 1000
    return {
        "samples": args.samples, "direct_ttft_p50_ms": round(direct_p50, 2),
        "gateway_ttft_p50_ms": round(gateway_p50, 2), "overhead_p50_ms": round(gateway_p50 - direct_p50, 2),
        "overhead_target_ms": OVERHEAD_TARGET_MS, "streams": args.streams, "streams_completed": completed,
        "burst_wall_s": round(burst_s, 2), "burst_ttft_p50_ms": round(percentile(ttfts, 0.5) * 1000, 1),
        "burst_ttft_p99_ms": round(percentile(ttfts, 0.99) * 1000, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    secret, namespace = django_setup()
    port = free_port()
    log = Path(__import__("os").environ["INFERGATE_DATA_DIR"]) / "uvicorn-streaming.log"
    process = server_start(port, 1, log)
    try:
        server_wait(process, f"http://127.0.0.1:{port}")
        figures = asyncio.run(measure(f"ws://127.0.0.1:{port}/v1/inference/stream",
                                      {"Authorization": f"Bearer {secret}", "X-Namespace": namespace}, args))
    finally:
        server_stop(process)
    passed = figures["overhead_p50_ms"] < OVERHEAD_TARGET_MS and figures["streams_completed"] == args.streams
    print(f"time to first token, p50 of {args.samples}: direct llama.cpp {figures['direct_ttft_p50_ms']:.1f} ms, "
          f"through the websocket {figures['gateway_ttft_p50_ms']:.1f} ms\n"
          f"gateway overhead:   {figures['overhead_p50_ms']:.1f} ms (target < {OVERHEAD_TARGET_MS:.0f} ms)\n"
          f"{args.streams} concurrent streams: {figures['streams_completed']} completed in "
          f"{figures['burst_wall_s']:.1f} s; TTFT p50 {figures['burst_ttft_p50_ms']:.0f} ms, "
          f"p99 {figures['burst_ttft_p99_ms']:.0f} ms\n" + ("PASS" if passed else "FAIL"))
    figures["passed"] = passed
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
