"""Bearer API keys and X-Namespace resolution.

The same checks serve the async inference path (``principal_resolve``) and DRF views
(``ApiKeyAuthentication``). A verified key and a resolved namespace are cached in the process for
``INFERGATE["AUTH_CACHE_SECONDS"]`` (1 s by default), which bounds how long a revoked key keeps working
on any worker while keeping the database off the hot path.
"""

from __future__ import annotations

import asyncio
import hmac
import re
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Callable

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework import authentication

from inference.errors import BadRequestError, ForbiddenError, NotFoundError, UnauthorizedError
from playground.accounts.models import ApiKey, Namespace, Permission
from playground.accounts.routing import Fallbacks, fallbacks_of
from playground.accounts.services import SECRET_PREFIX, secret_hash

BEARER = re.compile(r"^Bearer (sk_[A-Za-z0-9_]{8,200})$")


@dataclass(frozen=True)
class KeyRecord:
    id: int
    organization_id: int
    prefix: str
    permissions: frozenset[str]
    all_namespaces: bool
    namespace_ids: frozenset[str]  # the namespaces a scoped key may use (empty: none)
    expires_at: datetime | None
    revoked: bool
    secret_hash: str
    # Effective limits of the key: its override, else its organization's default, else the settings'.
    rate_limit_rpm: int | None = None
    rate_limit_tpm: int | None = None

    is_authenticated = True  # what DRF's IsAuthenticated asks of request.user


@dataclass(frozen=True)
class NamespaceRecord:
    id: str
    name: str
    organization_id: int
    rate_limit_rpm: int | None = None  # limits of the namespace as a whole (None: none)
    rate_limit_tpm: int | None = None
    monthly_budget_usd: Decimal | None = None
    fallbacks: Fallbacks = ()  # routing rules: ((target, (fallback, ...)), ...) (playground/accounts/routing.py)
    provider_timeout_s: float | None = None  # None: INFERGATE["PROVIDER_TIMEOUT_SECONDS"]

    def fallbacks_for(self, target: str) -> tuple[str, ...]:
        return next((chain for source, chain in self.fallbacks if source == target), ())


@dataclass(frozen=True)
class Principal:
    """Who is calling, and in which namespace. Everything a request touches is scoped by it."""

    key: KeyRecord
    namespace: NamespaceRecord

    @property
    def organization_id(self) -> int:
        return self.key.organization_id

    def require(self, permission: str) -> None:
        if Permission.ADMIN not in self.key.permissions and permission not in self.key.permissions:
            raise ForbiddenError(f"This API key lacks the '{permission}' permission",
                                 details={"required_permission": permission})


MISSING = object()
RELOAD_AT = 0.75  # of a cached entry's life: from then on it is reloaded in the background while still served


class _TtlCache:
    def __init__(self) -> None:
        self._entries: dict[Any, tuple[float, Any, float]] = {}  # key: (expires at, value, refresh from)

    def peek(self, key: Any) -> Any:
        hit = self._entries.get(key)
        return hit[1] if hit is not None and hit[0] > time.monotonic() else MISSING

    def stale(self, key: Any) -> bool:
        """Past three quarters of its life: time to reload it, while it is still served."""
        hit = self._entries.get(key)
        return hit is None or time.monotonic() >= hit[2]

    def put(self, key: Any, value: Any, ttl: float) -> Any:
        if len(self._entries) > 50_000:
            self._entries.clear()
        now = time.monotonic()
        self._entries[key] = (now + ttl, value, now + ttl * RELOAD_AT)
        return value

    def clear(self) -> None:
        self._entries.clear()


@lru_cache(maxsize=1)
def _caches() -> tuple[_TtlCache, _TtlCache]:
    return _TtlCache(), _TtlCache()


def _ttl() -> float:
    return settings.INFERGATE["AUTH_CACHE_SECONDS"]


def parse_bearer(authorization: str | None) -> str:
    if not authorization:
        raise UnauthorizedError("Missing Authorization header; send 'Authorization: Bearer sk_...'",
                                headers={"WWW-Authenticate": "Bearer"})
    match = BEARER.match(authorization.strip())
    if not match or not match.group(1).startswith(SECRET_PREFIX):
        raise UnauthorizedError("Malformed Authorization header; expected 'Bearer sk_live_...'",
                                headers={"WWW-Authenticate": "Bearer"})
    return match.group(1)


