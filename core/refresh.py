"""One refresh-ahead cache for what the request path reads from PostgreSQL on every request (verified keys,
namespaces, provider credentials, prompt labels, a namespace's enabled plugins, its request-log switch).

A value is kept for ``ttl()`` seconds. In the last quarter of its life, and past it, it is checked again: if nothing
this cache holds has changed since it was loaded (the config version in Redis, which every write to what is cached
here bumps once it commits: ``config_changed``, from our services and from model signals, so Django admin's saves
too) and it is younger than ``MAX_AGE_S``, one Redis read renews it; otherwise it is loaded again, in the background
while it is still served in its last quarter, before the answer past its end. A change is seen everywhere within the
ttl (plus the ``VERSION_READ_S`` a version read is reused for), and within ``MAX_AGE_S`` should its bump have found
Redis away. A key used every few seconds used to pay a load per cache on each request, 7 ms in all
(bench/results/2026-12-06-gateway-overhead.md).

Loads run on a few loader threads of the process, each keeping its database connection open between loads (a
connection per load cost more CPU than the query); a load that fails on a kept connection closes it and is tried
once more on a new one, so a restarted PostgreSQL costs nobody an error. Requests that miss at the same moment share
one load (a burst after expiry used to open one connection per request). A failed load raises to the requests that
waited for it, and leaves nothing cached.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Hashable

from asgiref.sync import sync_to_async
from django.db import DatabaseError, connections, transaction

from core.redis import ERRORS as REDIS_ERRORS
from core.redis import redis_async, redis_sync

logger = logging.getLogger(__name__)

RELOAD_AT = 0.75  # of a value's life: from then on it is reloaded in the background while still served
MAX_ENTRIES = 50_000  # past this the cache starts afresh (a bound on memory, not an eviction policy)
VERSION_KEY = "infergate:config-version"  # bumped by every change to what these caches hold
VERSION_READ_S = 0.05  # a version read serves the event loop's other checks for this long
MAX_AGE_S = 30.0  # a value is loaded from PostgreSQL again at least this often, whatever the version says


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


def config_changed() -> None:
    """Something these caches hold changed: every process revalidates what it holds at its next expiry. Sent once
    the current transaction commits (at once outside one)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        if transaction.get_connection().in_atomic_block:
            transaction.on_commit(_bump)
        else:
            _bump()
        return
    task = loop.create_task(_bump_async())  # on the event loop: never a blocking call to Redis
    _bumps.add(task)
    task.add_done_callback(_bumps.discard)


_bumps: set[asyncio.Task] = set()


def config_watch(*models: Any) -> None:
    """Bump the config version whenever one of ``models`` (or a many-to-many table of theirs) is saved or deleted,
    by our services or by Django admin (each app's ``ready``). Bulk ``update()`` sends no signal: the services
    that use it forget what they changed, which bumps too."""
    from django.db.models.signals import m2m_changed, post_delete, post_save

    for model in models:
        post_save.connect(_on_signal, sender=model, dispatch_uid=f"config-save-{model._meta.label}")
        post_delete.connect(_on_signal, sender=model, dispatch_uid=f"config-delete-{model._meta.label}")
        for field in model._meta.local_many_to_many:
            m2m_changed.connect(_on_signal, sender=field.remote_field.through,
                                dispatch_uid=f"config-m2m-{model._meta.label}-{field.name}")


def _on_signal(**_: Any) -> None:
    config_changed()


def _bump() -> None:
    try:
        redis_sync().incr(VERSION_KEY)
    except REDIS_ERRORS as error:
        _not_bumped(error)


async def _bump_async() -> None:
    try:
        await redis_async().incr(VERSION_KEY)
    except REDIS_ERRORS as error:
        _not_bumped(error)


def _not_bumped(error: Exception) -> None:
    logger.warning("config version not bumped (%s): other processes see the change within %s s",
                   type(error).__name__, MAX_AGE_S)


_versions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # event loop: (read at, version)


async def config_version() -> int | None:
    """The config version (None: Redis cannot say), read at most once per VERSION_READ_S per event loop."""
    loop, now = asyncio.get_running_loop(), time.monotonic()
    seen = _versions.get(loop)
    if seen is not None and now - seen[0] < VERSION_READ_S:
        return seen[1]
    try:
        version: int | None = int(await redis_async().get(VERSION_KEY) or 0)
    except REDIS_ERRORS:
        version = None
    _versions[loop] = (now, version)
    return version


class RefreshAheadCache:
    def __init__(self, ttl: Callable[[], float]) -> None:
        self._ttl = ttl
        # key: (expires at, value, reload from, config version it was loaded under, loaded at)
        self._entries: dict[Hashable, tuple[float, Any, float, int | None, float]] = {}
        self._inflight: dict[Hashable, asyncio.Future] = {}

    async def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The value for ``key``, loaded by ``load`` (a plain function, run on a pool thread) when needed."""
        hit, now = self._entries.get(key), time.monotonic()
        if hit is not None:
            expires, value, reload_from = hit[:3]
            if expires > now:
                if now >= reload_from:
                    self._reload(key, load, renewable=hit)
                return value
            if await self._renewed(key, hit):
                return value
        return await asyncio.shield(self._reload(key, load))

    async def _renewed(self, key: Hashable, hit: tuple) -> bool:
        """Renew ``hit`` for another ttl if nothing changed since it was loaded (one version read) and it is younger
        than MAX_AGE_S; False: it must be loaded."""
        version, loaded_at = hit[3], hit[4]
        if version is None or time.monotonic() - loaded_at >= MAX_AGE_S or await config_version() != version:
            return False
        if self._entries.get(key) is not hit:  # forgotten or replaced meanwhile
            return False
        self._entries[key] = self._entry(hit[1], version, loaded_at)
        return True

    def _reload(self, key: Hashable, load: Callable[[], Any], renewable: tuple | None = None) -> asyncio.Future:
        pending = self._inflight.get(key)
        if pending is None or pending.get_loop() is not asyncio.get_running_loop():

            async def refresh() -> Any:
                try:
                    if renewable is not None and await self._renewed(key, renewable):
                        return renewable[1]  # ahead of its end, renewed rather than loaded: nothing changed
                    version = await config_version()  # before the load: a change made meanwhile bumps past it
                    value = await sync_to_async(_on_kept_connection(load), thread_sensitive=False,
                                                executor=_loaders)()
                    self.put(key, value, version)
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

    def put(self, key: Hashable, value: Any, version: int | None = None) -> Any:
        """Keep ``value`` for the ttl; ``version``: the config version read before it was loaded (None: it is loaded
        again at its expiry, never renewed)."""
        if len(self._entries) > MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = self._entry(value, version, time.monotonic())
        return value

    def _entry(self, value: Any, version: int | None, loaded_at: float) -> tuple:
        ttl, now = self._ttl(), time.monotonic()
        return (now + ttl, value, now + ttl * RELOAD_AT, version, loaded_at)

    def forget(self, key: Hashable) -> None:
        """This process forgets the value at once; every other process at its next expiry (``config_changed``)."""
        self._entries.pop(key, None)
        config_changed()

    def clear(self) -> None:
        self._entries.clear()
        config_changed()
