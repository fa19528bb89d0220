"""Usage records are written off the hot path. ``usage_record`` appends a request's record to a Redis
stream (inference/usage/stream.py: durable, drained into PostgreSQL by Celery every second); when Redis
cannot take it, an in-process writer thread inserts it instead (batches every ``USAGE_FLUSH_SECONDS``,
retried with backoff, flushed on exit). Either way the insert ignores record ids already stored, so a
replay never duplicates a record. Storing also stamps ``ApiKey.last_used_at``.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.utils import timezone

from inference.errors import outage
from inference.types import Price, Usage

logger = logging.getLogger(__name__)

PRICE_TABLE_VERSION = "2026-11-23"
KEY_TOUCH_SECONDS = 60.0
WRITE_ATTEMPTS = 12  # about 45 s of retries; issue 8 replaces this buffer with a durable queue


@dataclass
class UsageEntry:
    request_id: str
    status: int
    endpoint: str = "inference"
    organization_id: int | None = None
    namespace_id: str | None = None
    api_key_id: int | None = None
    provider: str = ""
    model: str = ""
    inference_name: str = ""
    modality: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    price_version: str = ""
    latency_ms: float = 0.0
    cached: bool = False
    cache_decision: str = ""
    saved_tokens: int = 0
    saved_cost_usd: Decimal = Decimal(0)
    error_type: str = ""
    created_at: datetime = field(default_factory=timezone.now)
    id: uuid.UUID = field(default_factory=uuid.uuid4)  # fixed when the request ends: replays are idempotent


def usage_cost(usage: Usage, price: Price) -> Decimal:
    cost = (usage.prompt * price.prompt_per_million + usage.completion * price.completion_per_million) / 1_000_000
    cost += usage.audio_seconds / 60 * price.per_audio_minute
    return Decimal(str(round(cost, 8)))


class UsageWriter:
    def __init__(self, flush_seconds: float, batch: int) -> None:
        self.flush_seconds = flush_seconds
        self.batch = batch
        self._queue: queue.SimpleQueue[UsageEntry] = queue.SimpleQueue()
        self._pending = 0
        self._cond = threading.Condition()
        self._write_lock = threading.Lock()
        self._thread_pid: int | None = None
        atexit.register(self.flush)

    def submit(self, entry: UsageEntry) -> None:
        with self._cond:
            self._pending += 1
        self._queue.put(entry)
        if self._thread_pid != os.getpid():
            self._start()

    def _start(self) -> None:
        with self._cond:
            if self._thread_pid == os.getpid():
                return
            self._thread_pid = os.getpid()
        threading.Thread(target=self._run, name="usage-writer", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(self.flush_seconds)
            self._write_available()

    def _write_available(self) -> None:
        with self._write_lock:
            while True:
                entries = []
                while len(entries) < self.batch:
                    try:
                        entries.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                if not entries:
                    return
                self._write(entries)

    def _write(self, entries: list[UsageEntry]) -> None:
        delay = 0.2
        for attempt in range(WRITE_ATTEMPTS):
            try:
                close_old_connections()
                rejected = usage_store(entries)
                if rejected:
                    from inference.usage.stream import usage_dead_letter

                    usage_dead_letter(rejected)
                break
            except Exception:  # the database is down: keep the records and retry
                logger.exception("writing %d usage records failed (attempt %d)", len(entries), attempt + 1)
                connection.close()
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        else:
            logger.error("gave up writing %d usage records: %s", len(entries),
                         [(e.request_id, e.namespace_id, e.status, e.total_tokens) for e in entries])
        with self._cond:
            self._pending -= len(entries)
            self._cond.notify_all()

    def flush(self, timeout: float = 10.0) -> bool:
        """Write everything submitted so far; True once nothing is pending."""
        self._write_available()
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending and time.monotonic() < deadline:
                self._cond.wait(0.05)
            return self._pending == 0


def usage_store(entries: list[UsageEntry]) -> list[tuple[UsageEntry, str]]:
    """Insert the records (ids already stored are skipped) and stamp their keys' last use. Returns the
    records that cannot be stored, each with the reason (a value PostgreSQL refuses): the caller moves them
    aside, so that one bad record never holds up the others. A record whose namespace or key was deleted
    since its request is dropped; a database that cannot be reached raises (nothing is lost: try again)."""
    try:
        with transaction.atomic():
            _insert(entries)
        rejected: list[tuple[UsageEntry, str]] = []
    except Exception as error:
        if outage(error) is not None:
            raise
        rejected = _insert_one_by_one(entries)
    _keys_touch({e.api_key_id for e in entries if e.api_key_id is not None})
    return rejected


def _insert(entries: list[UsageEntry]) -> None:
    from inference.usage.models import UsageRecord

    UsageRecord.objects.bulk_create([UsageRecord(**asdict(e)) for e in entries], ignore_conflicts=True)


def _insert_one_by_one(entries: list[UsageEntry]) -> list[tuple[UsageEntry, str]]:
    rejected = []
    for entry in entries:
        try:
            with transaction.atomic():
                _insert([entry])
        except IntegrityError:
            logger.warning("usage record %s dropped: its namespace or key no longer exists", entry.request_id)
        except Exception as error:
            if outage(error) is not None:
                raise
            rejected.append((entry, type(error).__name__))
    return rejected


def _keys_touch(key_ids: set[int]) -> None:
    from django.db.models import Q

    from playground.accounts.models import ApiKey

    if not key_ids:
        return
    now = timezone.now()
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - timedelta(seconds=KEY_TOUCH_SECONDS))
    ApiKey.objects.filter(stale, id__in=key_ids).update(last_used_at=now)


@lru_cache(maxsize=1)
def usage_writer() -> UsageWriter:
    return UsageWriter(settings.INFERGATE["USAGE_FLUSH_SECONDS"], settings.INFERGATE["USAGE_BATCH"])


def _observe(entry: UsageEntry) -> None:
    """Count the request in the Prometheus metrics (every request ends here, whatever its transport)."""
    from inference.observability.metrics import request_observe

    try:
        request_observe(entry)
    except Exception as error:  # metrics must never cost a request its usage record
        logger.warning("metrics not recorded: %s", type(error).__name__)


async def usage_record(entry: UsageEntry) -> None:
    """Record a finished request: into the durable stream, or the in-process writer if Redis is away."""
    from inference.usage.stream import usage_stream_add

    _observe(entry)
    if not settings.INFERGATE["USAGE_DURABLE"] or not await usage_stream_add(entry):
        usage_writer().submit(entry)


def usage_flush(timeout: float = 10.0) -> bool:
    """Store everything recorded so far, by this process's writer and in the stream (tests, shutdown)."""
    from inference.usage.stream import usage_stream_drain

    written = usage_writer().flush(timeout)
    if settings.INFERGATE["USAGE_DURABLE"]:
        try:
            usage_stream_drain()
        except Exception as error:  # Redis or the database is away: the stream keeps the records
            logger.warning("usage stream not drained: %s", type(error).__name__)
            return False
    return written
