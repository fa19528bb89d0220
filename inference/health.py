"""Readiness: can this process reach the database and Redis right now, and are usage records being stored?

``usage`` is not ok once the oldest usage record waiting in the Redis stream is older than
``INFERGATE["USAGE_LAG_READY_SECONDS"]`` (0: never): the drain (a Celery worker and beat) has stopped or
cannot keep up, and every answer from here on is served without its record reaching PostgreSQL. It also
reports the dead letters (records PostgreSQL refused), which never make a node unready: they are kept.
"""

from __future__ import annotations

import time
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection

from core.redis import redis_async
from inference.usage.stream import usage_backlog

HEARTBEAT_KEY = "infergate:celery:heartbeat"


def _database_ping() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()


async def readiness_check() -> dict[str, dict[str, Any]]:
    checks: dict[str, dict[str, Any]] = {}
    started = time.perf_counter()
    try:
        await sync_to_async(_database_ping, thread_sensitive=False)()
        checks["database"] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 2)}
    except Exception as exc:
        checks["database"] = {"ok": False, "error": type(exc).__name__}
    started = time.perf_counter()
    client = redis_async()
    try:
        await client.ping()
        checks["redis"] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 2)}
        beat = await client.get(HEARTBEAT_KEY)
        checks["worker"] = {"ok": True, "last_heartbeat_s": round(time.time() - float(beat), 1) if beat else None}
    except Exception as exc:
        checks["redis"] = {"ok": False, "error": type(exc).__name__}
    if checks["redis"]["ok"]:
        checks["usage"] = await _usage_check()
    return checks


async def _usage_check() -> dict[str, Any]:
    try:
        backlog = await usage_backlog()
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    threshold = settings.INFERGATE["USAGE_LAG_READY_SECONDS"]
    return {"ok": not threshold or backlog.lag_s <= threshold, "lag_s": backlog.lag_s, "lag_limit_s": threshold,
            "dead_letters": backlog.dead_letters}
