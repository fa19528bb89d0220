"""The durable usage buffer: a Redis stream between the request path and PostgreSQL.

The request path appends each finished request's record to the stream (one XADD, before the answer
leaves), so a web process that crashes right after answering loses nothing. ``usage_stream_drain`` (a
Celery task every second, and ``usage_flush`` in tests) reads the stream through a consumer group,
inserts the records in batches and only then acknowledges and deletes them. Records carry their own
UUID and the insert ignores ids already stored, so a drain that crashed between inserting and
acknowledging replays harmlessly: every request is stored exactly once. Entries left pending by a
drainer that died are claimed by the next one after ``CLAIM_IDLE_MS``.

A record that PostgreSQL refuses (a value it cannot hold) never holds up the others: the drain stores
what it can and moves the refused record to the dead-letter stream ``DEAD`` (one ERROR line and a count in
``/metrics`` each), where ``manage.py usage_dead_letters`` lists it and replays it once what refused it
is mended (``--repair`` replaces what PostgreSQL cannot hold). ``usage_backlog`` says how far behind the
drain is (the age of the oldest record not yet stored) for ``/readyz`` and ``/metrics``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import socket
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Sequence

import redis
from django.utils import timezone

from core.encoding import json_bytes
from core.metrics import usage_dead_lettered
from core.redis import ERRORS as REDIS_ERRORS
from core.redis import redis_async, redis_sync
from core.strings import storable
from inference.usage.models import UsageRecord
from inference.usage.records import UsageEntry, usage_store

logger = logging.getLogger(__name__)

STREAM = "infergate:usage"
DEAD = "infergate:usage:dead"  # records PostgreSQL refused, until replayed or dropped
GROUP = "usage-writers"
BATCH = 500
CLAIM_IDLE_MS = 30_000


def _encode(entry: UsageEntry) -> dict[str, bytes]:
    # vars(), not asdict(): the fields are flat values, and asdict's deep copy was half of this (profiled)
    return {"e": json_bytes(vars(entry), default=str)}


def _decode(fields: dict[bytes, bytes]) -> UsageEntry:
    data = json.loads(fields[b"e"])
    data["id"] = uuid.UUID(data["id"])
    data["created_at"] = datetime.fromisoformat(data["created_at"])
    for name in ("cost_usd", "saved_cost_usd"):
        if data.get(name) is not None:
            data[name] = Decimal(data[name])
    return UsageEntry(**data)


async def usage_stream_add(entry: UsageEntry, counters: Sequence[tuple[str, int, int]] = ()) -> bool:
    """Append the record to the stream; False when Redis cannot take it (the caller falls back). ``counters``
    (key, delta, ttl seconds: INCRBY then EXPIRE) go in the same round trip, the request's other write to Redis; they
    are not sent again when it fails (Redis away: a limit's counter is then off by one request's correction, as
    when a settlement of its own fails)."""
    try:
        if not counters:
            await redis_async().xadd(STREAM, _encode(entry))
            return True
        async with redis_async().pipeline(transaction=False) as pipe:
            pipe.xadd(STREAM, _encode(entry))
            for key, delta, ttl in counters:
                pipe.incrby(key, delta)
                pipe.expire(key, ttl)
            replies = await pipe.execute(raise_on_error=False)
        if isinstance(replies[0], Exception):
            raise replies[0]
        if failed := [r for r in replies[1:] if isinstance(r, Exception)]:
            logger.warning("counters sent with usage record %s not updated: %s", entry.request_id,
                           type(failed[0]).__name__)
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
    """Store a batch; returns how many were stored. What cannot be stored goes to the dead letters, in
    the same transaction that acknowledges the batch."""
    if not messages:
        return 0
    decoded, dead = [], []
    for message_id, fields in messages:
        try:
            decoded.append((message_id, _decode(fields)))
        except Exception as error:  # not a record this code wrote: keep it for a person to look at
            dead.append(DeadLetter(message_id, fields.get(b"e", b""), f"undecodable ({type(error).__name__})"))
    rejected = usage_store([entry for _, entry in decoded])  # raises while the database is down: stay pending
    source = {id(entry): message_id for message_id, entry in decoded}
    dead += [DeadLetter(source[id(entry)], _encode(entry)["e"], reason) for entry, reason in rejected]
    position = {message_id: i for i, (message_id, _) in enumerate(messages)}
    dead.sort(key=lambda letter: position[letter.source])  # in the order they arrived
    if acknowledge:
        ids = [message_id for message_id, _ in messages]
        with client.pipeline(transaction=True) as pipe:
            for letter in dead:
                pipe.xadd(DEAD, letter.fields())
            pipe.xack(STREAM, GROUP, *ids)
            pipe.xdel(STREAM, *ids)
            pipe.execute()
        for letter in dead:
            letter.report()
    return len(messages) - len(dead)


@dataclass(frozen=True)
class DeadLetter:
    source: bytes | None  # the id it had in the usage stream (None: from the in-process writer)
    record: bytes  # the record as the stream held it (JSON)
    reason: str

    def fields(self) -> dict[str, str | bytes]:
        return {"e": self.record, "error": self.reason, "source": self.source or b"", "at": timezone.now().isoformat()}

    def report(self) -> None:
        logger.error("usage record moved to the dead-letter stream %s (%s): %s", DEAD, self.reason,
                     self.record[:300].decode("utf-8", "replace"))
        usage_dead_lettered()


def usage_dead_letter(rejected: list[tuple[UsageEntry, str]]) -> None:
    """Records the in-process writer could not store: into the dead letters, or, with Redis away too,
    whole into the log (an ERROR line each), never dropped without a word."""
    letters = [DeadLetter(None, _encode(entry)["e"], reason) for entry, reason in rejected]
    try:
        with redis_sync().pipeline(transaction=True) as pipe:
            for letter in letters:
                pipe.xadd(DEAD, letter.fields())
            pipe.execute()
    except REDIS_ERRORS as error:
        for letter in letters:
            logger.error("usage record not stored and no dead-letter stream (%s; %s): %s", letter.reason,
                         type(error).__name__, letter.record.decode("utf-8", "replace"))
        return
    for letter in letters:
        letter.report()


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


@dataclass(frozen=True)
class Backlog:
    lag_s: float  # the age of the oldest record not yet stored (0: none waiting)
    dead_letters: int


def _backlog(oldest: list, now: tuple[int, int], dead: int) -> Backlog:
    if not oldest:
        return Backlog(0.0, int(dead))
    added_ms = int(oldest[0][0].split(b"-")[0])  # a stream id is the Redis clock's milliseconds when it was added
    return Backlog(round(max(0.0, now[0] + now[1] / 1e6 - added_ms / 1000), 3), int(dead))


async def usage_backlog() -> Backlog:
    """How far behind the drain is, on the Redis clock (no skew with this machine's)."""
    async with redis_async().pipeline(transaction=False) as pipe:
        oldest, now, dead = await pipe.xrange(STREAM, count=1).time().xlen(DEAD).execute()
    return _backlog(oldest, now, dead)


def usage_backlog_sync() -> Backlog | None:
    """``usage_backlog`` for threads (the metrics scrape); None when Redis cannot be reached."""
    try:
        with redis_sync().pipeline(transaction=False) as pipe:
            oldest, now, dead = pipe.xrange(STREAM, count=1).time().xlen(DEAD).execute()
    except REDIS_ERRORS:
        return None
    return _backlog(oldest, now, dead)


# -- dead letters: what an operator reads and replays (manage.py usage_dead_letters) -------------------

@dataclass(frozen=True)
class StoredDeadLetter:
    id: str
    reason: str
    source: str
    at: str
    record: str  # JSON, as it was in the stream

    def summary(self) -> dict[str, str]:
        return {"id": self.id, "at": self.at, "reason": self.reason, "source": self.source, "record": self.record}


def usage_dead_letters(*, ids: list[str] | None = None, limit: int = 1000) -> list[StoredDeadLetter]:
    """The dead letters, oldest first (those named by ``ids`` only, when given)."""
    client = redis_sync()
    if ids:
        rows = [row for message_id in ids for row in client.xrange(DEAD, message_id, message_id)]
    else:
        rows = client.xrange(DEAD, count=limit)
    return [StoredDeadLetter(id=message_id.decode(), reason=_text(row.get(b"error")), source=_text(row.get(b"source")),
                             at=_text(row.get(b"at")), record=_text(row.get(b"e"))) for message_id, row in rows]


def _text(value: bytes | None) -> str:
    return (value or b"").decode("utf-8", "surrogatepass")


def usage_dead_letters_replay(*, ids: list[str] | None = None, repair: bool = False) -> dict[str, int]:
    """Store dead letters again (all, or those named); each stored one leaves the dead letters. With
    ``repair``, what PostgreSQL cannot hold is mended first: NUL and lone surrogates become U+FFFD and
    strings are cut to their column's length, so that the record (its tokens and cost) counts."""
    client, counts = redis_sync(), {"stored": 0, "refused": 0, "undecodable": 0}
    for letter in usage_dead_letters(ids=ids, limit=100_000):
        try:
            entry = _decode({b"e": letter.record.encode("utf-8", "surrogatepass")})
        except Exception:
            counts["undecodable"] += 1
            continue
        if repair:
            entry = _repaired(entry)
        if usage_store([entry]):
            counts["refused"] += 1
            continue
        client.xdel(DEAD, letter.id)
        counts["stored"] += 1
    return counts


def usage_dead_letters_drop(*, ids: list[str]) -> int:
    return int(redis_sync().xdel(DEAD, *ids)) if ids else 0


def _repaired(entry: UsageEntry) -> UsageEntry:
    changes = {}
    for field in dataclasses.fields(entry):
        value = getattr(entry, field.name)
        if isinstance(value, str):
            limit = getattr(UsageRecord._meta.get_field(field.name), "max_length", None)
            changes[field.name] = storable(value)[:limit]
    return replace(entry, **changes)
