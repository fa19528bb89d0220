"""The one refresh-ahead cache (core/refresh.py) that keys, namespaces, credentials and enabled plugins are
read through: values served for their ttl, reloaded in the background in their last quarter, concurrent
misses sharing one load, a failed load cached for nobody."""

from __future__ import annotations

import asyncio
import threading

import pytest

from core.refresh import RELOAD_AT, RefreshAheadCache

TTL = 0.4


class Source:
    """A value that changes behind the cache's back, and how often it was loaded (on pool threads)."""

    def __init__(self) -> None:
        self.value, self.loads, self.fail = "a", 0, False
        self.gate = threading.Event()
        self.gate.set()

    def load(self) -> str:
        self.gate.wait(5)
        self.loads += 1
        if self.fail:
            raise RuntimeError("down")
        return self.value


async def test_a_value_is_served_for_its_life_and_reloaded_ahead_of_its_end():
    cache, source = RefreshAheadCache(lambda: TTL), Source()
    assert await cache.get("k", source.load) == "a" and source.loads == 1
    source.value = "b"
    assert await cache.get("k", source.load) == "a" and not cache.reloading  # young: no reload
    await asyncio.sleep(TTL * RELOAD_AT + 0.02)
    assert await cache.get("k", source.load) == "a"  # old: served at once...
    assert cache.reloading == 1  # ...and reloaded meanwhile
    await cache.settled()
    assert await cache.get("k", source.load) == "b" and source.loads == 2


async def test_misses_at_the_same_moment_share_one_load():
    cache, source = RefreshAheadCache(lambda: TTL), Source()
    source.gate.clear()
    waiting = [asyncio.create_task(cache.get("k", source.load)) for _ in range(20)]
    await asyncio.sleep(0.05)
    source.gate.set()
    assert await asyncio.gather(*waiting) == ["a"] * 20 and source.loads == 1


async def test_a_failed_load_raises_to_its_callers_and_caches_nothing():
    cache, source = RefreshAheadCache(lambda: TTL), Source()
    source.fail = True
    with pytest.raises(RuntimeError):
        await cache.get("k", source.load)
    source.fail = False
    assert await cache.get("k", source.load) == "a" and source.loads == 2


async def test_forget_and_clear():
    cache, source = RefreshAheadCache(lambda: 60), Source()
    await cache.get("k", source.load)
    source.value = "b"
    cache.forget("k")
    assert await cache.get("k", source.load) == "b"
    source.value = "c"
    cache.clear()
    assert await cache.get("k", source.load) == "c"


def _backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
async def test_loads_keep_their_connection_and_a_dropped_one_costs_no_error():
    """A load runs on a loader thread whose connection stays open for the next load (a connection per load
    cost more than the query); when PostgreSQL dropped it meanwhile, the load is tried once more on a new one."""
    from asgiref.sync import sync_to_async
    from django.db import connection

    from core.refresh import LOADERS

    cache = RefreshAheadCache(lambda: 60.0)
    pids = {await cache.get(n, _backend_pid) for n in range(12)}
    assert len(pids) <= LOADERS  # twelve loads, no more connections than loader threads

    def terminate() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [list(pids)])

    await sync_to_async(terminate)()
    after = {await cache.get(("after", n), _backend_pid) for n in range(4)}
    assert not after & pids  # answered on new connections, not an error
