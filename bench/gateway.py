"""Benchmark: what a gateway adds to an upstream call, Infergate against the LiteLLM proxy, in one run.

An upstream emulator (bench/_emulator.py, its own process) answers OpenAI chat completions and embeddings
after 0 ms or 50 ms. The same requests go, in alternating rounds, to it directly; through Infergate (one
uvicorn worker by default; auth, namespace, rate limits and usage recording on, semantic cache off) on its
native ``POST /v1/inference`` and on ``POST /v1/chat/completions`` / ``/v1/embeddings``, an OpenAI-compatible
provider pointed at the emulator (and, for chat at 0 ms, ``infergate-echo``: the test provider's echo, the gateway's
own cost without a provider call); and through the LiteLLM proxy (``litellm[proxy]`` pinned, in its own
virtualenv bench/.litellm-venv, created on first use; master key, no database, the same number of workers).
At concurrency 1, 16 and 64 with fixed request counts it prints, per path: throughput, latency p50/p95/p99
and what each adds over direct, the gateway process's CPU per request, and Infergate/LiteLLM ratios; then
each gateway's CPU and peak RSS, the emulator's own ceiling and the load average. Then, against the same
servers: 100 and 500 concurrent SSE streams (``--streams``; the emulator streams 50 tokens 20 ms apart) straight to
the emulator and through Infergate, with time to first token, per-token latency and stalls (bench/stream_overhead.py),
and each gateway's CPU over 60 s of no traffic (``--idle-seconds``; bench/idle_cpu.py).

Targets: at concurrency 1, Infergate's added p50 <= 1 ms (0 and 50 ms upstream) and added p99 <= 2 ms; at 0 ms
upstream delay, at least 8x LiteLLM's throughput at concurrency 16 and 64; at 500 streams none stalled and an
added per-token p99 <= 1 ms; idle CPU under 1% of a core. Exit code 0 when they hold; ``--workers 2`` runs each
gateway with two worker processes. Services: an embedded PostgreSQL and Redis under ``.data/bench`` (unless
DATABASE_URL / REDIS_URL or INFERGATE_DATA_DIR are set). Run: ``.venv/bin/python bench/gateway.py [--json FILE]``;
``--no-litellm`` and small ``--requests`` for a quick check. ``--backends lean,aiohttp,httpx`` runs one Infergate server per HTTP
client under the openai SDK (``INFERGATE_HTTP_BACKEND``; aiohttp needs ``pip install 'openai[aiohttp]==3.54.0'``
in .venv first, which google-genai then uses too) in the same alternating rounds, the first one's paths
named ``infergate`` and ``infergate-openai``, the others' suffixed ``-aiohttp``, ``-httpx``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
from _common import (  # noqa: E402
    Connection,
    ProcessMeter,
    Request,
    burst,
    load_average,
    machine,
    percentile,
    profile_start,
    start_emulator,
    wait_http,
)
from concurrency import django_setup, free_port, server_start, server_stop  # noqa: E402
from idle_cpu import idle_window  # noqa: E402
from stream_overhead import stream_checks, stream_rows, stream_settings  # noqa: E402

LITELLM_REQUIREMENT = "litellm[proxy]==1.82.6"  # the last release before 1.82.7/1.82.8, which were compromised
LITELLM_VENV = BENCH_DIR / ".litellm-venv"
LITELLM_KEY = "sk-bench-litellm-master-key"
PROMPT = "Say hello in five words."
TEXTS = ["The quick brown fox jumps over the lazy dog."] * 4
TARGET_ADDED_P50_MS = 1.0
TARGET_ADDED_P99_MS = 2.0
TARGET_THROUGHPUT_RATIO = 8.0
TARGET_IDLE_SHARE = 0.01


@dataclass
class Route:
    name: str
    port: int
    request: dict[str, Request]  # per workload and delay: "chat/0", "embeddings/50"
    meter: ProcessMeter | None = None


def compatible_settings(emulator_port: int, delays: list[int]) -> dict[str, Any]:
    """INFERGATE["OPENAI_COMPATIBLE"]: one provider per delay, ``emu-d{ms}``, each with a chat and an
    embedding model, at the emulator's ``/d{ms}/v1``."""
    return {f"emu-d{delay}": {"base_url": f"http://127.0.0.1:{emulator_port}/d{delay}/v1",
                              "models": [{"name": "chat", "max_tokens": 512},
                                         {"name": "embed", "modalities": ["text_embedding"], "dimensions": 8}]}
            for delay in delays}


