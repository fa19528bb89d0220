"""Bearer API keys and X-Namespace resolution.

The same checks serve the async inference path (``principal_resolve``) and DRF views
(``ApiKeyAuthentication``). A verified key and a resolved namespace are cached in the process for
``INFERGATE["AUTH_CACHE_SECONDS"]`` (1 s by default), which bounds how long a revoked key keeps working
on any worker while keeping the database off the hot path.
"""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework import authentication

from core.errors import BadRequestError, ForbiddenError, NotFoundError, UnauthorizedError
from core.refresh import RefreshAheadCache
from tenancy.accounts.keys import SECRET_PREFIX, secret_hash
from tenancy.accounts.models import ApiKey, Namespace, Permission
from tenancy.accounts.namespace_settings import Aliases, Fallbacks, aliases_of, fallbacks_of

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

    def require(self, permission: str) -> None:
        """403 unless the key carries ``permission`` (``admin`` carries every one)."""
        if Permission.ADMIN not in self.permissions and permission not in self.permissions:
            raise ForbiddenError(f"This API key lacks the '{permission}' permission",
                                 details={"required_permission": permission})


@dataclass(frozen=True)
class NamespaceRecord:
    id: str
    name: str
    organization_id: int
    rate_limit_rpm: int | None = None  # limits of the namespace as a whole (None: none)
    rate_limit_tpm: int | None = None
    monthly_budget_usd: Decimal | None = None
    fallbacks: Fallbacks = ()  # routing rules: ((target, (fallback, ...)), ...) (tenancy/accounts/namespace_settings.py)
    provider_timeout_s: float | None = None  # None: INFERGATE["PROVIDER_TIMEOUT_SECONDS"]
    # model names of the namespace's own: ((name, provider/model, parameters JSON, deployments JSON or ""), ...)
    aliases: Aliases = ()

    def fallbacks_for(self, target: str) -> tuple[str, ...]:
        return next((chain for source, chain in self.fallbacks if source == target), ())

    def alias_for(self, name: str) -> tuple[str, dict[str, Any]] | None:
        """The target and default parameters a model alias stands for; None when the namespace has no such alias."""
        found = next((alias for alias in self.aliases if alias[0] == name), None)
        return (found[1], json.loads(found[2])) if found is not None else None

    def deployments_for(self, name: str) -> str:
        """The deployments, strategy and breaker of an alias that has several (JSON text); "" for any other name."""
        return next((alias[3] for alias in self.aliases if alias[0] == name), "")


@dataclass(frozen=True)
class Principal:
    """Who is calling, and in which namespace. Everything a request touches is scoped by it."""

    key: KeyRecord
    namespace: NamespaceRecord

    @property
    def organization_id(self) -> int:
        return self.key.organization_id

    def require(self, permission: str) -> None:
        self.key.require(permission)

    def namespace_row(self) -> Namespace:
        """The namespace's model row (requests carry its cached record; what writes to it needs the row)."""
        return Namespace.objects.get(id=self.namespace.id)


@lru_cache(maxsize=1)
def _caches() -> tuple[RefreshAheadCache, RefreshAheadCache]:
    """Verified keys and resolved namespaces, each kept AUTH_CACHE_SECONDS (core/refresh.py)."""
    return RefreshAheadCache(_ttl), RefreshAheadCache(_ttl)


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


def key_header(*, authorization: str | None, api_key: str | None) -> str | None:
    """The ``Authorization`` value to check: the header itself when sent, else ``x-api-key`` (how Anthropic's
    SDKs send a key) as a Bearer."""
    if authorization:
        return authorization
    return f"Bearer {api_key}" if api_key else None


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


NAMESPACE_FIELDS = ("id", "name", "rate_limit_rpm", "rate_limit_tpm", "monthly_budget_usd", "routing",
                    "provider_timeout_seconds")


def _record(organization_id: int, row: dict[str, Any]) -> NamespaceRecord:
    routing, timeout = row.pop("routing"), row.pop("provider_timeout_seconds")
    return NamespaceRecord(organization_id=organization_id, fallbacks=fallbacks_of(routing),
                           aliases=aliases_of(routing), provider_timeout_s=timeout, **row)


