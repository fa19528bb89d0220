"""A provider credential of one namespace. Only ciphertext is stored (``crypto``); nothing reads it back
out through the API or admin. ``name`` tells several credentials of one provider apart (one per key, region or
account, each a deployment's: inference/deployments.py); the unnamed one ("") is the provider's default."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from tenancy.accounts.models import Namespace


class ProviderCredential(models.Model):
    namespace = models.ForeignKey(Namespace, on_delete=models.CASCADE, related_name="credentials")
    provider = models.CharField(max_length=64)
    name = models.CharField(max_length=64, default="", blank=True)
    # Fernet token of a JSON object of the credential's fields ({"api_key": "..."}).
    ciphertext = models.TextField(editable=False)
    fields = models.JSONField(default=list, editable=False)  # the field names that are set, never values
    key_id = models.CharField(max_length=16, editable=False)  # which encryption key wrote it (rotation)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["namespace", "provider", "name"],
                                               name="credential_unique_name_per_ns")]

    def __str__(self) -> str:
        return f"{self.provider}{'/' + self.name if self.name else ''} credentials of {self.namespace_id}"