def litellm_ensure() -> Path:
    """The LiteLLM proxy's executable, installing it in its own virtualenv the first time."""
    executable = LITELLM_VENV / "bin" / "litellm"
    marker = LITELLM_VENV / ".installed"
    if executable.exists() and marker.exists() and marker.read_text().strip() == LITELLM_REQUIREMENT:
        return executable
    print(f"installing {LITELLM_REQUIREMENT} into {LITELLM_VENV.relative_to(PROJECT_DIR)} (once)...", flush=True)
    base = getattr(sys, "_base_executable", sys.executable)
    if not (LITELLM_VENV / "bin" / "python").exists():
        subprocess.run([base, "-m", "venv", str(LITELLM_VENV)], check=True)
    subprocess.run([str(LITELLM_VENV / "bin" / "pip"), "install", "--disable-pip-version-check", "-q",
                    LITELLM_REQUIREMENT], check=True)
    marker.write_text(LITELLM_REQUIREMENT + "\n")
    return executable


def start_litellm(port: int, emulator_port: int, delays: list[int], workers: int, folder: Path) -> subprocess.Popen:
    """The proxy as its docs show it: a config file with the models and a master key, no database."""
    models = []
    for delay in delays:
        base = f"http://127.0.0.1:{emulator_port}/d{delay}/v1"
        models += [{"model_name": f"chat-d{delay}", "litellm_params": {"model": "openai/chat", "api_base": base,
                                                                      "api_key": "emulator"}},
                   {"model_name": f"embed-d{delay}", "litellm_params": {"model": "openai/embed", "api_base": base,
                                                                       "api_key": "emulator"}}]
    config = folder / "litellm.yaml"  # JSON is YAML
    config.write_text(json.dumps({"model_list": models, "general_settings": {"master_key": LITELLM_KEY},
                                  "litellm_settings": {"telemetry": False, "set_verbose": False}}, indent=1))
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "VIRTUAL_ENV", "PYTHONPATH")}
    env.update({"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR", "LITELLM_MODE": "PRODUCTION",
                "NO_DOCS": "True"})
    command = [str(litellm_ensure()), "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
               "--num_workers", str(workers), "--keepalive_timeout", "75"]  # as Infergate's uvicorn (concurrency.py)
    with (folder / "litellm.log").open("w") as output:
        return subprocess.Popen(command, cwd=folder, env=env, stdout=output, stderr=subprocess.STDOUT,
                                start_new_session=True)


def infergate_start(backends: list[str], ports: list[int], workers: int, folder: Path) -> dict[str, subprocess.Popen]:
    """One Infergate server per HTTP backend under the SDK (INFERGATE_HTTP_BACKEND; "env": as the environment
    says): the first is ``infergate``, the others ``infergate-<backend>``."""
    servers = {}
    for index, (backend, port) in enumerate(zip(backends, ports)):
        name = "infergate" if index == 0 else f"infergate-{backend}"
        env = {} if backend == "env" else {"INFERGATE_HTTP_BACKEND": backend}
        servers[name] = server_start(port, workers, folder / f"uvicorn-{name}.log", env)
    return servers


