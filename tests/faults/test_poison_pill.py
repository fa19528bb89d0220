"""One hostile request must not stop usage recording for everyone (the poison pill). Against the stack as
`make run` serves it: uvicorn, a real Celery worker running the schedule (the usage drain every second) and
a Redis of this test's own.

A NUL in `model` is refused at the edge (422) and the next request's usage record appears within seconds.
And should a record PostgreSQL cannot store reach the stream anyway (written by an older release, or a gap
in the edge's checks: one is put there as the request path would), the drain stores everything around it,
moves it to the dead letters with one ERROR line, counts it in /metrics, and /readyz says so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx
import redis

from inference.usage.models import UsageRecord
from inference.usage.records import UsageEntry
from inference.usage.stream import DEAD, STREAM, _encode
from tests.conftest import tenant_create, uvicorn_start
from tests.faults.servers import Workers, database_url

ECHO = {"provider": "test", "model": "echo", "inputs": {"prompts": ["hi"]}}


def metric(http: httpx.Client, name: str) -> float:
    """A sample of /metrics (counters add up over every process that ever wrote to the metrics folder)."""
    lines = [line for line in http.get("/metrics").text.splitlines() if line.startswith(name + " ")]
    return float(lines[0].split()[1]) if lines else 0.0


def record_within(request_id: str, seconds: float = 10) -> tuple[UsageRecord, float]:
    began = time.monotonic()
    while (record := UsageRecord.objects.filter(request_id=request_id).first()) is None:
        assert time.monotonic() - began < seconds, f"no usage record {request_id} after {seconds} s"
        time.sleep(0.05)
    return record, round(time.monotonic() - began, 2)


def test_a_poisoned_record_stops_nobody(transactional_db, private_redis, tmp_path):
    tenant = tenant_create("poison-org", "main")
    workers = Workers(private_redis.url, tmp_path, concurrency=1, beat=True)
    worker, process = workers.spawn(), None
    try:
        process, base = uvicorn_start(tmp_path, durable_usage=True, env={"REDIS_URL": private_redis.url})
        workers.ready(worker)
        with httpx.Client(base_url=base, timeout=30) as http:
            refused = http.post("/v1/inference", json={"provider": "local", "model": "all-minilm-l6-v2\u0000",
                                                       "inputs": {"text": "x"}},
                                headers=tenant.headers(**{"X-Request-ID": "poison-edge"}))
            assert refused.status_code == 422, refused.text
            assert refused.json()["error"]["details"]["errors"][0]["field"] == "model"
            normal = http.post("/v1/inference", json=ECHO, headers=tenant.headers(**{"X-Request-ID": "after-edge"}))
            assert normal.status_code == 200
            _, seconds = record_within("after-edge")
            assert record_within("poison-edge")[0].status == 422  # the refusal is recorded too, and storable

            # A record nothing can store, in the stream as the request path appends one.
            poison = UsageEntry(request_id="poison-stream", status=400, organization_id=tenant.organization.id,
                                namespace_id=tenant.namespace.id, api_key_id=tenant.key_id, model="m\u0000")
            store = redis.Redis.from_url(private_redis.url)
            counted = metric(http, "infergate_usage_dead_lettered_total")
            store.xadd(STREAM, _encode(poison))
            for n in range(3):
                assert http.post("/v1/inference", json=ECHO,
                                 headers=tenant.headers(**{"X-Request-ID": f"after-poison-{n}"})).status_code == 200
            after = [record_within(f"after-poison-{n}")[1] for n in range(3)]
            # The drain stores the good records of a batch before it moves the bad one aside: wait for that too.
            deadline = time.monotonic() + 10
            while store.xlen(DEAD) == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert store.xlen(DEAD) == 1 and not UsageRecord.objects.filter(request_id="poison-stream").exists()
            ready = http.get("/readyz").json()["checks"]["usage"]
            assert ready["ok"] is True and ready["dead_letters"] == 1 and ready["lag_s"] < 5, ready
            assert metric(http, "infergate_usage_dead_letters") == 1
            assert metric(http, "infergate_usage_dead_lettered_total") == counted + 1
    finally:
        if process is not None:
            process.terminate()
            process.wait(15)
        workers.stop_all()
    log = "".join(p.log.read_text() for p in workers.processes)
    errors = [line for line in log.splitlines() if '"level": "ERROR"' in line]
    assert len(errors) == 1 and "dead-letter" in errors[0] and "poison-stream" in errors[0], errors
    # The operator's way out: the record, mended, counts.
    env = {"DATABASE_URL": database_url(), "REDIS_URL": private_redis.url, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    listed = subprocess.run([sys.executable, "manage.py", "usage_dead_letters", "list"], env={**os.environ, **env},
                            capture_output=True, text=True, check=True).stdout
    assert json.loads(json.loads(listed)["record"])["request_id"] == "poison-stream"
    replayed = subprocess.run([sys.executable, "manage.py", "usage_dead_letters", "replay", "--repair"],
                              env={**os.environ, **env}, capture_output=True, text=True, check=True)
    assert json.loads(replayed.stdout) == {"stored": 1, "refused": 0, "undecodable": 0}
    assert UsageRecord.objects.get(request_id="poison-stream").model == "m\ufffd"
    print(f"\nrecord after the refused request stored in {seconds} s; after the poison: {after} s")
