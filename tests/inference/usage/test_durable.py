"""Usage records survive a web process that dies right after answering, and are stored exactly once
even when a drain is interrupted between storing and acknowledging."""

from __future__ import annotations

import signal

import httpx
from asgiref.sync import sync_to_async

from core.redis import redis_sync
from inference.usage.models import UsageRecord
from inference.usage.stream import GROUP, STREAM, usage_stream_drain
from tests.conftest import post_inference, tenant_create, uvicorn_start

ECHO = {"provider": "test", "model": "echo", "inputs": {"prompts": ["hi"]}}


def stored(request_ids: list[str]) -> dict[str, int]:
    return {rid: UsageRecord.objects.filter(request_id=rid).count() for rid in request_ids}


async def test_a_crash_after_answering_loses_no_record(transactional_db, tmp_path):
    tenant = await sync_to_async(tenant_create)("crash", "main")
    await sync_to_async(usage_stream_drain)()  # start from an empty stream
    process, base = await sync_to_async(uvicorn_start)(tmp_path)
    request_ids = [f"crash-{i}" for i in range(5)]
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            for rid in request_ids:
                response = await http.post("/v1/inference", json=ECHO, headers=tenant.headers(**{"X-Request-ID": rid}))
                assert response.status_code == 200
    finally:
        process.send_signal(signal.SIGKILL)  # no shutdown, no flush: the process is simply gone
        process.wait(10)
    assert await sync_to_async(stored)(request_ids) == dict.fromkeys(request_ids, 0)  # nothing drained yet
    assert await sync_to_async(usage_stream_drain)() >= 5
    assert await sync_to_async(stored)(request_ids) == dict.fromkeys(request_ids, 1)


async def test_a_drain_interrupted_before_acknowledging_replays_without_duplicates(transactional_db, client):
    tenant = await sync_to_async(tenant_create)("replay", "main")
    await sync_to_async(usage_stream_drain)()
    request_ids = [f"replay-{i}" for i in range(3)]
    for rid in request_ids:
        assert (await post_inference(client, ECHO, tenant.headers(**{"X-Request-ID": rid}))).status_code == 200
    # Stored, then the drainer "dies" before XACK: the entries stay pending in the group.
    assert await sync_to_async(usage_stream_drain)(acknowledge=False) == 3
    assert redis_sync().xpending(STREAM, GROUP)["pending"] >= 3
    assert await sync_to_async(usage_stream_drain)() >= 3  # the replay
    assert await sync_to_async(stored)(request_ids) == dict.fromkeys(request_ids, 1)
    assert redis_sync().xpending(STREAM, GROUP)["pending"] == 0
