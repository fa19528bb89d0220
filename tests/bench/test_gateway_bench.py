"""bench/gateway.py runs end to end with tiny counts (no LiteLLM): the emulator answers, Infergate answers
both its routes with every request a 200, usage records are queued for each, and --json holds every figure.
A smoke test of the script, not a performance test: no figure is judged here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

from django.conf import settings

from tests.bench.databases import bench_database

PROJECT_DIR = Path(__file__).resolve().parents[2]
DATABASE = "bench_smoke"


def test_gateway_bench_runs_and_writes_its_figures(tmp_path):
    output = tmp_path / "gateway.json"
    redis = urlparse(settings.REDIS_URL)._replace(path="/9").geturl()  # its own Redis database too
    env = {**os.environ, "DATABASE_URL": bench_database(DATABASE), "REDIS_URL": redis,
           "DJANGO_SETTINGS_MODULE": "playground.settings", "INFERGATE_DATA_DIR": str(tmp_path)}
    # Enough requests per path for its CPU to span several clock ticks (10 ms): with the lean transport a
    # request costs about 1 ms of the gateway's CPU, and 8 of them sometimes measured 0.
    run = subprocess.run(
        [sys.executable, "bench/gateway.py", "--no-litellm", "--delays", "0", "--concurrency", "1,4",
         "--requests", "40,80", "--rounds", "2", "--ceiling-requests", "200", "--streams", "20",
         "--stream-tokens", "5", "--stream-interval-ms", "10", "--idle-seconds", "2", "--json", str(output)],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert output.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    figures = json.loads(output.read_text())
    assert "load average" in run.stdout and "emulator ceiling" in run.stdout
    cells = figures["cells"]
    assert [(c["workload"], c["concurrency"]) for c in cells] == [("chat", 1), ("chat", 4), ("embeddings", 1),
                                                                   ("embeddings", 4)]
    infergate_requests = 0
    for cell in cells:
        echo = {"infergate-echo"} if cell["workload"] == "chat" else set()  # the gateway alone: chat at 0 ms
        assert set(cell["paths"]) == {"direct", "infergate", "infergate-openai"} | echo
        for name, path in cell["paths"].items():
            assert path["non_200"] == 0 and path["requests"] >= 8 and path["throughput_rps"] > 0
            if name != "direct":
                infergate_requests += path["requests"]
                assert path["cpu_ms_per_request"] > 0 and "added_p99_ms" in path
    # Warm-ups come on top of the measured requests: every request through Infergate left a usage record.
    assert figures["usage_records_added"] >= infergate_requests
    assert figures["processes"]["infergate"]["peak_rss_mb"] > 0
    assert figures["emulator_ceiling"]["throughput_rps"] > 0
    (streams,) = figures["streams"]  # 20 streams through the gateway, each token timed
    assert streams["streams"] == 20 and streams["infergate"]["complete"] == 20 and streams["direct"]["complete"] == 20
    assert streams["infergate"]["token_p99_ms"] is not None and "added" in streams
    assert figures["idle"]["infergate"]["idle_seconds"] >= 2 and figures["idle"]["infergate"]["cpu_seconds"] >= 0
    assert {check["target"] for check in figures["targets"]["checks"]} >= {
        "added p50 <= 1 ms", "added p99 <= 2 ms", "idle CPU < 1% of a core"}
