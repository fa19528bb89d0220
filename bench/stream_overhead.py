"""Benchmark: what the gateway adds to streamed answers, and whether any stream stalls under load.

The upstream emulator (bench/_emulator.py) streams OpenAI chat chunks: ``--tokens`` tokens, one every
``--interval-ms``, each token's text carrying the moment the emulator sent it. ``--streams`` (100 and 500 by default)
streams are opened at once, first straight to the emulator (*direct*: the reference, which includes this client's
own cost), then through Infergate's ``POST /v1/inference/stream`` (Server-Sent Events; one uvicorn worker by default,
``--workers``), every token's arrival timed against its send stamp (one machine, one clock). Per path and count it
prints: streams completed, time to first token p50/p99, per-token latency (arrival - send) p50/p99, and stalls (a gap
between two tokens of one stream more than 1 s beyond the emulator's interval); then what the gateway added
(its figure minus direct's). Targets: 0 stalled streams at 500 and added per-token p99 <= 1 ms.

Run: ``.venv/bin/python bench/stream_overhead.py [--streams 100,500] [--tokens 50] [--interval-ms 20]
[--json FILE]``. Services: an embedded PostgreSQL and Redis under ``.data/bench`` (unless DATABASE_URL /
REDIS_URL are set). The load generator shares the machine's cores with everything else: its own lag is in *direct*
too, which is why the added figures are differences.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ProcessMeter, load_average, machine, percentile, profile_start, start_emulator  # noqa: E402
from concurrency import django_setup, free_port, server_start, server_stop, server_wait  # noqa: E402

STAMP = re.compile(r"t(\d+)@(\d+\.\d+)")
STALL_S = 1.0
TARGET_ADDED_P99_MS = 1.0


@dataclass
class Stream:
    sent_ms: float = 0.0
    arrivals: list[tuple[int, float, float]] = field(default_factory=list)  # (token, sent stamp, arrival), ms
    ok: bool = False
    error: str = ""


async def _chunks(reader: asyncio.StreamReader):
    """The body of a chunked (or close-delimited) HTTP/1.1 response, piece by piece."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if status != 200:
        raise RuntimeError(f"status {status}: {(await reader.read(300))[:300]!r}")
    chunked = b"transfer-encoding: chunked" in head.lower()
    while True:
        if not chunked:
            data = await reader.read(65536)
            if not data:
                return
            yield data
            continue
        size = int((await reader.readline()).strip() or b"0", 16)
        if size == 0:
            return
        yield await reader.readexactly(size)
        await reader.readexactly(2)


async def one_stream(host: str, port: int, path: str, body: dict, headers: dict[str, str], stream: Stream,
                     texts_of) -> None:
    payload = json.dumps(body).encode()
    lines = [f"POST {path} HTTP/1.1", f"host: {host}:{port}", "content-type: application/json",
             "accept: text/event-stream", f"content-length: {len(payload)}", "connection: close",
             *(f"{k}: {v}" for k, v in headers.items())]
    try:
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
        stream.sent_ms = time.time() * 1000
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        buffer = b""
        async for data in _chunks(reader):
            arrived = time.time() * 1000
            buffer += data
            while b"\n\n" in buffer:
                event, buffer = buffer.split(b"\n\n", 1)
                for text in texts_of(event):
                    for token, stamp in STAMP.findall(text):
                        stream.arrivals.append((int(token), float(stamp), arrived))
        writer.close()
        stream.ok = True
    except Exception as error:  # noqa: BLE001 - a failed stream is counted, not fatal
        stream.error = f"{type(error).__name__}: {str(error)[:120]}"


def openai_texts(event: bytes) -> list[str]:
    data = event.split(b"data: ", 1)[-1]
    if data.strip() == b"[DONE]":
        return []
    choices = json.loads(data).get("choices") or []
    return [c.get("delta", {}).get("content") or "" for c in choices]


def infergate_texts(event: bytes) -> list[str]:
    for line in event.split(b"\n"):
        if line.startswith(b"data: "):
            found = json.loads(line[6:])
            return [found["text"]] if found.get("type") == "delta" else []
    return []


