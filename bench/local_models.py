"""Benchmark: how much of a local model's speed Infergate keeps.

The same runtimes, measured in the same run: the local embedder (all-MiniLM-L6-v2, int8 ONNX,
inference/providers/local/embedder.py) in texts/s at batch 1, 16 and 64, and SmolLM2-135M-Instruct through
llama.cpp (inference/providers/local/chat.py) in generated tokens/s; each called directly in this process
with the code the provider uses, and through Infergate (``POST /v1/inference`` on one uvicorn worker, auth,
limits and usage on), one request at a time, in alternating rounds. Chat is greedy (temperature 0, a fixed
seed) with a fixed ``max_tokens``, so both paths generate the same tokens. Target: the gateway keeps at least
90% of the direct figure. Run: ``.venv/bin/python bench/local_models.py [--json FILE]``; exit code 0 when the
target holds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
from _common import Connection, ProcessMeter, Request, load_average, machine, wait_http  # noqa: E402
from concurrency import django_setup, free_port, server_start, server_stop  # noqa: E402

TARGET_KEPT = 0.90
SENTENCE = "Infergate routes each request to the model that should answer it, and records what it cost."
PROMPT = "Write a short paragraph about the sea."


def texts(batch: int) -> list[str]:
    return [f"{SENTENCE} (sentence {i})" for i in range(batch)]


class Direct:
    """The runtimes as the providers build and call them, in this process."""

    def __init__(self) -> None:
        from inference.providers.local.chat import _complete, _load
        from inference.providers.local.embedder import _Model

        self.embedder, self.llama, self._complete = _Model(), _load(), _complete
        # Each model on a thread of its own, as the provider's ModelRunner runs it: llama.cpp's OpenMP team
        # belongs to the calling thread, and teams left spinning on other threads halved its speed here.
        self.threads = {"embed": ThreadPoolExecutor(max_workers=1), "chat": ThreadPoolExecutor(max_workers=1)}

    def embed(self, batch: list[str]) -> int:
        vectors, _ = self.embedder.embed(batch)
        return len(vectors)

    def chat(self, max_tokens: int) -> int:
        from inference.types import Message

        completion = self._complete(self.llama, (Message(role="user", content=PROMPT),),
                                    {"max_tokens": max_tokens, "temperature": 0.0, "seed": 7})
        return completion["usage"]["completion_tokens"]


class Gateway:
    def __init__(self, port: int, auth: dict[str, str]) -> None:
        self.port, self.auth = port, auth

    async def open(self) -> None:
        self.connection = await Connection.open("127.0.0.1", self.port)

    async def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        status, answer = await self.connection.send(Request("127.0.0.1", self.port, "/v1/inference", body,
                                                            self.auth).encode())
        if status != 200:
            raise RuntimeError(f"Infergate answered {status}: {answer[:300]!r}")
        return json.loads(answer)

    async def embed(self, batch: list[str]) -> int:
        answer = await self._post({"provider": "local", "model": "all-minilm-l6-v2", "inputs": {"texts": batch}})
        data = answer["data"]
        return len(data["embeddings"]) if "embeddings" in data else 1

    async def chat(self, max_tokens: int) -> int:
        answer = await self._post({"provider": "local", "model": "smollm2-135m-instruct",
                                   "inputs": {"prompts": [PROMPT]},
                                   "parameters": {"max_tokens": max_tokens, "temperature": 0.0, "seed": 7}})
        return answer["tokens_used"]["completion"]


async def rounds(direct_call, gateway_call, repeats: int, rounds_: int,
                 thread: ThreadPoolExecutor) -> dict[str, dict[str, float]]:
    """Units (texts or tokens) per second of each path over ``rounds_`` alternating rounds of ``repeats``
    calls; the direct call runs on the model's own thread (as the provider runs it)."""
    totals = {"direct": [0, 0.0], "gateway": [0, 0.0]}
    loop = asyncio.get_running_loop()
    for r in range(rounds_):
        order = ("direct", "gateway") if r % 2 == 0 else ("gateway", "direct")
        for name in order:
            started = time.perf_counter()
            for _ in range(repeats):
                units = (await loop.run_in_executor(thread, direct_call)) if name == "direct" else await gateway_call()
                totals[name][0] += units
            totals[name][1] += time.perf_counter() - started
    out = {name: {"units": units, "seconds": round(seconds, 3), "per_second": round(units / seconds, 1)}
           for name, (units, seconds) in totals.items()}
    out["kept"] = round(out["gateway"]["per_second"] / out["direct"]["per_second"], 3)
    return out


