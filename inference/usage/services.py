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
from functools import lru_cache
from typing import Sequence

from django.conf import settings
from django.db import close_old_connections, connection

from core.metrics import request_observe
from inference.usage.records import UsageEntry, usage_store
from inference.usage.stream import usage_dead_letter, usage_stream_add, usage_stream_drain

logger = logging.getLogger(__name__)

WRITE_ATTEMPTS = 12  # about 45 s of retries, while the database is away


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


@lru_cache(maxsize=1)
def usage_writer() -> UsageWriter:
    return UsageWriter(settings.INFERGATE["USAGE_FLUSH_SECONDS"], settings.INFERGATE["USAGE_BATCH"])


def _observe(entry: UsageEntry) -> None:
    """Count the request in the Prometheus metrics (every request ends here, whatever its transport)."""
    try:
        request_observe(entry)
    except Exception as error:  # metrics must never cost a request its usage record
        logger.warning("metrics not recorded: %s", type(error).__name__)


async def usage_record(entry: UsageEntry, counters: Sequence[tuple[str, int, int]] = ()) -> bool:
    """Record a finished request: into the durable stream, or the in-process writer if Redis is away.
    ``counters`` (key, delta, ttl seconds) ride along with the record's write to Redis; False when there was
    none (usage not durable) and the caller must send them itself."""
    _observe(entry)
    if not settings.INFERGATE["USAGE_DURABLE"]:
        usage_writer().submit(entry)
        return False
    if not await usage_stream_add(entry, counters):
        usage_writer().submit(entry)
    return True


def usage_flush(timeout: float = 10.0) -> bool:
    """Store everything recorded so far, by this process's writer and in the stream (tests, shutdown)."""
    written = usage_writer().flush(timeout)
    if settings.INFERGATE["USAGE_DURABLE"]:
        try:
            usage_stream_drain()
        except Exception as error:  # Redis or the database is away: the stream keeps the records
            logger.warning("usage stream not drained: %s", type(error).__name__)
            return False
    return written
