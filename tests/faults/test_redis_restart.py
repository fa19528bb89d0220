"""Redis stopped and restarted under load. The app runs under uvicorn against a Redis of this
test's own (the session's shared one is left alone), with durable usage (records go through the Redis
stream, or straight to the database while Redis is away) and INFERGATE_LIMITS_ON_REDIS_ERROR=open: while
Redis is down requests are admitted (limits fail open), none is a 500, and afterwards every request has its
one usage record."""

from __future__ import annotations

import asyncio
import collections
import time
import uuid

import httpx
from asgiref.sync import sync_to_async

from inference.usage.models import UsageRecord
from tests.conftest import tenant_create, uvicorn_start
from tests.faults.traffic import ECHO, echo_load


def count_into(statuses: collections.Counter):
    """Counts each answer's status, or the transport error's name."""
    def note(answer) -> None:
        statuses[answer.status_code if isinstance(answer, httpx.Response) else type(answer).__name__] += 1
    return note


def test_redis_stopped_and_restarted_under_load(transactional_db, private_redis, tmp_path):
    # A limit the load stays under, so that every request asks Redis (and is admitted without it).
    tenant = tenant_create("redis-fault-org", rate_limit_rpm=1_000_000, rate_limit_tpm=1_000_000_000)
    process, base = uvicorn_start(tmp_path, durable_usage=True, env={
        "REDIS_URL": private_redis.url, "INFERGATE_LIMITS_ON_REDIS_ERROR": "open"})
    prefix, sent, statuses = f"redis-{uuid.uuid4().hex[:6]}", [], collections.Counter()
    warm = httpx.post(f"{base}/v1/inference", json=ECHO, headers={**tenant.headers(), "X-Request-ID": f"{prefix}-w"},
                      timeout=60)  # the first request loads the providers
    assert warm.status_code == 200
    sent.append(f"{prefix}-w")
    phases = {}
    try:
        async def run() -> None:
            started = time.monotonic()
            until = started + 5.5
            workers = [asyncio.create_task(echo_load(base, tenant.headers(), prefix, until, sent, count_into(statuses)))
                       for _ in range(4)]
            await asyncio.sleep(1.5)
            phases["before"] = len(sent)
            await asyncio.to_thread(private_redis.stop)
            await asyncio.sleep(2.0)
            phases["down"] = len(sent) - phases["before"]
            await asyncio.to_thread(private_redis.start)
            await asyncio.gather(*workers)
            phases["after"] = len(sent) - phases["before"] - phases["down"]

        asyncio.run(run())
    finally:
        process.terminate()  # its lifespan shutdown writes what it holds and drains the usage stream
        process.wait(30)
    log = (tmp_path / "server.log").read_text()
    print("redis outage load:", phases, dict(statuses))
    assert min(phases.values()) >= 5, (phases, statuses, log[-3000:])  # load before, during and after the outage
    assert set(statuses) == {200}, (statuses, log[-3000:])  # admitted throughout: limits fail open, no 500
    stored = sync_to_async(lambda: set(UsageRecord.objects.filter(request_id__startswith=prefix)
                                       .values_list("request_id", flat=True)))
    recorded = asyncio.run(stored())
    assert recorded == set(sent), (len(recorded), len(sent), phases)  # every request, one record each