def namespace_record(namespace: Namespace) -> NamespaceRecord:
    """A namespace already loaded (the dashboard's), as the inference path sees it."""
    return _record(namespace.organization_id, {name: getattr(namespace, name) for name in NAMESPACE_FIELDS})


def _load_namespace(organization_id: int, reference: str) -> NamespaceRecord | None:
    lookup = {"id": reference} if reference.startswith("ns_") else {"name": reference}
    row = Namespace.objects.filter(organization_id=organization_id, **lookup).values(*NAMESPACE_FIELDS).first()
    return _record(organization_id, row) if row is not None else None


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


async def key_resolve(authorization: str | None) -> KeyRecord:
    """The verified key behind an Authorization header; a cached key costs no thread and no query."""
    digest = secret_hash(parse_bearer(authorization))
    key_cache, _ = _caches()
    return _check_key(await key_cache.get(digest, lambda: _load_key(digest)), digest)


async def namespace_resolve(key: KeyRecord, namespace: str | None) -> Principal:
    """The namespace a verified key addresses (id or name), checked against the key's scope."""
    reference = _namespace_reference(namespace)
    _, namespace_cache = _caches()
    found = await namespace_cache.get((key.organization_id, reference),
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
    """DRF authentication: ``request.auth`` becomes the Principal, ``request.user`` the key record; the
    namespace from ``X-Namespace``."""

    def authenticate(self, request: Any) -> tuple[KeyRecord, Principal]:
        principal = principal_resolve_sync(authorization=self.authorization(request),
                                           namespace=self.namespace(request))
        return principal.key, principal

    def authorization(self, request: Any) -> str | None:
        return request.headers.get("Authorization")

    def namespace(self, request: Any) -> str | None:
        return request.headers.get("X-Namespace")

    def authenticate_header(self, request: Any) -> str:
        return "Bearer"


class ModelsKeyAuthentication(ApiKeyAuthentication):
    """The same, with the key also taken from ``x-api-key`` when ``Authorization`` is absent: how Anthropic's
    SDKs send it, for GET /v1/models as on the Messages route."""

    def authorization(self, request: Any) -> str | None:
        return key_header(authorization=request.headers.get("Authorization"), api_key=request.headers.get("X-Api-Key"))


class NamespacePathAuthentication(ApiKeyAuthentication):
    """The same, for ``/v1/namespaces/{namespace}/...``: the namespace (an ``ns_...`` id or a name) from the
    URL instead of ``X-Namespace``, checked against the key's scope alike."""

    def namespace(self, request: Any) -> str | None:
        return request.parser_context["kwargs"].get("namespace")


@dataclass(frozen=True)
class OrganizationScope:
    key: KeyRecord

    @property
    def organization_id(self) -> int:
        return self.key.organization_id

    @property
    def namespace_ids(self) -> frozenset[str] | None:
        return None if self.key.all_namespaces else self.key.namespace_ids

    def require(self, permission: str) -> None:
        self.key.require(permission)

    def namespace(self, reference: str) -> str:
        """The id of one of the organization's namespaces (``ns_...`` id or name) that this key may see."""
        lookup = {"id": reference} if reference.startswith("ns_") else {"name": reference}
        found = Namespace.objects.filter(organization_id=self.organization_id, **lookup).values_list(
            "id", flat=True).first()
        if found is None:
            raise NotFoundError("Namespace not found", details={"resource": "namespace", "id": reference})
        if self.namespace_ids is not None and found not in self.namespace_ids:
            raise ForbiddenError("This API key may not use this namespace", details={"resource": "namespace",
                                                                                   "id": found})
        return found


class OrganizationKeyAuthentication(authentication.BaseAuthentication):
    """The API key from ``Authorization``; ``request.auth`` becomes an ``OrganizationScope``."""

    def authenticate(self, request: Any) -> tuple[KeyRecord, OrganizationScope]:
        key = async_to_sync(key_resolve)(request.headers.get("Authorization"))
        return key, OrganizationScope(key=key)

    def authenticate_header(self, request: Any) -> str:
        return "Bearer"
