"""Reads on provider credentials. ``credential_fields`` is on the inference hot path: decrypted fields
are cached in the process for ``AUTH_CACHE_SECONDS`` (a replaced or deleted credential takes effect
within that on every worker, at once on the one that changed it), and concurrent misses share one query.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from functools import lru_cache
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection

from inference.errors import InferenceServiceUnavailableError
from playground.accounts.authentication import RELOAD_AT
from playground.credentials import crypto

logger = logging.getLogger(__name__)


class _Cache:
    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], tuple[float, dict[str, str], float]] = {}  # expires, fields, reload from
        self.inflight: dict[tuple[str, str], asyncio.Future] = {}


@lru_cache(maxsize=1)
def _cache() -> _Cache:
    return _Cache()


def credential_cache_forget(*, namespace_id: str, provider: str) -> None:
    _cache().entries.pop((namespace_id, provider), None)


def credential_cache_clear() -> None:
    _cache().entries.clear()


def _load(namespace_id: str, provider: str) -> dict[str, str]:
    from playground.credentials.models import ProviderCredential

    try:
        token = (ProviderCredential.objects.filter(namespace_id=namespace_id, provider=provider)
                 .values_list("ciphertext", flat=True).first())
    finally:
        connection.close()  # a pool thread that outlives the request
    if token is None:
        return {}
    try:
        return json.loads(crypto.decrypt(token))
    except crypto.InvalidToken:
        logger.error("the %s credentials of namespace %s cannot be decrypted with the configured "
                     "INFERGATE_CREDENTIALS_KEYS", provider, namespace_id)
        raise InferenceServiceUnavailableError(
            f"The {provider} credentials of this namespace cannot be decrypted; set them again",
            details={"provider": provider}) from None


async def credential_fields(*, namespace_id: str | None, provider: str) -> dict[str, str]:
    """The namespace's decrypted credential fields for a provider ({} when none are set)."""
    if not namespace_id:
        return {}
    cache, key = _cache(), (namespace_id, provider)
    hit, now = cache.entries.get(key), time.monotonic()
    if hit is not None and hit[0] > now:
        if now >= hit[2]:  # in its last quarter: reloaded in the background while still served (never older
            _reload(cache, key)  # than AUTH_CACHE_SECONDS), so that steady traffic never waits for the query
        return hit[1]
    return await asyncio.shield(_reload(cache, key))


def _reload(cache: _Cache, key: tuple[str, str]) -> asyncio.Future:
    pending = cache.inflight.get(key)
    if pending is None or pending.get_loop() is not asyncio.get_running_loop():

        async def refresh() -> dict[str, str]:
            try:
                fields = await sync_to_async(_load, thread_sensitive=False)(*key)
                ttl, now = settings.INFERGATE["AUTH_CACHE_SECONDS"], time.monotonic()
                cache.entries[key] = (now + ttl, fields, now + ttl * RELOAD_AT)
                return fields
            finally:
                cache.inflight.pop(key, None)

        pending = cache.inflight[key] = asyncio.ensure_future(refresh())
        # A failed background reload is for the next request that misses to see, not a "never retrieved" log.
        pending.add_done_callback(lambda done: done.cancelled() or done.exception())
    return pending


def credential_list(*, namespace_id: str, providers: list[str]) -> list[dict[str, Any]]:
    """Which providers have credentials set in the namespace: field names and dates, never values."""
    from playground.credentials.models import ProviderCredential

    stored = {c.provider: c for c in ProviderCredential.objects.filter(namespace_id=namespace_id)}
    items = []
    for provider in sorted(set(providers) | set(stored)):
        credential = stored.get(provider)
        items.append({
            "provider": provider,
            "set": credential is not None,
            "fields": credential.fields if credential else [],
            "updated_at": credential.updated_at.isoformat() if credential else None,
        })
    return items
