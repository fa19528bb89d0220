"""Async jobs while Redis, the Celery broker and the job store, is stopped. The app runs under
uvicorn and a real `celery worker` runs jobs, both on a Redis of this test's own (the session's is left alone).

While Redis is down, ``POST /v1/inference?async=true`` and ``GET /v1/tasks/{id}`` must answer the documented
503 ServiceUnavailableError with Retry-After, never a 500; a refused submission leaves no job (the client has no
task id and resubmits) and one usage record, as a refused synchronous request does. Once Redis is back the same
server process accepts jobs again and the worker runs them to done; the job accepted before the outage is kept."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx
import redis

from playground.embedded import _free_port
from tests.conftest import tenant_create, usage_records, uvicorn_start
from tests.faults.servers import Workers, job_wait

JOB = {"provider": "test", "model": "echo", "inputs": {"prompts": ["queued"]}}
REFUSED = {"success": False, "status": 503, "error": {
    "message": "Redis cannot be reached right now; try again shortly", "type": "ServiceUnavailableError",
    "details": {"reason": "redis"}}}


def test_jobs_while_redis_is_down(transactional_db, private_redis, tmp_path):
    started, figures = time.monotonic(), {}
    tenant = tenant_create("redis-jobs-org")
    headers = tenant.headers()
    workers = Workers(private_redis.url, tmp_path, concurrency=1)
    worker, process = workers.spawn(), None  # the worker boots while uvicorn does
    prefix = f"rjobs-{uuid.uuid4().hex[:6]}"
    try:
        process, base = uvicorn_start(tmp_path, durable_usage=True, env={"REDIS_URL": private_redis.url})
        with httpx.Client(base_url=base, timeout=30) as http:
            def submit(name: str) -> httpx.Response:
                began = time.monotonic()
                response = http.post("/v1/inference?async=true", json=JOB,
                                     headers={**headers, "X-Request-ID": f"{prefix}-{name}"})
                figures.setdefault("submit_s", []).append(round(time.monotonic() - began, 2))
                return response

            workers.ready(worker)
            before = submit("before")
            assert before.status_code == 202, before.text
            kept = job_wait(http, headers, before.json()["task_id"], {"done", "failed"})
            assert kept["status"] == "done", kept

            private_redis.stop()
            refused = [submit(f"down-{n}") for n in range(3)]
            polled = http.get(f"/v1/tasks/{kept['task_id']}", headers=headers)
            log = (tmp_path / "server.log").read_text()
            for response in [*refused, polled]:
                assert (response.status_code, response.json()) == (503, REFUSED), (response.text, log[-3000:])
                assert response.headers["retry-after"] == "1"
            assert "Traceback" not in log, log[-3000:]

            private_redis.start()
            back = time.monotonic()
            after = submit("after")
            figures["accepted_after_restart_s"] = round(time.monotonic() - back, 2)
            assert after.status_code == 202, after.text
            done = job_wait(http, headers, after.json()["task_id"], {"done", "failed"})
            assert done["status"] == "done", done
            assert done["response"]["data"]["responses"][0]["text"] == "queued"
            figures["done_after_restart_s"] = round(time.monotonic() - back, 2)
            assert job_wait(http, headers, kept["task_id"], {"done"}) == kept  # kept across the restart (AOF)
    finally:
        workers.stop_all()
        if process is not None:
            process.terminate()  # its lifespan shutdown drains the usage stream
            process.wait(30)

    # No job left queued or running: only the two accepted ones exist, both done.
    store = redis.Redis.from_url(private_redis.url)
    jobs = [json.loads(store.get(key)) for key in store.scan_iter("infergate:job:task_*") if not key.endswith(b":body")]
    assert sorted((job["request_id"], job["status"]) for job in jobs) == [
        (f"{prefix}-after", "done"), (f"{prefix}-before", "done")], jobs
    records = usage_records(request_id__startswith=prefix)
    assert sorted((r.request_id, r.status, r.error_type) for r in records) == sorted(
        [(f"{prefix}-{name}", 200, "") for name in ("before", "after")]
        + [(f"{prefix}-down-{n}", 503, "ServiceUnavailableError") for n in range(3)]), records
    figures["test_s"] = round(time.monotonic() - started, 1)
    print("jobs while redis is down:", figures)


def test_a_job_stored_but_not_queued_is_discarded(transactional_db, private_redis, tmp_path):
    """The job store answers but the broker does not (CELERY_BROKER_URL, which Celery reads before its
    settings, names a port nobody listens on): the publish fails after Celery's retries; the client gets the
    same 503, the stored job is discarded, the usage record says 503, and the server's event loop went on
    serving other requests meanwhile (the publish is not run on it)."""
    tenant = tenant_create("redis-jobs-broker-org")
    prefix, figures = f"rbroker-{uuid.uuid4().hex[:6]}", {}
    process, base = uvicorn_start(tmp_path, durable_usage=True, env={
        "REDIS_URL": private_redis.url, "CELERY_BROKER_URL": f"redis://127.0.0.1:{_free_port()}/0"})
    try:
        async def run() -> tuple[httpx.Response, float]:
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                began = time.monotonic()
                submission = asyncio.create_task(http.post("/v1/inference?async=true", json=JOB, headers={
                    **tenant.headers(), "X-Request-ID": f"{prefix}-0"}))
                await asyncio.sleep(0.1)
                slowest = 0.0
                while not submission.done():
                    asked = time.monotonic()
                    assert (await http.get("/healthz")).status_code == 200
                    slowest = max(slowest, time.monotonic() - asked)
                    await asyncio.sleep(0.05)
                figures["refused_after_s"] = round(time.monotonic() - began, 2)
                return submission.result(), slowest

        refused, slowest = asyncio.run(run())
        figures["slowest_healthz_meanwhile_s"] = round(slowest, 3)
        log = (tmp_path / "server.log").read_text()
        assert (refused.status_code, refused.json()) == (503, REFUSED), (refused.text, log[-3000:])
        assert refused.headers["retry-after"] == "1"
        assert figures["refused_after_s"] > 0.3 and slowest < 0.2, figures  # healthz asked during the retries
    finally:
        process.terminate()
        process.wait(30)
    store = redis.Redis.from_url(private_redis.url)
    assert list(store.scan_iter("infergate:job:*")) == []
    records = usage_records(request_id__startswith=prefix)
    assert [(r.status, r.error_type, r.model) for r in records] == [(503, "ServiceUnavailableError", "echo")], records
    print("broker away, store up:", figures)


def test_a_redis_outage_is_a_503_and_a_redis_bug_a_500():
    from kombu.exceptions import OperationalError
    from redis.exceptions import BusyLoadingError, ConnectionError, ResponseError, TimeoutError

    from core.errors import unexpected_error

    for outage in (ConnectionError("Error 111 connecting to 10.0.0.7:6379. Connection refused."),
                   BusyLoadingError("Redis is loading the dataset in memory"),
                   TimeoutError("Timeout reading from 10.0.0.7"),
                   OperationalError("Error 111 connecting to 10.0.0.7:6379. Connection refused.")):
        error = unexpected_error(outage)
        assert (error.envelope(), error.headers) == (REFUSED, {"Retry-After": "1"})
    bug = unexpected_error(ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"))
    assert bug.envelope() == {"success": False, "status": 500,
                              "error": {"message": "Internal server error", "type": "InternalServerError"}}
