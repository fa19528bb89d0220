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
    """Ahead of its end a value is renewed while nothing changed (no load), and loaded again once something did."""
    from core import refresh

    cache, source = RefreshAheadCache(lambda: TTL), Source()
    assert await cache.get("k", source.load) == "a" and source.loads == 1
    await asyncio.sleep(TTL * RELOAD_AT + 0.02)
    assert await cache.get("k", source.load) == "a" and cache.reloading == 1  # old: served, and checked meanwhile
    await cache.settled()
    assert source.loads == 1  # nothing changed: renewed, not loaded
    source.value = "b"
    assert await cache.get("k", source.load) == "a" and not cache.reloading  # young again: no reload
    await refresh._bump_async()  # what every write sends once it commits
    await asyncio.sleep(TTL * RELOAD_AT + refresh.VERSION_READ_S)
    assert await cache.get("k", source.load) == "a"  # old: served at once...
    assert cache.reloading == 1  # ...and loaded meanwhile, the version having moved
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


async def test_an_expired_value_is_renewed_by_one_redis_read_while_nothing_changed():
    """Past its ttl a value is not loaded again while the config version is the one it was loaded under; a change
    (config_changed: what our services and model signals send) makes the next expiry load it."""
    from core import refresh

    cache, source = RefreshAheadCache(lambda: 0.1), Source()
    assert await cache.get("k", source.load) == "a" and source.loads == 1
    await asyncio.sleep(0.15)  # expired
    assert await cache.get("k", source.load) == "a" and source.loads == 1  # renewed: no load
    source.value = "b"
    await refresh._bump_async()  # what config_changed schedules on an event loop
    await asyncio.sleep(0.15 + refresh.VERSION_READ_S)
    assert await cache.get("k", source.load) == "b" and source.loads == 2


async def test_a_value_past_its_max_age_is_loaded_whatever_the_version(monkeypatch: pytest.MonkeyPatch):
    from core import refresh

    monkeypatch.setattr(refresh, "MAX_AGE_S", 0.2)
    cache, source = RefreshAheadCache(lambda: 0.1), Source()
    await cache.get("k", source.load)
    await asyncio.sleep(0.12)
    await cache.get("k", source.load)
    assert source.loads == 1
    await asyncio.sleep(0.12)  # 0.24 s since it was loaded: past the max age
    await cache.get("k", source.load)
    assert source.loads == 2


@pytest.mark.django_db(transaction=True)
def test_saving_or_deleting_a_cached_model_bumps_the_config_version():
    """Django admin saves models directly: the signals bump the version as our services' forgets do."""
    from core.redis import redis_sync
    from core.refresh import VERSION_KEY
    from tests.conftest import tenant_create

    def version() -> int:
        return int(redis_sync().get(VERSION_KEY) or 0)

    tenant = tenant_create("acme", "main")
    before = version()
    tenant.namespace.rate_limit_rpm = 7
    tenant.namespace.save()
    assert version() > before
    before = version()
    from tenancy.accounts.models import ApiKey

    ApiKey.objects.get(id=tenant.key_id).namespaces.clear()  # a many-to-many change
    assert version() > before