def _load_key(digest: str) -> KeyRecord | None:
    row = (ApiKey.objects.filter(secret_hash=digest)
           .values("id", "organization_id", "prefix", "permissions", "expires_at", "revoked_at", "secret_hash",
                   "all_namespaces", "rate_limit_rpm", "rate_limit_tpm", "organization__key_rate_limit_rpm",
                   "organization__key_rate_limit_tpm")
           .first())
    if row is None:
        return None
    scoped = frozenset(Namespace.objects.filter(api_keys__id=row["id"]).values_list("id", flat=True))
    return KeyRecord(id=row["id"], organization_id=row["organization_id"], prefix=row["prefix"],
                     permissions=frozenset(row["permissions"]), all_namespaces=row["all_namespaces"],
                     namespace_ids=scoped,
                     expires_at=row["expires_at"], revoked=row["revoked_at"] is not None,
                     secret_hash=row["secret_hash"],
                     rate_limit_rpm=_first(row["rate_limit_rpm"], row["organization__key_rate_limit_rpm"],
                                           settings.INFERGATE["KEY_RATE_LIMIT_RPM"]),
                     rate_limit_tpm=_first(row["rate_limit_tpm"], row["organization__key_rate_limit_tpm"],
                                           settings.INFERGATE["KEY_RATE_LIMIT_TPM"]))


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def _load_namespace(organization_id: int, reference: str) -> NamespaceRecord | None:
    lookup = {"id": reference} if reference.startswith("ns_") else {"name": reference}
    row = (Namespace.objects.filter(organization_id=organization_id, **lookup)
           .values("id", "name", "rate_limit_rpm", "rate_limit_tpm", "monthly_budget_usd", "routing",
                   "provider_timeout_seconds").first())
    if row is None:
        return None
    routing, timeout = row.pop("routing"), row.pop("provider_timeout_seconds")
    return NamespaceRecord(organization_id=organization_id, fallbacks=fallbacks_of(routing),
                           provider_timeout_s=timeout, **row)


def _check_key(record: KeyRecord | None, digest: str) -> KeyRecord:
    if record is None or not hmac.compare_digest(record.secret_hash, digest):
        raise UnauthorizedError("Invalid API key", headers={"WWW-Authenticate": "Bearer"})
    if record.revoked:
        raise UnauthorizedError("This API key has been revoked", headers={"WWW-Authenticate": "Bearer"})
    if record.expires_at is not None and record.expires_at <= timezone.now():
        raise UnauthorizedError("This API key has expired", headers={"WWW-Authenticate": "Bearer"})
    return record


def _namespace_reference(reference: str | None) -> str:
    reference = (reference or "").strip()
    if not reference:
        raise BadRequestError("Missing X-Namespace header; send a namespace id (ns_...) or name",
                              details={"header": "X-Namespace"})
    if len(reference) > 100 or not reference.isprintable():
        raise NotFoundError("Namespace not found", details={"resource": "namespace"})
    return reference


def _check_namespace(key: KeyRecord, namespace: NamespaceRecord | None, reference: str) -> NamespaceRecord:
    if namespace is None:
        raise NotFoundError("Namespace not found", details={"resource": "namespace", "id": reference})
    if not key.all_namespaces and namespace.id not in key.namespace_ids:
        raise ForbiddenError("This API key may not use this namespace",
                             details={"resource": "namespace", "id": namespace.id})
    return namespace


def _closing(load: Callable[[], Any]) -> Callable[[], Any]:
    """Run a lookup on a pool thread and give its connection back: these threads outlive requests."""

    def run() -> Any:
        try:
            return load()
        finally:
            connection.close()

    return run


_inflight: dict[Any, asyncio.Future] = {}


async def _cached(cache: _TtlCache, key: Any, load: Callable[[], Any]) -> Any:
    """The cached value, or one database lookup shared by every request that misses at the same
    moment (without this, a burst after the cache expires opened one connection per request). A value
    in the last quarter of its life is reloaded in the background while it is still served, so that
    steady traffic never waits for the lookup (every request in flight did, once a second: the p99 of
    bench/gateway.py); what is served is never older than the cache time, as before."""
    value = cache.peek(key)
    if value is not MISSING:
        if cache.stale(key):
            _reload(cache, key, load)
        return value
    return await asyncio.shield(_reload(cache, key, load))


