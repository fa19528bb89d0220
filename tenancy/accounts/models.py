"""Tenancy: organizations own namespaces; API keys belong to one organization."""

from __future__ import annotations

import secrets
import string

from django.conf import settings
from django.db import models
from django.utils import timezone

from tenancy.accounts.namespace_settings import namespace_settings_check

ALPHABET = string.ascii_letters + string.digits


def random_token(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def new_namespace_id() -> str:
    return "ns_" + random_token(16)


class Permission(models.TextChoices):
    READ = "read", "read"
    WRITE = "write", "write"
    ADMIN = "admin", "admin"


class Organization(models.Model):
    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Limits of each key of the organization unless the key overrides them (null: the settings' default).
    key_rate_limit_rpm = models.PositiveIntegerField(null=True, blank=True)
    key_rate_limit_tpm = models.PositiveIntegerField(null=True, blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="organizations")

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", "member"
        ADMIN = "admin", "admin"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="membership_unique")]


class Namespace(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=new_namespace_id, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="namespaces")
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)
    # Limits of the namespace as a whole, across all keys (null: none).
    rate_limit_rpm = models.PositiveIntegerField(null=True, blank=True)
    rate_limit_tpm = models.PositiveIntegerField(null=True, blank=True)
    monthly_budget_usd = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    # Routing rules (tenancy/accounts/namespace_settings.py), e.g. {"fallbacks": {"openai/gpt-4o-mini": ["local/..."]}}.
    routing = models.JSONField(default=dict, blank=True)
    # How long a provider may take to answer a call of this namespace (null: INFERGATE["PROVIDER_TIMEOUT_SECONDS"]).
    provider_timeout_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="namespace_name_unique_per_org")]

    def clean(self) -> None:
        namespace_settings_check(routing=self.routing, provider_timeout_seconds=self.provider_timeout_seconds)

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class ApiKey(models.Model):
    """Only the SHA-256 of the secret and a short prefix are stored; the secret is shown once."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, editable=False)
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    permissions = models.JSONField(default=list)
    # A key either may use every namespace of its organization, or only those listed. Deleting a listed
    # namespace narrows the key; it never widens it.
    all_namespaces = models.BooleanField(default=True)
    namespaces = models.ManyToManyField(Namespace, blank=True, related_name="api_keys")
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    rate_limit_rpm = models.PositiveIntegerField(null=True, blank=True)
    rate_limit_tpm = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name or 'key'} ({self.prefix}…)"

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at and self.expires_at <= timezone.now():
            return "expired"
        return "active"
