"""One refresh-ahead cache for what the request path reads from PostgreSQL on every request (verified keys,
namespaces, provider credentials, a namespace's enabled plugins).

A value is loaded on one of a few loader threads of the process, each keeping its database connection open
between loads (a connection per load cost more CPU than the query, several times a second per cached value:
bench/results/2026-12-06-gateway-overhead.md); a load that fails on a kept connection closes it and is tried once
more on a new one, so a restarted PostgreSQL costs nobody an error. A value is kept for ``ttl()`` seconds. In
the last quarter of its life it is reloaded in the background while it is still served, so that steady traffic
never waits for the query, and what is served is never older than the ttl. Requests that miss at the same moment
share one load (a burst after expiry used to open one connection per request). A failed load raises to the
requests that waited for it, and leaves nothing cached.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Hashable

from asgiref.sync import sync_to_async
from django.db import DatabaseError, connections

RELOAD_AT = 0.75  # of a value's life: from then on it is reloaded in the background while still served
MAX_ENTRIES = 50_000  # past this the cache starts afresh (a bound on memory, not an eviction policy)


LOADERS = 2  # threads per process that run loads: each holds one database connection
_loaders = ThreadPoolExecutor(max_workers=LOADERS, thread_name_prefix="infergate-refresh")
_kept: set = set()  # the loader threads' database connections (wrappers), for refresh_connections_close
_kept_lock = threading.Lock()


def _on_kept_connection(load: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        wrapper = connections["default"]
        reused = wrapper.connection is not None
        with _kept_lock:
            _kept.add(wrapper)
        try:
            return load()
        except DatabaseError:
            wrapper.close()  # a broken connection is not kept; a dropped kept one gets one more try on a new one
            if not reused:
                raise
        try:
            return load()
        except DatabaseError:
            wrapper.close()
            raise

    return run


def refresh_connections_close() -> None:
    """Close the loader threads' database connections (the server's shutdown; the end of a test session)."""
    with _kept_lock:
        kept = list(_kept)
    for wrapper in kept:
        wrapper.inc_thread_sharing()  # closed from this thread while its own thread waits for work
        try:
            wrapper.close()
        finally:
            wrapper.dec_thread_sharing()


class RefreshAheadCache:
    def __init__(self, ttl: Callable[[], float]) -> None:
        self._ttl = ttl
        self._entries: dict[Hashable, tuple[float, Any, float]] = {}  # key: (expires at, value, reload from)
        self._inflight: dict[Hashable, asyncio.Future] = {}

    async def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The value for ``key``, loaded by ``load`` (a plain function, run on a pool thread) when needed."""
        hit, now = self._entries.get(key), time.monotonic()
        if hit is not None and hit[0] > now:
            if now >= hit[2]:
                self._reload(key, load)
            return hit[1]
        return await asyncio.shield(self._reload(key, load))

    def _reload(self, key: Hashable, load: Callable[[], Any]) -> asyncio.Future:
        pending = self._inflight.get(key)
        if pending is None or pending.get_loop() is not asyncio.get_running_loop():

            async def refresh() -> Any:
                try:
                    value = await sync_to_async(_on_kept_connection(load), thread_sensitive=False,
                                                executor=_loaders)()
                    self.put(key, value)
                    return value
                finally:
                    self._inflight.pop(key, None)

            pending = self._inflight[key] = asyncio.ensure_future(refresh())
            # A failed background reload is for the next request that misses to see, not a "never retrieved" log.
            pending.add_done_callback(lambda done: done.cancelled() or done.exception())
        return pending

    @property
    def reloading(self) -> int:
        """Loads under way."""
        return len(self._inflight)

    async def settled(self) -> None:
        """Wait for the loads under way (tests)."""
        await asyncio.gather(*self._inflight.values(), return_exceptions=True)

    def put(self, key: Hashable, value: Any) -> Any:
        if len(self._entries) > MAX_ENTRIES:
            self._entries.clear()
        ttl, now = self._ttl(), time.monotonic()
        self._entries[key] = (now + ttl, value, now + ttl * RELOAD_AT)
        return value

    def forget(self, key: Hashable) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()