async def measure(direct: Direct, gateway: Gateway, args: argparse.Namespace) -> dict[str, Any]:
    await gateway.open()
    await gateway.embed(texts(2))  # loads the models in the server
    await gateway.chat(4)
    loop = asyncio.get_running_loop()  # and the same warm-up here, on the threads the models run on
    await loop.run_in_executor(direct.threads["embed"], direct.embed, texts(2))
    await loop.run_in_executor(direct.threads["chat"], direct.chat, 4)
    figures: dict[str, Any] = {"embeddings": {}, "chat": {}}
    for batch in args.batches:
        batch_texts = texts(batch)
        repeats = max(2, args.embed_texts // batch)
        row = await rounds(lambda: direct.embed(batch_texts), lambda: gateway.embed(batch_texts), repeats,
                           args.rounds, direct.threads["embed"])
        row["load_average"] = load_average()
        figures["embeddings"][str(batch)] = row
        print(f"embeddings batch {batch:>3}: direct {row['direct']['per_second']:8.1f} texts/s, through Infergate "
              f"{row['gateway']['per_second']:8.1f} texts/s: {row['kept'] * 100:5.1f}% kept "
              f"(load average {row['load_average'][0]:.2f})", flush=True)
    row = await rounds(lambda: direct.chat(args.max_tokens), lambda: gateway.chat(args.max_tokens),
                       args.chat_requests, args.rounds, direct.threads["chat"])
    row["load_average"] = load_average()
    row["max_tokens"] = args.max_tokens
    figures["chat"] = row
    print(f"chat (SmolLM2, {args.max_tokens} tokens): direct {row['direct']['per_second']:6.1f} tokens/s, through "
          f"Infergate {row['gateway']['per_second']:6.1f} tokens/s: {row['kept'] * 100:5.1f}% kept "
          f"(load average {row['load_average'][0]:.2f})", flush=True)
    await gateway.connection.close()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default="1,16,64")
    parser.add_argument("--embed-texts", type=int, default=640, help="texts per path per round and batch size")
    parser.add_argument("--chat-requests", type=int, default=3, help="chat requests per path per round")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    args.batches = [int(b) for b in args.batches.split(",")]

    before = load_average()
    print(f"load average at start: {before}", flush=True)
    os.environ.setdefault("INFERGATE_DATA_DIR", str(PROJECT_DIR / ".data" / "bench"))
    secret, namespace = django_setup()
    port = free_port()
    process = server_start(port, 1, Path(os.environ["INFERGATE_DATA_DIR"]) / "uvicorn-local-models.log")
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", process)
        direct = Direct()
        gateway = Gateway(port, {"authorization": f"Bearer {secret}", "x-namespace": namespace})
        figures = asyncio.run(measure(direct, gateway, args))
        figures["infergate_peak_rss_mb"] = ProcessMeter(process.pid).peak_rss_mb()
    finally:
        server_stop(process)
    rows = [*figures["embeddings"].values(), figures["chat"]]
    figures.update({"machine": machine(), "load_average_before": before, "load_average_after": load_average(),
                    "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "target_kept": TARGET_KEPT,
                    "passed": all(row["kept"] >= TARGET_KEPT for row in rows)})
    print(f"load average: before {before}, after {figures['load_average_after']}; {figures['machine']['cpus']} CPUs, "
          f"{figures['machine']['cpu_model']}\n" + ("PASS" if figures["passed"] else "FAIL")
          + f" (target: the gateway keeps >= {TARGET_KEPT:.0%} of the direct figure)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if figures["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