def figures(streams: list[Stream], tokens: int, interval_ms: float, seconds: float) -> dict:
    complete = [s for s in streams if s.ok and len(s.arrivals) == tokens]
    ttft = [s.arrivals[0][2] - s.sent_ms for s in complete]
    per_token = [arrived - sent for s in complete for _, sent, arrived in s.arrivals]
    stalled = sum(1 for s in complete if any(b[2] - a[2] > interval_ms + STALL_S * 1000
                                             for a, b in zip(s.arrivals, s.arrivals[1:])))
    return {"streams": len(streams), "complete": len(complete), "failed": len(streams) - len(complete),
            "errors": sorted({s.error for s in streams if s.error})[:3], "seconds": round(seconds, 2),
            "short_streams_tokens": sorted(len(s.arrivals) for s in streams if s.ok and len(s.arrivals) != tokens)[:5],
            "ttft_p50_ms": round(percentile(ttft, 50), 2) if ttft else None,
            "ttft_p99_ms": round(percentile(ttft, 99), 2) if ttft else None,
            "token_p50_ms": round(percentile(per_token, 50), 3) if per_token else None,
            "token_p99_ms": round(percentile(per_token, 99), 3) if per_token else None,
            "stalled": stalled}


async def run_streams(count: int, host: str, port: int, path: str, body: dict, headers: dict, texts_of) -> tuple:
    streams = [Stream() for _ in range(count)]
    started = time.perf_counter()
    await asyncio.gather(*(one_stream(host, port, path, body, headers, s, texts_of) for s in streams))
    return streams, time.perf_counter() - started


def stream_settings(emulator_port: int, tokens: int, interval_ms: int) -> dict:
    """INFERGATE["OPENAI_COMPATIBLE"] for ``emu-stream``: the emulator streaming ``tokens`` every ``interval_ms``."""
    return {"emu-stream": {"base_url": f"http://127.0.0.1:{emulator_port}/s{tokens}x{interval_ms}/v1",
                           "models": [{"name": "chat", "max_tokens": 4096}]}}


def stream_rows(*, counts: list[int], tokens: int, interval_ms: int, emulator_port: int, gateway_port: int,
                meter: ProcessMeter, auth: dict[str, str], profile: tuple[int, Path] | None = None,
                show: bool = True) -> list[dict]:
    """For each count: that many streams at once straight to the emulator, then as many through the gateway's
    ``POST /v1/inference/stream`` (provider ``emu-stream``, see ``stream_settings``); their figures and the added."""
    direct_body = {"model": "chat", "stream": True, "messages": [{"role": "user", "content": "go"}]}
    gateway_body = {"provider": "emu-stream", "model": "chat", "inputs": {"prompts": ["go"]},
                    "parameters": {"max_tokens": 4096}}
    asyncio.run(run_streams(5, "127.0.0.1", gateway_port, "/v1/inference/stream", gateway_body, auth,
                            infergate_texts))  # warm: pools, caches, the model's client
    rows = []
    for count in counts:
        load = load_average()
        direct, direct_s = asyncio.run(run_streams(count, "127.0.0.1", emulator_port,
                                                   f"/s{tokens}x{interval_ms}/v1/chat/completions", direct_body, {},
                                                   openai_texts))
        profiler = profile_start(profile[0], profile[1].with_suffix(f".{count}.txt")) if profile else None
        cpu_before = meter.cpu_seconds()
        through, through_s = asyncio.run(run_streams(count, "127.0.0.1", gateway_port, "/v1/inference/stream",
                                                     gateway_body, auth, infergate_texts))
        cpu = meter.cpu_seconds() - cpu_before
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(60)
        row = {"streams": count, "tokens": tokens, "interval_ms": interval_ms, "load_average_before": load,
               "direct": figures(direct, tokens, interval_ms, direct_s),
               "infergate": figures(through, tokens, interval_ms, through_s),
               "gateway_cpu_ms_per_stream": round(cpu * 1000 / count, 2)}
        d, g = row["direct"], row["infergate"]
        if all(x is not None for x in (d["ttft_p50_ms"], g["ttft_p50_ms"], d["token_p99_ms"], g["token_p99_ms"])):
            row["added"] = {"ttft_p50_ms": round(g["ttft_p50_ms"] - d["ttft_p50_ms"], 2),
                            "token_p50_ms": round(g["token_p50_ms"] - d["token_p50_ms"], 3),
                            "token_p99_ms": round(g["token_p99_ms"] - d["token_p99_ms"], 3)}
        rows.append(row)
        if show:
            print_row(row)
    return rows


