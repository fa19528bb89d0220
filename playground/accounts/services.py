"""Writes on tenancy: organizations, namespaces, API keys."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from inference.errors import NotFoundError, ValidationError
from playground.accounts.models import ApiKey, Namespace, Organization, Permission, random_token

SECRET_PREFIX = "sk_live_"
SECRET_RANDOM_CHARS = 40
PREFIX_CHARS = len(SECRET_PREFIX) + 4
NAMESPACE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    secret: str


def organization_get_or_create(*, name: str) -> Organization:
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
    unknown = sorted(set(permissions) - set(Permission.values))
    if unknown:
        raise ValidationError([{"field": "permissions", "problem": f"unknown permissions {unknown}; use {Permission.values}"}])
    for namespace in namespaces or []:
        if namespace.organization_id != organization.id:
            raise NotFoundError("Namespace not found", details={"resource": "namespace", "id": namespace.id})
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


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key
