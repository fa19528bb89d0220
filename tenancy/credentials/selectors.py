"""Reads on provider credentials. ``credential_fields`` is on the inference hot path: decrypted fields
are cached in the process for ``AUTH_CACHE_SECONDS`` (core/refresh.py: a replaced or deleted credential
takes effect within that on every worker, at once on the one that changed it).
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from typing import Any, Awaitable, Callable

from django.conf import settings

from core.errors import InferenceServiceUnavailableError
from core.refresh import RefreshAheadCache
from tenancy.credentials import crypto
from tenancy.credentials.models import ProviderCredential

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _cache() -> RefreshAheadCache:
    return RefreshAheadCache(lambda: settings.INFERGATE["AUTH_CACHE_SECONDS"])


def credential_cache_forget(*, namespace_id: str, provider: str, name: str = "") -> None:
    _cache().forget((namespace_id, provider, name))


def credential_cache_clear() -> None:
    _cache().clear()


def _load(namespace_id: str, provider: str, name: str) -> dict[str, str]:
    token = (ProviderCredential.objects.filter(namespace_id=namespace_id, provider=provider, name=name)
             .values_list("ciphertext", flat=True).first())
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


async def credential_fields(*, namespace_id: str | None, provider: str, name: str = "") -> dict[str, str]:
    """The namespace's decrypted credential fields for a provider ({} when none are set), the default one or
    the one of that ``name``."""
    if not namespace_id:
        return {}
    return await _cache().get((namespace_id, provider, name), lambda: _load(namespace_id, provider, name))


def credential_lookup(namespace_id: str | None) -> Callable[..., Awaitable[dict[str, str]]]:
    """A provider's name (and a credential's name, for a deployment) → the namespace's credential fields for it:
    what the inference service hands the provider adapters, so that they need not know where credentials live."""

    async def lookup(provider: str, name: str = "") -> dict[str, str]:
        return await credential_fields(namespace_id=namespace_id, provider=provider, name=name)

    return lookup


def credential_list(*, namespace_id: str, providers: list[str]) -> list[dict[str, Any]]:
    """Which providers have credentials set in the namespace, the default one of each provider and every named
    one: field names and dates, never values."""
    stored = {(c.provider, c.name): c for c in ProviderCredential.objects.filter(namespace_id=namespace_id)}
    items = []
    for provider, name in sorted({(p, "") for p in providers} | set(stored)):
        credential = stored.get((provider, name))
        items.append({
            "provider": provider,
            "name": name,
            "set": credential is not None,
            "fields": credential.fields if credential else [],
            "updated_at": credential.updated_at.isoformat() if credential else None,
        })
    return items
