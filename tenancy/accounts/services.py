"""Writes on tenancy: organizations, namespaces, API keys."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.errors import NotFoundError, ValidationError
from core.strings import name_problem
from tenancy.accounts.authentication import auth_cache_clear
from tenancy.accounts.keys import PREFIX_CHARS, SECRET_PREFIX, SECRET_RANDOM_CHARS, secret_hash
from tenancy.accounts.models import ApiKey, Namespace, Organization, Permission, random_token
from tenancy.accounts.namespace_settings import SETTINGS_KEYS, routing_normalise, timeout_problems

NAMESPACE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    secret: str


def organization_get_or_create(*, name: str) -> Organization:
    if problem := name_problem(name, max_chars=200):
        raise ValidationError([{"field": "organization", "problem": problem}])
    organization, _ = Organization.objects.get_or_create(name=name)
    return organization


def namespace_create(*, organization: Organization, name: str) -> Namespace:
    if not NAMESPACE_NAME.match(name) or name.startswith("ns_"):
        raise ValidationError([{"field": "name", "problem": "1-100 letters, digits, '_', '.', '-', not starting with 'ns_'"}])
    if Namespace.objects.filter(organization=organization, name=name).exists():
        raise ValidationError([{"field": "name", "problem": f"namespace {name!r} already exists"}])
    return Namespace.objects.create(organization=organization, name=name)


def namespace_get_or_create(*, organization: Organization, name: str) -> Namespace:
    existing = Namespace.objects.filter(organization=organization, name=name).first()
    return existing or namespace_create(organization=organization, name=name)


@transaction.atomic
def api_key_create(
    *,
    organization: Organization,
    name: str = "",
    permissions: list[str] | None = None,
    namespaces: list[Namespace] | None = None,
    expires_at: datetime | None = None,
    rate_limit_rpm: int | None = None,
    rate_limit_tpm: int | None = None,
) -> CreatedKey:
    permissions = permissions if permissions is not None else [Permission.READ, Permission.WRITE]
    _key_settings_check(organization=organization, name=name, permissions=permissions, namespaces=namespaces,
                        rate_limit_rpm=rate_limit_rpm, rate_limit_tpm=rate_limit_tpm)
    secret = SECRET_PREFIX + random_token(SECRET_RANDOM_CHARS)
    key = ApiKey.objects.create(
        organization=organization,
        name=name,
        prefix=secret[:PREFIX_CHARS],
        secret_hash=secret_hash(secret),
        permissions=sorted({str(p) for p in permissions}),
        all_namespaces=not namespaces,
        expires_at=expires_at,
        rate_limit_rpm=rate_limit_rpm,
        rate_limit_tpm=rate_limit_tpm,
    )
    if namespaces:
        key.namespaces.set(namespaces)
    return CreatedKey(key=key, secret=secret)


def _key_settings_check(*, organization: Organization, name: str = "", permissions: list[str] | None = None,
                        namespaces: list[Namespace] | None = None, rate_limit_rpm: int | None = None,
                        rate_limit_tpm: int | None = None) -> None:
    if name and (problem := name_problem(name, max_chars=100)):
        raise ValidationError([{"field": "name", "problem": problem}])
    if problems := _limit_problems(0, rate_limit_rpm=rate_limit_rpm, rate_limit_tpm=rate_limit_tpm):  # 0: none
        raise ValidationError(problems)
    unknown = sorted(set(permissions or []) - set(Permission.values))
    if unknown or permissions is not None and not permissions:
        raise ValidationError([{"field": "permissions",
                                "problem": f"one or more of {', '.join(Permission.values)}; unknown: {unknown}"}])
    for namespace in namespaces or []:
        if namespace.organization_id != organization.id:
            raise NotFoundError("Namespace not found", details={"resource": "namespace", "id": namespace.id})


UNCHANGED: Any = object()  # an api_key_update argument left as it is


@transaction.atomic
def api_key_update(*, key: ApiKey, name: Any = UNCHANGED, permissions: Any = UNCHANGED, namespaces: Any = UNCHANGED,
                   expires_at: Any = UNCHANGED, rate_limit_rpm: Any = UNCHANGED,
                   rate_limit_tpm: Any = UNCHANGED) -> ApiKey:
    """Change a key's name, permissions, scope (a list of namespaces; None: every namespace), expiry or
    limits; what is not given stays. The secret stays: rotate for a new one. A revoked key is not changed."""
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at is not None:
        raise ValidationError([{"field": "key", "problem": "a revoked key cannot be changed"}])
    given = {name_: value for name_, value in (("name", name), ("permissions", permissions),
                                                ("expires_at", expires_at), ("rate_limit_rpm", rate_limit_rpm),
                                                ("rate_limit_tpm", rate_limit_tpm)) if value is not UNCHANGED}
    _key_settings_check(organization=key.organization, name=given.get("name", ""),
                        permissions=given.get("permissions"),
                        namespaces=namespaces if namespaces is not UNCHANGED else None,
                        rate_limit_rpm=given.get("rate_limit_rpm"), rate_limit_tpm=given.get("rate_limit_tpm"))
    if "permissions" in given:
        given["permissions"] = sorted({str(p) for p in given["permissions"]})
    for field, value in given.items():
        setattr(key, field, value)
    if namespaces is not UNCHANGED:
        key.all_namespaces = namespaces is None
        key.namespaces.set(namespaces or [])
    key.save()
    auth_cache_clear()  # this process at once; the others within AUTH_CACHE_SECONDS
    return key


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        auth_cache_clear()  # this process at once; the others within AUTH_CACHE_SECONDS
    return key


def namespace_rename(*, namespace: Namespace, name: str) -> Namespace:
    """Rename a namespace; its id (what keys' scopes, credentials and usage refer to) stays."""
    name = name.strip()
    if name == namespace.name:
        return namespace
    if not NAMESPACE_NAME.match(name) or name.startswith("ns_"):
        raise ValidationError([{"field": "name", "problem": "1-100 letters, digits, '_', '.', '-', not starting with 'ns_'"}])
    if Namespace.objects.filter(organization_id=namespace.organization_id, name=name).exists():
        raise ValidationError([{"field": "name", "problem": f"namespace {name!r} already exists"}])
    namespace.name = name
    namespace.save(update_fields=["name"])
    _namespace_cache_forget()
    return namespace


MAX_LIMIT = 2_147_483_647  # what the limit columns hold


def _limit_problems(lowest: int = 1, **limits: int | None) -> list[dict[str, str]]:
    return [{"field": field, "problem": f"must be an integer from {lowest} to {MAX_LIMIT} or empty"}
            for field, value in limits.items() if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or not lowest <= value <= MAX_LIMIT)]


