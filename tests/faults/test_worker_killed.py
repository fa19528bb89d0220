"""A Celery worker killed with SIGKILL, the whole worker (its main process and its pool children, as when a
machine or container dies, not just the child that tests/inference/test_jobs.py kills), while it runs two
async jobs: one mid-inference, one after it wrote its usage record and before it was marked done.
The app runs under uvicorn and the workers are real `celery worker` processes, on the test database and a
Redis of this test's own, with a visibility timeout of 2 s instead of an hour.

What the client saw: both jobs said ``running`` (attempts 1) while no worker held them; the next worker to
start took the unacknowledged messages back (the visibility timeout had passed), ran the jobs again and they
ended ``done`` (attempts 2) with their answers. Each job has exactly one usage record: the second run writes
it under the same id as the first (derived from the task id), which the insert skips; before that fix the job
killed after its record had two."""

from __future__ import annotations

import collections
import json
import time

import httpx
import psycopg
import redis

from inference.usage.stream import STREAM
from tests.conftest import tenant_create, usage_records, uvicorn_start
from tests.faults.servers import VISIBILITY_TIMEOUT_S, Workers, database_url, job_wait

JOB = {"provider": "test", "model": "sleep-2s", "inputs": {"prompts": ["still here"]}}


def insert_waiting(conn: psycopg.Connection) -> bool:
    """A backend is waiting for the lock on the usage table to insert records (asked on a connection of
    its own in autocommit: a transaction sees pg_stat_activity as it was when it first looked)."""
    return bool(conn.execute("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                             "AND query LIKE 'INSERT INTO \"usage_usagerecord\"%'").fetchone())


def test_a_killed_worker_job_is_run_again_with_one_usage_record(transactional_db, private_redis, tmp_path):
    started = time.monotonic()
    tenant = tenant_create("worker-fault-org")
    headers = tenant.headers()
    workers = Workers(private_redis.url, tmp_path)
    first, process, figures = workers.spawn(), None, {}  # the worker boots while uvicorn does
    try:
        process, base = uvicorn_start(tmp_path, durable_usage=True, env={
            "REDIS_URL": private_redis.url, "INFERGATE_CELERY_VISIBILITY_TIMEOUT_SECONDS": str(VISIBILITY_TIMEOUT_S)})
        with httpx.Client(base_url=base, timeout=30) as http:
            def submit() -> dict:
                accepted = http.post("/v1/inference?async=true", json=JOB, headers=headers)
                assert accepted.status_code == 202, accepted.text
                return accepted.json()

            workers.ready(first)
            with psycopg.connect(database_url(), autocommit=True) as lock, \
                    psycopg.connect(database_url(), autocommit=True) as watch:
                # One job gets as far as writing its usage record (its insert held up by a lock on the usage
                # table), so that the kill falls after the record and before the job is marked done ...
                lock.execute("BEGIN")
                lock.execute("LOCK TABLE usage_usagerecord IN SHARE ROW EXCLUSIVE MODE")
                late = submit()
                deadline = time.monotonic() + 30
                while not insert_waiting(watch):
                    assert time.monotonic() < deadline, http.get(f"/v1/tasks/{late['task_id']}", headers=headers).text
                    time.sleep(0.02)
                # ... the other is killed mid-inference (in its 2 s of "upstream" time).
                mid = submit()
                running = job_wait(http, headers, mid["task_id"], {"running", "done", "failed"})
                workers.kill(first)
                killed_at = time.monotonic()
                lock.execute("COMMIT")
            assert running["status"] == "running" and running["attempts"] == 1, running
            time.sleep(0.3)
            for job in (late, mid):  # nobody holds them now: they say "running" until a worker takes them back
                orphaned = job_wait(http, headers, job["task_id"], {"queued", "running", "done", "failed"})
                assert orphaned["status"] == "running" and orphaned["attempts"] == 1, orphaned
            time.sleep(max(0.0, killed_at + VISIBILITY_TIMEOUT_S - time.monotonic()))
            workers.start()
            for job in (late, mid):
                done = job_wait(http, headers, job["task_id"], {"done", "failed"})
                assert done["status"] == "done" and done["attempts"] == 2, done
                assert done["response"]["data"]["responses"][0]["text"] == "still here"
            figures["rerun_after_kill_s"] = round(time.monotonic() - killed_at, 1)
    finally:
        workers.stop_all()
        if process is not None:
            process.terminate()
            process.wait(30)

    # What the first killed worker had read from the usage stream but not stored stays pending there, to be
    # stored by the drain that claims it once it has been idle for 30 s (usage_stream_drain: the insert skips
    # ids already stored). So a job's records are those stored plus those still in the stream, by id.
    buffered = collections.defaultdict(set)
    for _, fields in redis.Redis.from_url(private_redis.url).xrange(STREAM):
        entry = json.loads(fields[b"e"])
        buffered[entry["request_id"]].add(entry["id"])
    figures["test_s"], figures["worker_start_s"] = round(time.monotonic() - started, 1), workers.start_seconds
    print("worker killed:", figures, "still in the stream:", dict(buffered))
    for job in (late, mid):
        records = usage_records(request_id=job["request_id"])
        assert [(r.status, r.model) for r in records] == [(200, "sleep-2s")], [
            (str(r.id), r.status, r.created_at) for r in records]
        assert buffered[job["request_id"]] <= {str(records[0].id)}, (records[0].id, buffered)