def stream_checks(rows: list[dict]) -> list[dict]:
    """The streaming targets, judged at 500 streams or more: none stalled or failed, added per-token p99."""
    checks = []
    for row in (r for r in rows if r["streams"] >= 500):
        where = f"{row['streams']} streams"
        g = row["infergate"]
        checks.append({"target": "0 stalled or failed streams", "where": where,
                       "value": g["stalled"] + g["failed"], "passed": g["stalled"] == 0 and g["failed"] == 0})
        added = row.get("added", {}).get("token_p99_ms")
        checks.append({"target": f"added per-token p99 <= {TARGET_ADDED_P99_MS:g} ms", "where": where,
                       "value": added, "passed": added is not None and added <= TARGET_ADDED_P99_MS})
    return checks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", default="100,500")
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument("--interval-ms", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--profile", type=Path, help="record the gateway with py-spy (on PATH) during its streams "
                        "into this file (collapsed stacks, py-spy's raw format)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="stream-overhead-"))
    emulator_port, gateway_port = free_port(), free_port()
    import os

    os.environ["INFERGATE_OPENAI_COMPATIBLE"] = json.dumps(stream_settings(emulator_port, args.tokens,
                                                                           args.interval_ms))
    secret, namespace = django_setup()
    emulator = start_emulator(emulator_port, folder / "emulator.log")
    gateway = server_start(gateway_port, args.workers, folder / "uvicorn.log")
    result: dict = {"machine": machine(), "workers": args.workers, "tokens": args.tokens,
                    "interval_ms": args.interval_ms}
    try:
        server_wait(gateway, f"http://127.0.0.1:{gateway_port}")
        result["rows"] = stream_rows(counts=[int(c) for c in args.streams.split(",")], tokens=args.tokens,
                                     interval_ms=args.interval_ms, emulator_port=emulator_port,
                                     gateway_port=gateway_port, meter=ProcessMeter(gateway.pid),
                                     auth={"authorization": f"Bearer {secret}", "x-namespace": namespace},
                                     profile=(gateway.pid, args.profile) if args.profile else None)
    finally:
        server_stop(gateway)
        emulator.terminate()
    checks = stream_checks(result["rows"])
    result["met"] = bool(checks) and all(c["passed"] for c in checks)
    print(f"\ntargets at 500 streams (0 stalled, added per-token p99 <= {TARGET_ADDED_P99_MS:g} ms): "
          f"{'met' if result['met'] else 'MISSED'}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    return 0 if result["met"] else 1


def print_row(row: dict) -> None:
    print(f"\n{row['streams']} streams at once, {row['tokens']} tokens every {row['interval_ms']} ms "
          f"(load average before {row['load_average_before'][0]:.2f})")
    print(f"  {'path':<11}{'complete':>9}{'ttft p50':>10}{'ttft p99':>10}{'tok p50':>9}{'tok p99':>9}{'stalled':>9}")
    for name in ("direct", "infergate"):
        f = row[name]
        print(f"  {name:<11}{f['complete']:>9}{f['ttft_p50_ms']!s:>10}{f['ttft_p99_ms']!s:>10}"
              f"{f['token_p50_ms']!s:>9}{f['token_p99_ms']!s:>9}{f['stalled']:>9}"
              + (f"   errors: {f['errors']}" if f["errors"] else "")
              + (f"   short streams (tokens): {f['short_streams_tokens']}" if f["short_streams_tokens"] else ""))
    if "added" in row:
        a = row["added"]
        print(f"  added by the gateway: ttft p50 {a['ttft_p50_ms']} ms, per token p50 {a['token_p50_ms']} ms, "
              f"p99 {a['token_p99_ms']} ms; gateway CPU {row['gateway_cpu_ms_per_stream']} ms per stream")


if __name__ == "__main__":
    sys.exit(main())
