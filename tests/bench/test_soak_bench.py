"""bench/soak.py runs end to end for ~12 s of traffic: the stack as `make run` serves it answers every kind of
request with the status that kind must get, memory is sampled for every process, and every answered request left
one usage record. A smoke test of the script, not a soak: the trend of so short a run is not judged here."""

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
DATABASE = "bench_soak_smoke"


def test_soak_runs_and_accounts_for_every_request(tmp_path):
    output = tmp_path / "soak.json"
    redis = urlparse(settings.REDIS_URL)._replace(path="/10").geturl()  # its own Redis database (and Celery broker)
    env = {**os.environ, "DATABASE_URL": bench_database(DATABASE), "REDIS_URL": redis, "WEB_CONCURRENCY": "1",
           "DJANGO_SETTINGS_MODULE": "playground.settings", "INFERGATE_DATA_DIR": str(tmp_path)}
    # One web worker (make run honours WEB_CONCURRENCY too): a second one only adds start-up time here. 12 s of
    # traffic; with start-up and the stop about 25 s in all.
    run = subprocess.run([sys.executable, "bench/soak.py", "--minutes", "0.2", "--json", str(output)],
                         cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=90)
    assert output.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    figures = json.loads(output.read_text())
    assert "lost = 0" in run.stdout and "load average" in run.stdout, run.stdout[-3000:]
    # Every kind was sent and got exactly the status it must get, injected errors included.
    seen = {row["kind"] for row in figures["outcomes"]}
    assert len(seen) >= 12 and any(row["injected"] for row in figures["outcomes"])
    assert figures["unexpected"] == 0 and all(row["outcome"] == row["expected"] for row in figures["outcomes"])
    usage = figures["usage"]
    assert usage["answered"] > 100 and usage["stored"] == usage["answered"] and usage["lost"] == 0
    assert usage["missing_ids"] == 0 and usage["duplicated_ids"] == 0
    assert set(figures["memory"]) == {"gateway", "celery worker", "celery beat", "postgres", "redis"}
    assert all(t["rss_first_mb"] > 0 and t["samples"] >= 3 for t in figures["memory"].values())
    assert all(len(t["anon_window_slopes"]) >= 2 for t in figures["memory"].values())  # whether growth levels off
    assert "anonymous MB/h in each" in run.stdout
    assert not figures["died"] and not any(figures["log_errors"].values())
    # Every server stopped on SIGTERM within 15 s: none waited on a closed socket's consumer (inference.progress).
    assert figures["killed_at_stop"] == [], run.stdout[-3000:]
