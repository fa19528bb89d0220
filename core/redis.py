"""Every Redis client of the code (the channel layer's, which channels_redis builds from CHANNEL_LAYERS, aside):
one asyncio client (and connection pool) per event loop, with short timeouts so that a hung Redis cannot
stall a request; and a plain client for threads and Celery tasks."""

from __future__ import annotations

import asyncio
import weakref
from functools import lru_cache
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings
from redis.driver_info import DriverInfo

ERRORS = (redis.RedisError, OSError, asyncio.TimeoutError)  # what "Redis is unavailable" looks like

_async_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@lru_cache(maxsize=1)
def _driver() -> DriverInfo:
    """What each new connection tells Redis about its client, built once: left to redis-py, every connection
    looks its version up in the installed package's metadata on disk (0.26 ms of CPU each, a third of a burst of
    new streams' set-up)."""
    return DriverInfo()


def redis_async() -> Any:
    loop = asyncio.get_running_loop()
    url, client = _async_clients.get(loop, (None, None))
    if url != settings.REDIS_URL:
        client = aioredis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.25, socket_connect_timeout=0.25,
                                         driver_info=_driver())
        _async_clients[loop] = (settings.REDIS_URL, client)
    return client


@lru_cache(maxsize=4)
def _sync_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2, driver_info=_driver())


def redis_sync() -> redis.Redis:
    return _sync_client(settings.REDIS_URL)
