"""The cluster run (bench/cluster.py --short) end to end: PostgreSQL with pgvector and Redis as servers of
their own, migrations as a step of their own, three gateway nodes, two Celery workers and one beat behind
Debian's HAProxy, and every check passing with short loads: throughput through the balancer, a rate limit
across nodes, a key revoked on every node, the cache shared by nodes, a deployment's breaker shared by nodes,
a node and a worker killed, a node drained, periodic tasks once per period, one usage record per answer. Real
processes only; the upstream is the emulator, the one thing outside the deployment."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
CHECKS = ("throughput through HAProxy", "rate limit across nodes", "revoked key refused on every node",
          "cache entry stored on one node served by the others", "deployments' breaker shared across nodes",
          "SIGKILL node3 and worker2 mid-load", "SIGTERM drains node2", "exactly one usage record per answer",
          "periodic tasks run once per period")


def test_cluster_short_run_passes_every_check(tmp_path):
    figures_file = tmp_path / "cluster.json"
    run = subprocess.run([sys.executable, "bench/cluster.py", "--short", "--json", str(figures_file)],
                         cwd=PROJECT_DIR, capture_output=True, text=True, timeout=240)
    output = run.stdout + run.stderr[-3000:]
    for check in CHECKS:
        assert f"PASS  {check}" in run.stdout, output
    assert run.returncode == 0, output
    figures = json.loads(figures_file.read_text())
    nodes = figures["throughput"]["nodes"]
    assert len(nodes) == 3 and all(node["requests"] > 0 and node["cpu_ms_per_request"] > 0 for node in nodes.values())
    assert abs(figures["rate limit across nodes"]["error"]) <= 0.01
