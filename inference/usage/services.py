"""Usage records are written off the hot path: ``usage_record`` only enqueues; a writer thread per
process inserts them in batches (``bulk_create``) every ``USAGE_FLUSH_SECONDS`` or ``USAGE_BATCH``
records, and on exit. A failed insert is retried with backoff; records stay queued meanwhile.

The same thread stamps ``ApiKey.last_used_at`` (coalesced, at most once a minute per key).
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.utils import timezone

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
    error_type: str = ""
    created_at: datetime = field(default_factory=timezone.now)


def usage_cost(usage: Usage, price: Price) -> Decimal:
    cost = (usage.prompt * price.prompt_per_million + usage.completion * price.completion_per_million) / 1_000_000
    return Decimal(str(round(cost, 8)))


class UsageWriter:
    def __init__(self, flush_seconds: float, batch: int) -> None:
        self.flush_seconds = flush_seconds
        self.batch = batch
        self._queue: queue.SimpleQueue[UsageEntry] = queue.SimpleQueue()
        self._touched: dict[int, float] = {}
        self._to_touch: set[int] = set()
        self._pending = 0
        self._cond = threading.Condition()
        self._write_lock = threading.Lock()
        self._thread_pid: int | None = None
        atexit.register(self.flush)

    def submit(self, entry: UsageEntry) -> None:
        with self._cond:
            self._pending += 1
            if entry.api_key_id is not None:
                last = self._touched.get(entry.api_key_id, 0.0)
                if time.monotonic() - last > KEY_TOUCH_SECONDS:
                    self._touched[entry.api_key_id] = time.monotonic()
                    self._to_touch.add(entry.api_key_id)
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
                _insert(entries)
                with self._cond:
                    touch, self._to_touch = self._to_touch, set()
                if touch:
                    _keys_touch(touch)
                break
            except IntegrityError:
                # A namespace or organization was deleted since the request: its usage goes with it.
                _insert_one_by_one(entries)
                break
            except Exception:  # the database is down or refused: keep the records and retry
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


def _insert(entries: list[UsageEntry]) -> None:
    from inference.usage.models import UsageRecord

    UsageRecord.objects.bulk_create([UsageRecord(**asdict(e)) for e in entries])


def _insert_one_by_one(entries: list[UsageEntry]) -> None:
    for entry in entries:
        try:
            with transaction.atomic():
                _insert([entry])
        except IntegrityError:
            logger.warning("usage record %s dropped: its namespace or key no longer exists", entry.request_id)


def _keys_touch(key_ids: set[int]) -> None:
    from playground.accounts.models import ApiKey

    ApiKey.objects.filter(id__in=key_ids).update(last_used_at=timezone.now())


@lru_cache(maxsize=1)
def usage_writer() -> UsageWriter:
    return UsageWriter(settings.INFERGATE["USAGE_FLUSH_SECONDS"], settings.INFERGATE["USAGE_BATCH"])


def usage_record(entry: UsageEntry) -> None:
    usage_writer().submit(entry)


def usage_flush(timeout: float = 10.0) -> bool:
    return usage_writer().flush(timeout)