def requests_for(name: str, port: int, delays: list[int], auth: dict[str, str]) -> dict[str, Request]:
    """The chat and embeddings requests of one path, for each delay."""
    out: dict[str, Request] = {}
    messages = [{"role": "user", "content": PROMPT}]
    for d in delays:
        if name == "direct":
            out[f"chat/{d}"] = Request("127.0.0.1", port, f"/d{d}/v1/chat/completions",
                                       {"model": "chat", "messages": messages, "max_tokens": 16})
            out[f"embeddings/{d}"] = Request("127.0.0.1", port, f"/d{d}/v1/embeddings",
                                             {"model": "embed", "input": TEXTS, "encoding_format": "float"})
        elif name == "infergate":
            out[f"chat/{d}"] = Request("127.0.0.1", port, "/v1/inference", {
                "provider": f"emu-d{d}", "model": "chat", "inputs": {"prompts": [PROMPT]},
                "parameters": {"max_tokens": 16}}, auth)
            out[f"embeddings/{d}"] = Request("127.0.0.1", port, "/v1/inference", {
                "provider": f"emu-d{d}", "model": "embed", "inputs": {"texts": TEXTS}}, auth)
        elif name == "infergate-echo":  # the gateway's own part: the test provider's echo, no upstream call
            if d == 0:
                out["chat/0"] = Request("127.0.0.1", port, "/v1/inference", {
                    "provider": "test", "model": "echo", "inputs": {"prompts": [PROMPT]},
                    "parameters": {"max_tokens": 16}}, auth)
        elif name == "infergate-openai":
            out[f"chat/{d}"] = Request("127.0.0.1", port, "/v1/chat/completions", {
                "model": f"emu-d{d}/chat", "messages": messages, "max_tokens": 16}, auth)
            out[f"embeddings/{d}"] = Request("127.0.0.1", port, "/v1/embeddings", {
                "model": f"emu-d{d}/embed", "input": TEXTS}, auth)
        elif name == "litellm":
            out[f"chat/{d}"] = Request("127.0.0.1", port, "/v1/chat/completions", {
                "model": f"chat-d{d}", "messages": messages, "max_tokens": 16}, auth)
            out[f"embeddings/{d}"] = Request("127.0.0.1", port, "/v1/embeddings", {
                "model": f"embed-d{d}", "input": TEXTS}, auth)
    return out


def answer_check(path: str, workload: str, body: bytes) -> None:
    """The answer has the shape its path promises (so that a fast error is never counted as speed)."""
    data = json.loads(body)
    if path.startswith("infergate") and not path.startswith("infergate-openai"):
        data = data["data"]
        ok = data["responses"][0]["text"] if workload == "chat" else len(data["embeddings"]) == len(TEXTS)
    elif workload == "chat":
        ok = data["choices"][0]["message"]["content"]
    else:
        ok = len(data["data"]) == len(TEXTS)
    if not ok:
        raise RuntimeError(f"{path} answered {workload} with {body[:300]!r}")


