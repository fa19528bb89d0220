"""The durable usage buffer: a Redis stream between the request path and PostgreSQL.

The request path appends each finished request's record to the stream (one XADD, before the answer
leaves), so a web process that crashes right after answering loses nothing. ``usage_stream_drain`` (a
Celery task every second, and ``usage_flush`` in tests) reads the stream through a consumer group,
inserts the records in batches and only then acknowledges and deletes them. Records carry their own
UUID and the insert ignores ids already stored, so a drain that crashed between inserting and
acknowledging replays harmlessly: every request is stored exactly once. Entries left pending by a
drainer that died are claimed by the next one after ``CLAIM_IDLE_MS``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal

import redis

from inference.usage.services import UsageEntry, usage_store
from playground.redis_clients import ERRORS as REDIS_ERRORS
from playground.redis_clients import redis_async, redis_sync

logger = logging.getLogger(__name__)

STREAM = "infergate:usage"
GROUP = "usage-writers"
BATCH = 500
CLAIM_IDLE_MS = 30_000


def _encode(entry: UsageEntry) -> dict[str, str]:
    return {"e": json.dumps(asdict(entry), default=str)}


def _decode(fields: dict[bytes, bytes]) -> UsageEntry:
    data = json.loads(fields[b"e"])
    data["id"] = uuid.UUID(data["id"])
    data["created_at"] = datetime.fromisoformat(data["created_at"])
    for name in ("cost_usd", "saved_cost_usd"):
        if name in data:
            data[name] = Decimal(data[name])
    return UsageEntry(**data)


async def usage_stream_add(entry: UsageEntry) -> bool:
    """Append the record to the stream; False when Redis cannot take it (the caller falls back)."""
    try:
        await redis_async().xadd(STREAM, _encode(entry))
        return True
    except REDIS_ERRORS as error:
        logger.warning("usage stream unavailable (%s); record %s goes through the in-process buffer",
                       type(error).__name__, entry.request_id)
        return False


def _consumer() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def _ensure_group(client: redis.Redis) -> None:
    try:
        client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    except redis.ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


def _store(client: redis.Redis, messages: list[tuple[bytes, dict[bytes, bytes]]], *, acknowledge: bool = True) -> int:
    if not messages:
        return 0
    usage_store([_decode(fields) for _, fields in messages])  # raises while the database is down: stay pending
    if acknowledge:
        ids = [message_id for message_id, _ in messages]
        client.xack(STREAM, GROUP, *ids)
        client.xdel(STREAM, *ids)
    return len(messages)


def _read(client: redis.Redis, consumer: str, start: str) -> list[tuple[bytes, dict[bytes, bytes]]]:
    reply = client.xreadgroup(GROUP, consumer, {STREAM: start}, count=BATCH)
    return [m for _, messages in reply for m in messages if m[1]]  # deleted entries come back empty


def usage_stream_drain(*, max_batches: int = 200, acknowledge: bool = True) -> int:
    """Move buffered records into PostgreSQL; returns how many were stored. ``acknowledge=False``
    stores without acknowledging (what a drainer that crashes at the worst moment leaves behind)."""
    client, consumer, stored = redis_sync(), _consumer(), 0
    _ensure_group(client)
    # This consumer's own pending entries first (a previous drain of this process failed midway),
    # then entries a dead drainer left pending, then new ones.
    stored += _store(client, _read(client, consumer, "0"), acknowledge=acknowledge)
    _, claimed, *_ = client.xautoclaim(STREAM, GROUP, consumer, min_idle_time=CLAIM_IDLE_MS, start_id="0-0",
                                       count=BATCH)
    stored += _store(client, [m for m in claimed if m[1]], acknowledge=acknowledge)
    for _ in range(max_batches):
        messages = _read(client, consumer, ">")
        if not messages:
            break
        stored += _store(client, messages, acknowledge=acknowledge)
    return stored


def usage_stream_depth() -> int:
    """Records waiting in the stream (for /readyz and alarms)."""
    try:
        return int(redis_sync().xlen(STREAM))
    except REDIS_ERRORS:
        return -1

