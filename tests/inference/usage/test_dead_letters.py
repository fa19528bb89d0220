"""A usage record PostgreSQL refuses never holds up the others: the drain stores what it can, moves the
refused record to the dead letters (one ERROR line each) and goes on; the dead letters are listed,
replayed (mended with --repair) and dropped with `manage.py usage_dead_letters`; /readyz tells how far
behind the drain is."""

from __future__ import annotations

import io
import json
import logging
import uuid

import pytest
from asgiref.sync import sync_to_async
from django.core.management import CommandError, call_command

from core.redis import redis_sync
from inference.usage.models import UsageRecord
from inference.usage.records import UsageEntry
from inference.usage.services import usage_flush, usage_writer
from inference.usage.stream import DEAD, STREAM, _encode, usage_dead_letters, usage_stream_drain
from tests.conftest import tenant_create


@pytest.fixture
def tenant(transactional_db):
    usage_flush()
    redis_sync().delete(DEAD)
    yield tenant_create("dead-letters", "main")
    redis_sync().delete(DEAD)


def entry(tenant, request_id: str, **fields) -> UsageEntry:
    return UsageEntry(**{"request_id": request_id, "status": 200, "organization_id": tenant.organization.id,
                         "namespace_id": tenant.namespace.id, "api_key_id": tenant.key_id, "provider": "test",
                         "model": "echo", "total_tokens": 7, **fields})


def queued(*entries: UsageEntry) -> None:
    """Into the stream exactly as the request path appends a record."""
    for item in entries:
        redis_sync().xadd(STREAM, _encode(item))


def stored(*request_ids: str) -> list[str]:
    return sorted(UsageRecord.objects.filter(request_id__in=request_ids).values_list("request_id", flat=True))