async def cell(paths: list[Route], key: str, concurrency: int, count: int, rounds: int) -> dict[str, dict]:
    """One workload/delay/concurrency: ``rounds`` rounds, each running count/rounds requests on every
    path in turn (the order rotates), so that a change of load on the machine falls on every path alike."""
    connections = {p.name: [await Connection.open("127.0.0.1", p.port) for _ in range(concurrency)] for p in paths}
    raws = {p.name: p.request[key].encode() for p in paths}
    try:
        for p in paths:  # warm-up: every connection open and used, the gateways' caches filled
            warm = await burst(connections[p.name], raws[p.name], max(2 * concurrency, 20))
            if set(warm.statuses) != {200}:
                raise RuntimeError(f"{p.name} {key}: warm-up answered {warm.statuses}: {warm.sample[:300]!r}")
            answer_check(p.name, key.split("/")[0], warm.sample)
        results = {p.name: {"latencies": [], "seconds": 0.0, "statuses": {}, "cpu": 0.0} for p in paths}
        per_round = max(concurrency, count // rounds)
        for r in range(rounds):
            for p in paths[r % len(paths):] + paths[:r % len(paths)]:
                cpu = p.meter.cpu_seconds() if p.meter else 0.0
                measured = await burst(connections[p.name], raws[p.name], per_round)
                result = results[p.name]
                result["cpu"] += (p.meter.cpu_seconds() - cpu) if p.meter else 0.0
                result["latencies"] += measured.latencies
                result["seconds"] += measured.seconds
                for status, n in measured.statuses.items():
                    result["statuses"][status] = result["statuses"].get(status, 0) + n
        for p in paths:
            results[p.name]["reconnects"] = sum(c.reconnects for c in connections[p.name])
    finally:
        for conns in connections.values():
            await asyncio.gather(*(c.close() for c in conns))
    return {name: summary(r) for name, r in results.items()}


def summary(result: dict) -> dict[str, Any]:
    latencies, n = result["latencies"], len(result["latencies"])
    ms = {f"p{q}_ms": round(percentile(latencies, q) * 1000, 3) for q in (50, 95, 99)}
    return {"requests": n, "throughput_rps": round(n / result["seconds"], 1), **ms,
            "non_200": sum(v for k, v in result["statuses"].items() if k != 200),
            "reconnects": result["reconnects"],
            "cpu_ms_per_request": round(result["cpu"] / n * 1000, 3) if result["cpu"] else None}


def added(figures: dict[str, dict]) -> None:
    """Each gateway's latency over direct, and Infergate's ratios to LiteLLM."""
    direct = figures["direct"]
    for name, f in figures.items():
        if name != "direct":
            for q in (50, 95, 99):
                f[f"added_p{q}_ms"] = round(f[f"p{q}_ms"] - direct[f"p{q}_ms"], 3)
    if "litellm" in figures:
        lite = figures["litellm"]
        for name in [n for n in figures if n.startswith("infergate")]:
            f = figures[name]
            f["throughput_vs_litellm"] = round(f["throughput_rps"] / lite["throughput_rps"], 2)
            if lite["cpu_ms_per_request"] and f["cpu_ms_per_request"]:
                f["cpu_per_request_vs_litellm"] = round(f["cpu_ms_per_request"] / lite["cpu_ms_per_request"], 3)


async def emulator_ceiling(port: int, meter: ProcessMeter, count: int) -> dict[str, Any]:
    """Direct requests at concurrency 64 and 0 ms: the most the emulator (with this load generator on
    the same cores) serves, and its CPU per request, whose inverse is what one core of it could serve."""
    connections = [await Connection.open("127.0.0.1", port) for _ in range(64)]
    raw = Request("127.0.0.1", port, "/d0/v1/chat/completions",
                  {"model": "chat", "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 16}).encode()
    try:
        await burst(connections, raw, 500)
        cpu = meter.cpu_seconds()
        measured = await burst(connections, raw, count)
        cpu = meter.cpu_seconds() - cpu
    finally:
        await asyncio.gather(*(c.close() for c in connections))
    n = len(measured.latencies)
    return {"requests": n, "throughput_rps": round(n / measured.seconds, 1),
            "cpu_us_per_request": round(cpu / n * 1e6, 1),
            "rps_per_core": round(n / cpu) if cpu else None}


async def measure(paths: list[Route], args: argparse.Namespace, emulator: ProcessMeter) -> dict[str, Any]:
    out: dict[str, Any] = {"emulator_ceiling": await emulator_ceiling(paths[0].port, emulator, args.ceiling_requests),
                           "cells": []}
    for workload in args.workloads:
        for delay in args.delays:
            for concurrency, count in zip(args.concurrency, args.requests):
                key = f"{workload}/{delay}"
                figures = await cell([p for p in paths if key in p.request], key, concurrency, count, args.rounds)
                added(figures)
                row = {"workload": workload, "delay_ms": delay, "concurrency": concurrency,
                       "load_average": load_average(), "paths": figures}
                out["cells"].append(row)
                print_cell(row, flush=True)
    return out


def print_cell(row: dict, flush: bool = False) -> None:
    print(f"\n{row['workload']}, upstream delay {row['delay_ms']} ms, concurrency {row['concurrency']} "
          f"(load average {row['load_average'][0]:.2f})")
    print(f"  {'path':<24}{'req/s':>9}{'p50':>9}{'p95':>9}{'p99':>9}{'+p50':>9}{'+p95':>9}{'+p99':>9}"
          f"{'CPU/req':>10}{'x LiteLLM':>11}")
    for name, f in row["paths"].items():
        plus = "".join(f"{f[f'added_p{q}_ms']:>9.2f}" if f"added_p{q}_ms" in f else f"{'':>9}" for q in (50, 95, 99))
        cpu = f"{f['cpu_ms_per_request']:>8.2f}ms" if f["cpu_ms_per_request"] else f"{'':>10}"
        ratio = f"{f['throughput_vs_litellm']:>10.2f}x" if "throughput_vs_litellm" in f else ""
        errors = f"  non-200: {f['non_200']}" if f["non_200"] else ""
        errors += f"  reconnects: {f['reconnects']}" if f["reconnects"] else ""
        print(f"  {name:<24}{f['throughput_rps']:>9.1f}{f['p50_ms']:>9.2f}{f['p95_ms']:>9.2f}{f['p99_ms']:>9.2f}"
              f"{plus}{cpu}{ratio}{errors}", flush=flush)


def targets(figures: dict[str, Any]) -> dict[str, Any]:
    """Each target, per Infergate path, with the figure it was judged on (None: not measured)."""
    checks = []
    for row in figures["cells"]:
        for name in ("infergate", "infergate-openai"):
            f = row["paths"][name]
            where = f"{name} {row['workload']} {row['delay_ms']} ms c{row['concurrency']}"
            if row["concurrency"] == 1:
                checks.append({"target": f"added p50 <= {TARGET_ADDED_P50_MS:g} ms", "where": where,
                               "value": f["added_p50_ms"], "passed": f["added_p50_ms"] <= TARGET_ADDED_P50_MS})
                checks.append({"target": f"added p99 <= {TARGET_ADDED_P99_MS:g} ms", "where": where,
                               "value": f["added_p99_ms"], "passed": f["added_p99_ms"] <= TARGET_ADDED_P99_MS})
            elif row["delay_ms"] == 0 and "throughput_vs_litellm" in f:
                ratio = f["throughput_vs_litellm"]
                checks.append({"target": f">= {TARGET_THROUGHPUT_RATIO:g}x LiteLLM's throughput", "where": where,
                               "value": ratio, "passed": ratio >= TARGET_THROUGHPUT_RATIO})
    checks += stream_checks(figures.get("streams", []))
    if "infergate" in figures.get("idle", {}):
        share = figures["idle"]["infergate"]["core_share"]
        checks.append({"target": f"idle CPU < {TARGET_IDLE_SHARE * 100:g}% of a core", "where": "infergate",
                       "value": f"{share * 100:.3f}%", "passed": share < TARGET_IDLE_SHARE})
    return {"checks": checks, "passed": all(c["passed"] for c in checks)}


def print_summary(result: dict[str, Any]) -> None:
    ceiling = result["emulator_ceiling"]
    print(f"\nemulator ceiling: {ceiling['throughput_rps']:.0f} req/s direct at concurrency 64 (load generator on "
          f"the same cores); {ceiling['cpu_us_per_request']:.0f} us of emulator CPU per request, "
          f"~{ceiling['rps_per_core']} req/s per core")
    for name, process in result["processes"].items():
        print(f"{name}: {process['cpu_seconds']:.1f} s CPU over the run, peak RSS {process['peak_rss_mb']:.0f} MB"
              f" ({process['workers']} worker process{'es' if process['workers'] > 1 else ''})")
    if "usage_records_added" in result:
        print(f"usage records Infergate queued during the run: {result['usage_records_added']} (growth of the Redis "
              "stream: less if a Celery worker drains it meanwhile)")
    for name, idle in result.get("idle", {}).items():
        print(f"{name} idle for {idle['idle_seconds']} s: {idle['cpu_seconds']:.3f} CPU s = "
              f"{idle['core_share'] * 100:.3f}% of a core; by thread: "
              + (", ".join(f"{t} {v} s" for t, v in sorted(idle["by_thread"].items(), key=lambda kv: -kv[1]))
                 or "nothing measurable"))
    print(f"load average: before {result['load_average_before']}, after {result['load_average_after']}; "
          f"{result['machine']['cpus']} CPUs, {result['machine']['cpu_model']}")
    for check in result["targets"]["checks"]:
        print(f"  {'ok  ' if check['passed'] else 'MISS'} {check['target']:<32} {check['where']:<40} {check['value']}")
    print("PASS" if result["targets"]["passed"] else "FAIL")


def markdown(result: dict[str, Any]) -> str:
    """The figures as Markdown tables (what bench/results/ quotes)."""
    lines = []
    for row in result["cells"]:
        lines += [f"\n{row['workload']}, upstream delay {row['delay_ms']} ms, concurrency {row['concurrency']} "
                  f"(load average {row['load_average'][0]:.2f}):\n",
                  "| path | req/s | p50 ms | p95 ms | p99 ms | added p50 | added p95 | added p99 | CPU ms/req | x LiteLLM |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for name, f in row["paths"].items():
            plus = [f"{f[f'added_p{q}_ms']:.2f}" if f"added_p{q}_ms" in f else "" for q in (50, 95, 99)]
            cpu = f"{f['cpu_ms_per_request']:.2f}" if f["cpu_ms_per_request"] else ""
            ratio = f"{f['throughput_vs_litellm']:.2f}x" if "throughput_vs_litellm" in f else ""
            lines.append(f"| {name} | {f['throughput_rps']:.0f} | {f['p50_ms']:.2f} | {f['p95_ms']:.2f} | "
                         f"{f['p99_ms']:.2f} | {' | '.join(plus)} | {cpu} | {ratio} |")
    if result.get("streams"):
        lines += ["\nStreams at once through the first Infergate server (`POST /v1/inference/stream`) and straight to the "
                  "emulator (*direct*); times in ms, a token's latency is its arrival minus the emulator's stamp:\n",
                  "| streams | path | complete | ttft p50 | ttft p99 | token p50 | token p99 | stalled | gateway CPU ms/stream |",
                  "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
        for row in result["streams"]:
            for name in ("direct", "infergate"):
                f = row[name]
                cpu = f"{row['gateway_cpu_ms_per_stream']:.2f}" if name == "infergate" else ""
                lines.append(f"| {row['streams']} | {name} | {f['complete']} | {f['ttft_p50_ms']} | {f['ttft_p99_ms']} | "
                             f"{f['token_p50_ms']} | {f['token_p99_ms']} | {f['stalled']} | {cpu} |")
    if result.get("idle"):
        lines += ["\nIdle (no traffic):\n", "| process | seconds | CPU s | share of a core |", "|---|---:|---:|---:|"]
        for name, idle in result["idle"].items():
            lines.append(f"| {name} | {idle['idle_seconds']} | {idle['cpu_seconds']} | {idle['core_share'] * 100:.3f}% |")
    return "\n".join(lines) + "\n"


def usage_stream_length() -> int:
    from core.redis import redis_sync
    from inference.usage.stream import STREAM

    return int(redis_sync().xlen(STREAM))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1, help="worker processes of each gateway")
    parser.add_argument("--delays", default="0,50", help="upstream delays in ms")
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--requests", default="200,800,1600", help="requests per path at each concurrency")
    parser.add_argument("--workloads", default="chat,embeddings")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per cell")
    parser.add_argument("--ceiling-requests", type=int, default=5000)
    parser.add_argument("--no-litellm", action="store_true", help="leave LiteLLM out (no install, no ratios)")
    parser.add_argument("--no-echo", action="store_true", help="leave out infergate-echo (chat at 0 ms through the "
                        "test provider's echo: the gateway's own cost, no upstream call)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file as JSON")
    parser.add_argument("--markdown", type=Path, help="also write the tables to this file as Markdown")
    parser.add_argument("--backends", default="env",
                        help="HTTP clients under the SDK (INFERGATE_HTTP_BACKEND), comma-separated, a server each in "
                        "the same alternating rounds: lean, aiohttp, httpx, or env (as the environment says); the "
                        "first one's paths are infergate and infergate-openai, the others' end in -<backend>")
    parser.add_argument("--streams", default="100,500", help="concurrent SSE streams through the first Infergate "
                        "server, each count in turn after the request cells (bench/stream_overhead.py); '' for none")
    parser.add_argument("--stream-tokens", type=int, default=50)
    parser.add_argument("--stream-interval-ms", type=int, default=20)
    parser.add_argument("--idle-seconds", type=float, default=60.0, help="then no traffic for this long: each "
                        "gateway's CPU meanwhile (0: not measured)")
    parser.add_argument("--profile", type=Path, help="record Infergate's worker with py-spy (on PATH) into this "
                        "file, collapsed stacks (py-spy's raw format)")
    args = parser.parse_args()
    args.delays = [int(v) for v in args.delays.split(",")]
    args.concurrency = [int(v) for v in args.concurrency.split(",")]
    args.requests = [int(v) for v in args.requests.split(",")]
    args.workloads = args.workloads.split(",")
    args.backends = args.backends.split(",")
    if any(b not in ("env", "lean", "aiohttp", "httpx") for b in args.backends):
        parser.error("--backends takes lean, aiohttp, httpx or env")
    if len(args.requests) != len(args.concurrency):
        parser.error("--requests needs one count per --concurrency")

    before, started = load_average(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"load average at start: {before}", flush=True)
    if not args.no_litellm:
        litellm_ensure()
    emulator_port, litellm_port = free_port(), free_port()
    ports = [free_port() for _ in args.backends]
    infergate_port = ports[0]
    args.streams = [int(v) for v in args.streams.split(",") if v.strip()]
    compatible = compatible_settings(emulator_port, args.delays)
    if args.streams:
        compatible.update(stream_settings(emulator_port, args.stream_tokens, args.stream_interval_ms))
    os.environ["INFERGATE_OPENAI_COMPATIBLE"] = json.dumps(compatible)
    os.environ.setdefault("INFERGATE_DATA_DIR", str(PROJECT_DIR / ".data" / "bench"))
    folder = Path(os.environ["INFERGATE_DATA_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    secret, namespace = django_setup()
    auth = {"authorization": f"Bearer {secret}", "x-namespace": namespace}
    processes: dict[str, subprocess.Popen] = {}
    try:
        processes["emulator"] = start_emulator(emulator_port, folder / "emulator.log")
        processes.update(infergate_start(args.backends, ports, args.workers, folder))
        if not args.no_litellm:
            processes["litellm"] = start_litellm(litellm_port, emulator_port, args.delays, args.workers, folder)
        for name, port in zip([n for n in processes if n.startswith("infergate")], ports):
            wait_http(f"http://127.0.0.1:{port}/healthz", processes[name])
        if not args.no_litellm:
            wait_http(f"http://127.0.0.1:{litellm_port}/health/liveliness", processes["litellm"], timeout=180)
        gateway = ProcessMeter(processes["infergate"].pid)
        paths = [Route("direct", emulator_port, requests_for("direct", emulator_port, args.delays, {})),
                 Route("infergate", infergate_port, requests_for("infergate", infergate_port, args.delays, auth),
                       gateway),
                 Route("infergate-openai", infergate_port,
                       requests_for("infergate-openai", infergate_port, args.delays, auth), gateway)]
        if not args.no_echo:
            paths.append(Route("infergate-echo", infergate_port,
                               requests_for("infergate-echo", infergate_port, args.delays, auth), gateway))
        for backend, port in zip(args.backends[1:], ports[1:]):
            other = ProcessMeter(processes[f"infergate-{backend}"].pid)
            paths += [Route(f"infergate-{backend}", port, requests_for("infergate", port, args.delays, auth), other),
                      Route(f"infergate-openai-{backend}", port,
                            requests_for("infergate-openai", port, args.delays, auth), other)]
        if not args.no_litellm:
            paths.append(Route("litellm", litellm_port,
                               requests_for("litellm", litellm_port, args.delays,
                                            {"authorization": f"Bearer {LITELLM_KEY}"}),
                               ProcessMeter(processes["litellm"].pid)))
        usage_before = usage_stream_length()
        started_cpu = {name: ProcessMeter(p.pid).cpu_seconds() for name, p in processes.items()}
        profiler = profile_start(processes["infergate"].pid, args.profile) if args.profile else None
        try:
            result = asyncio.run(measure(paths, args, ProcessMeter(processes["emulator"].pid)))
        finally:
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)
                profiler.wait(60)
        if args.streams:
            result["streams"] = stream_rows(counts=args.streams, tokens=args.stream_tokens,
                                            interval_ms=args.stream_interval_ms, emulator_port=emulator_port,
                                            gateway_port=infergate_port, meter=gateway, auth=auth)
        if args.idle_seconds:
            result["idle"] = idle_window({name: ProcessMeter(p.pid) for name, p in processes.items()
                                          if name != "emulator"}, args.idle_seconds)
        result["usage_records_added"] = usage_stream_length() - usage_before
        result["processes"] = {name: {"cpu_seconds": round(ProcessMeter(p.pid).cpu_seconds() - started_cpu[name], 2),
                                      "peak_rss_mb": ProcessMeter(p.pid).peak_rss_mb(),
                                      "workers": 1 if name == "emulator" else args.workers}
                               for name, p in processes.items()}
    finally:
        for process in processes.values():
            server_stop(process)
    result.update({"machine": machine(), "load_average_before": before, "load_average_after": load_average(),
                   "started_utc": started, "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                   "workers": args.workers, "backends": args.backends,
                   "litellm": None if args.no_litellm else LITELLM_REQUIREMENT,
                   "requests_per_path": dict(zip(args.concurrency, args.requests)), "rounds": args.rounds})
    result["targets"] = targets(result)
    print_summary(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    if args.markdown:
        args.markdown.write_text(markdown(result))
    return 0 if result["targets"]["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