def _reload(cache: _TtlCache, key: Any, load: Callable[[], Any]) -> asyncio.Future:
    pending = _inflight.get(key)
    if pending is None or pending.get_loop() is not asyncio.get_running_loop():

        async def refresh() -> Any:
            try:
                loaded = await sync_to_async(_closing(load), thread_sensitive=False)()
                return cache.put(key, loaded, _ttl())
            finally:
                _inflight.pop(key, None)

        pending = _inflight[key] = asyncio.ensure_future(refresh())
        # A failed background reload is for the next request that misses to see, not a "never retrieved" log.
        pending.add_done_callback(lambda done: done.cancelled() or done.exception())
    return pending


async def key_resolve(authorization: str | None) -> KeyRecord:
    """The verified key behind an Authorization header; a cached key costs no thread and no query."""
    digest = secret_hash(parse_bearer(authorization))
    key_cache, _ = _caches()
    return _check_key(await _cached(key_cache, ("key", digest), lambda: _load_key(digest)), digest)


async def namespace_resolve(key: KeyRecord, namespace: str | None) -> Principal:
    """The namespace a verified key addresses (id or name), checked against the key's scope."""
    reference = _namespace_reference(namespace)
    _, namespace_cache = _caches()
    found = await _cached(namespace_cache, ("namespace", key.organization_id, reference),
                          lambda: _load_namespace(key.organization_id, reference))
    return Principal(key=key, namespace=_check_namespace(key, found, reference))


async def principal_resolve(*, authorization: str | None, namespace: str | None) -> Principal:
    return await namespace_resolve(await key_resolve(authorization), namespace)


def _principal_for_ids(key_id: int, namespace_id: str) -> Principal:
    try:
        digest = ApiKey.objects.filter(id=key_id).values_list("secret_hash", flat=True).first()
        if digest is None:
            raise UnauthorizedError("The API key behind this work no longer exists")
        key = _check_key(_load_key(digest), digest)
        return Principal(key=key, namespace=_check_namespace(key, _load_namespace(key.organization_id, namespace_id),
                                                             namespace_id))
    finally:
        connection.close()


def _principal_for_namespace(namespace_id: str) -> Principal:
    try:
        organization_id = Namespace.objects.filter(id=namespace_id).values_list("organization_id", flat=True).first()
        namespace = _load_namespace(organization_id, namespace_id) if organization_id is not None else None
        if namespace is None:
            raise NotFoundError("Namespace not found", details={"resource": "namespace", "id": namespace_id})
    finally:
        connection.close()
    key = KeyRecord(id=None, organization_id=organization_id, prefix="gateway", permissions=frozenset([Permission.READ]),
                    all_namespaces=False, namespace_ids=frozenset([namespace_id]), expires_at=None, revoked=False,
                    secret_hash="")
    return Principal(key=key, namespace=namespace)


async def namespace_principal(*, namespace_id: str) -> Principal:
    """The namespace itself as the caller, for the model calls the gateway makes on its behalf (the cache
    judge): no key, so the namespace's limits and budget apply and no key's; ``read`` only."""
    return await sync_to_async(_principal_for_namespace, thread_sensitive=False)(namespace_id)


async def principal_load(*, key_id: int, namespace_id: str) -> Principal:
    """A principal rebuilt from stored ids (a queued job never stores a secret) and checked again now: a
    key revoked or expired since, or a namespace taken out of its scope, is refused."""
    return await sync_to_async(_principal_for_ids, thread_sensitive=False)(key_id, namespace_id)


principal_resolve_sync = async_to_sync(principal_resolve)
"""The same checks for sync callers (DRF views, management code)."""


def auth_cache_clear() -> None:
    for cache in _caches():
        cache.clear()


def namespace_cache_clear() -> None:
    """Forget the namespaces this process has loaded (their settings changed)."""
    _caches()[1].clear()


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """DRF authentication: ``request.auth`` becomes the Principal, ``request.user`` the key record."""

    def authenticate(self, request: Any) -> tuple[KeyRecord, Principal]:
        principal = principal_resolve_sync(authorization=request.headers.get("Authorization"),
                                           namespace=request.headers.get("X-Namespace"))
        return principal.key, principal

    def authenticate_header(self, request: Any) -> str:
        return "Bearer"