def command(*args: str) -> str:
    out = io.StringIO()
    call_command("usage_dead_letters", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_one_unstorable_record_does_not_hold_up_the_batch(tenant, caplog):
    good = [entry(tenant, f"good-{i}") for i in range(3)]
    poison = entry(tenant, "poison-nul", model="all-minilm-l6-v2\u0000")
    surrogate = entry(tenant, "poison-surrogate", provider="a\ud800")
    too_long = entry(tenant, "poison-long", model="m" * 5000)
    queued(good[0], poison, good[1], surrogate, too_long, good[2])
    redis_sync().xadd(STREAM, {"e": b"{not json"})  # not a record this code wrote

    with caplog.at_level(logging.ERROR, logger="inference.usage.stream"):
        usage_stream_drain()

    assert stored(*[g.request_id for g in good]) == ["good-0", "good-1", "good-2"]
    assert stored("poison-nul", "poison-surrogate", "poison-long") == []
    assert redis_sync().xlen(STREAM) == 0  # acknowledged and gone: the next drain starts afresh
    letters = usage_dead_letters()
    assert len(letters) == 4 and len(caplog.records) == 4  # one ERROR line each
    reasons = {json.loads(letter.record)["request_id"] if letter.record.startswith("{\"") else "?": letter.reason
               for letter in letters}
    assert reasons["poison-nul"] == "DataError" and reasons["poison-long"] == "DataError"
    assert reasons["poison-surrogate"] == "UnicodeEncodeError"
    assert reasons["?"].startswith("undecodable")
    # The drain goes on: a record queued next is stored at once.
    queued(entry(tenant, "after"))
    usage_stream_drain()
    assert stored("after") == ["after"]


def test_dead_letters_are_listed_replayed_and_dropped(tenant):
    queued(entry(tenant, "poison-1", model="bad\u0000model", prompt_tokens=5, total_tokens=12),
           entry(tenant, "poison-2", model="x\u0000"))
    redis_sync().xadd(STREAM, {"e": b"[]"})
    usage_stream_drain()

    listed = [json.loads(line) for line in command("list").splitlines()]
    assert [json.loads(item["record"])["request_id"] for item in listed[:2]] == ["poison-1", "poison-2"]
    assert all(item["reason"] and item["at"] and item["source"] for item in listed)

    # Replayed as they are, PostgreSQL refuses them again: they stay.
    assert json.loads(command("replay", listed[0]["id"])) == {"stored": 0, "refused": 1, "undecodable": 0}
    assert len(usage_dead_letters()) == 3
    # Mended, the record counts: tokens as they were, the unstorable character replaced.
    assert json.loads(command("replay", "--repair", listed[0]["id"])) == {"stored": 1, "refused": 0,
                                                                         "undecodable": 0}
    record = UsageRecord.objects.get(request_id="poison-1")
    assert (record.model, record.prompt_tokens, record.total_tokens) == ("bad\ufffdmodel", 5, 12)
    assert [letter.id for letter in usage_dead_letters()] == [listed[1]["id"], listed[2]["id"]]
    # Replaying again stores nothing twice (the record id is the same).
    assert json.loads(command("replay", "--repair")) == {"stored": 1, "refused": 0, "undecodable": 1}
    assert UsageRecord.objects.filter(request_id__in=["poison-1", "poison-2"]).count() == 2
    with pytest.raises(CommandError):
        command("drop")
    assert json.loads(command("drop", listed[2]["id"])) == {"dropped": 1}
    assert usage_dead_letters() == []


def test_the_in_process_writer_sets_an_unstorable_record_aside_too(tenant, settings):
    """With the stream off (or Redis away when the record was made), the writer stores the rest and
    dead-letters the one it cannot."""
    settings.INFERGATE = {**settings.INFERGATE, "USAGE_DURABLE": False}
    writer = usage_writer()
    for item in (entry(tenant, "w-good-1"), entry(tenant, "w-poison", inference_name="p\u0000"),
                 entry(tenant, "w-good-2")):
        writer.submit(item)
    assert writer.flush(10)
    assert stored("w-good-1", "w-good-2", "w-poison") == ["w-good-1", "w-good-2"]
    (letter,) = usage_dead_letters()
    assert json.loads(letter.record)["request_id"] == "w-poison" and letter.source == ""


async def test_readiness_reports_the_drain_lag_and_the_dead_letters(tenant, client, settings):
    settings.INFERGATE = {**settings.INFERGATE, "USAGE_LAG_READY_SECONDS": 60}
    redis = redis_sync()
    ready = (await client.get("/readyz")).json()
    assert ready["checks"]["usage"] == {"ok": True, "lag_s": 0.0, "lag_limit_s": 60, "dead_letters": 0}
    # A record added two minutes ago (its stream id is the Redis clock's milliseconds) and never drained.
    await sync_to_async(redis.delete)(STREAM)
    seconds, _ = await sync_to_async(redis.time)()
    await sync_to_async(redis.xadd)(STREAM, _encode(entry(tenant, "old")), id=f"{(seconds - 120) * 1000}-0")
    await sync_to_async(redis.xadd)(DEAD, {"e": "{}", "error": "DataError", "source": "", "at": "now"})
    response = await client.get("/readyz")
    assert response.status_code == 503
    usage = response.json()["checks"]["usage"]
    assert usage["ok"] is False and 119 <= usage["lag_s"] < 130 and usage["dead_letters"] == 1
    metrics = (await client.get("/metrics")).text
    lag = next(line for line in metrics.splitlines() if line.startswith("infergate_usage_drain_lag_seconds "))
    assert 119 <= float(lag.split()[1]) < 130
    assert "infergate_usage_dead_letters 1.0" in metrics
    # Drained, the node is ready again; dead letters alone never make it unready.
    await sync_to_async(usage_stream_drain)()
    response = await client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"]["usage"]["lag_s"] == 0.0
    # 0 turns the lag check off.
    settings.INFERGATE = {**settings.INFERGATE, "USAGE_LAG_READY_SECONDS": 0}
    await sync_to_async(redis.xadd)(STREAM, _encode(entry(tenant, f"late-{uuid.uuid4().hex}")))
    assert (await client.get("/readyz")).status_code == 200
