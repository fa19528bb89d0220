"""One usage record per request to the inference endpoint, cached or not, failed or not."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class UsageRecord(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request_id = models.CharField(max_length=128, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Null where the request failed before its key or namespace was known (401, 404 namespace).
    organization = models.ForeignKey("accounts.Organization", null=True, on_delete=models.CASCADE,
                                     related_name="usage_records")
    namespace = models.ForeignKey("accounts.Namespace", null=True, on_delete=models.CASCADE,
                                  related_name="usage_records")
    api_key = models.ForeignKey("accounts.ApiKey", null=True, on_delete=models.SET_NULL, related_name="usage_records")
    endpoint = models.CharField(max_length=32, default="inference")
    provider = models.CharField(max_length=100, blank=True)
    model = models.CharField(max_length=200, blank=True)
    inference_name = models.CharField(max_length=200, blank=True)
    modality = models.CharField(max_length=32, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    total_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=14, decimal_places=8, default=0)
    price_version = models.CharField(max_length=32, blank=True)
    latency_ms = models.FloatField(default=0)
    cached = models.BooleanField(default=False)
    # The semantic cache's decision for this request ("" when the cache was off or does not apply:
    # hit, miss, explore) and, on a hit, what the call would have cost.
    cache_decision = models.CharField(max_length=16, blank=True)
    saved_tokens = models.PositiveIntegerField(default=0)
    saved_cost_usd = models.DecimalField(max_digits=14, decimal_places=8, default=0)
    status = models.PositiveSmallIntegerField()
    error_type = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [models.Index(fields=["namespace", "created_at"], name="usage_ns_created")]

    def __str__(self) -> str:
        return f"{self.request_id} {self.provider}/{self.model} {self.status}"