def namespace_settings_update(*, namespace: Namespace, changes: Any) -> Namespace:
    """Set some of ``routing`` and ``provider_timeout_seconds`` (a JSON object from the API): 422 with
    every problem, changing nothing, when any is wrong (tenancy/accounts/namespace_settings.py)."""
    if not isinstance(changes, dict) or not changes:
        raise ValidationError([{"field": "body", "problem": f"send an object with some of {', '.join(SETTINGS_KEYS)}"}],
                              accepted=list(SETTINGS_KEYS))
    unknown = sorted(key for key in changes if key not in SETTINGS_KEYS)
    if unknown:
        raise ValidationError([{"field": key, "problem": "unknown or read-only key"} for key in unknown],
                              accepted=list(SETTINGS_KEYS))
    problems: list[dict[str, str]] = []
    routing = namespace.routing
    if "routing" in changes:
        routing, problems = routing_normalise(changes["routing"])
    timeout = changes.get("provider_timeout_seconds", namespace.provider_timeout_seconds)
    problems += timeout_problems(timeout)
    if problems:
        raise ValidationError(problems)
    namespace.routing = routing
    namespace.provider_timeout_seconds = float(timeout) if timeout is not None else None
    namespace.save(update_fields=["routing", "provider_timeout_seconds"])
    _namespace_cache_forget()
    return namespace


def namespace_limits_update(*, namespace: Namespace, rate_limit_rpm: int | None, rate_limit_tpm: int | None,
                            monthly_budget_usd: Decimal | None) -> Namespace:
    """Set the namespace's own limits (None: no limit). Values are checked: positive integers, a budget >= 0."""
    problems = _limit_problems(rate_limit_rpm=rate_limit_rpm, rate_limit_tpm=rate_limit_tpm)
    if monthly_budget_usd is not None and (not isinstance(monthly_budget_usd, Decimal) or monthly_budget_usd < 0
                                           or monthly_budget_usd >= Decimal(10) ** 10):
        problems.append({"field": "monthly_budget_usd", "problem": "must be an amount from 0 to 9999999999.99 or empty"})
    if problems:
        raise ValidationError(problems)
    namespace.rate_limit_rpm, namespace.rate_limit_tpm = rate_limit_rpm, rate_limit_tpm
    namespace.monthly_budget_usd = monthly_budget_usd
    namespace.save(update_fields=["rate_limit_rpm", "rate_limit_tpm", "monthly_budget_usd"])
    _namespace_cache_forget()
    return namespace


def namespace_delete(*, namespace: Namespace) -> None:
    """Delete a namespace and everything scoped to it (credentials, enabled plugins, usage history, cache
    entries: their foreign keys cascade). Keys scoped to it lose it from their scope; a key whose only
    namespace it was may use none afterwards, never every namespace."""
    namespace.delete()
    _namespace_cache_forget()


def _namespace_cache_forget() -> None:
    auth_cache_clear()  # this process at once; the others within AUTH_CACHE_SECONDS


@transaction.atomic
def api_key_rotate(*, key: ApiKey) -> CreatedKey:
    """Replace a key by a new secret with the same name, permissions, scope, expiry and limits; the old
    key is revoked at once. A revoked key cannot be rotated."""
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at is not None:
        raise ValidationError([{"field": "key", "problem": "a revoked key cannot be rotated"}])
    created = api_key_create(
        organization=key.organization, name=key.name, permissions=list(key.permissions),
        namespaces=None if key.all_namespaces else list(key.namespaces.all()), expires_at=key.expires_at,
        rate_limit_rpm=key.rate_limit_rpm, rate_limit_tpm=key.rate_limit_tpm)
    if not key.all_namespaces and not created.key.namespaces.exists():
        # A scoped key whose namespaces were all deleted stays a key for no namespace.
        ApiKey.objects.filter(pk=created.key.pk).update(all_namespaces=False)
        created.key.all_namespaces = False
    api_key_revoke(key=key)
    return created
