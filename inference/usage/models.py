"""One usage record per request to the inference endpoint, cached or not, failed or not."""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
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
    # The saved prompt and version the request called (inference/prompts/); blank and null otherwise.
    prompt_id = models.CharField(max_length=32, blank=True, default="")
    prompt_version = models.PositiveIntegerField(null=True, blank=True)
    modality = models.CharField(max_length=32, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    total_tokens = models.PositiveIntegerField(default=0)
    # Parts of the prompt the provider read from or wrote to its prompt cache, and of the completion its
    # model spent reasoning; priced at their own rates where the table has them.
    cache_read_tokens = models.PositiveIntegerField(default=0)
    cache_write_tokens = models.PositiveIntegerField(default=0)
    reasoning_tokens = models.PositiveIntegerField(default=0)
    # Null when no price table knows the model (price_known false): unknown, never free.
    cost_usd = models.DecimalField(max_digits=14, decimal_places=8, default=0, null=True)
    price_known = models.BooleanField(default=True)
    price_version = models.CharField(max_length=32, blank=True)
    latency_ms = models.FloatField(default=0)
    cached = models.BooleanField(default=False)
    # The semantic cache's decision for this request ("" when the cache was off or does not apply:
    # hit, miss, explore) and, on a hit, what the call would have cost.
    cache_decision = models.CharField(max_length=16, blank=True)
    saved_tokens = models.PositiveIntegerField(default=0)
    saved_cost_usd = models.DecimalField(max_digits=14, decimal_places=8, default=0, null=True)
    status = models.PositiveSmallIntegerField()
    error_type = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [models.Index(fields=["namespace", "created_at"], name="usage_ns_created"),
                   # The organization's records newest first, paged by (created_at, id): GET /v1/organizations/usage
                   # and today's part of the summary.
                   models.Index(fields=["organization", "-created_at", "-id"], name="usage_org_created"),
                   # Records of one key, and the organization's failures (a tenth of the records at most): the
                   # records list filtered by key or by an error status.
                   models.Index(fields=["api_key", "-created_at"], name="usage_key_created"),
                   models.Index(fields=["organization", "status", "-created_at"], name="usage_org_errors",
                                condition=models.Q(status__gte=400))]

    def __str__(self) -> str:
        return f"{self.request_id} {self.provider}/{self.model} {self.status}"


class UsageDailyRollup(models.Model):
    """One UTC day of usage records of one (namespace, key, target, status), written by ``usage_rollup``.

    Latency is kept as a sparse log-bucket histogram (inference/usage/sketch.py): bucket ``i`` holds
    latencies in [0.1 ms * 2^(i/4), 0.1 ms * 2^((i+1)/4)); ``latency_bucket_index[j]`` counts
    ``latency_bucket_count[j]`` requests. Histograms of any rows add up, so p50/p95 over any grouping
    come from merged rows to within one bucket (±9%, interpolated inside it)."""

    day = models.DateField()
    organization = models.ForeignKey("accounts.Organization", null=True, on_delete=models.CASCADE,
                                     related_name="+")
    namespace = models.ForeignKey("accounts.Namespace", null=True, on_delete=models.CASCADE, related_name="+")
    api_key = models.ForeignKey("accounts.ApiKey", null=True, on_delete=models.SET_NULL, related_name="+")
    provider = models.CharField(max_length=100, blank=True)
    model = models.CharField(max_length=200, blank=True)
    inference_name = models.CharField(max_length=200, blank=True)
    status = models.PositiveSmallIntegerField()
    requests = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    prompt_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    total_tokens = models.BigIntegerField(default=0)
    cache_read_tokens = models.BigIntegerField(default=0)
    cache_write_tokens = models.BigIntegerField(default=0)
    reasoning_tokens = models.BigIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=20, decimal_places=8, default=0)  # of the priced requests
    unpriced = models.PositiveIntegerField(default=0)  # requests whose cost is unknown (not in cost_usd)
    latency_sum_ms = models.FloatField(default=0)
    latency_bucket_index = ArrayField(models.SmallIntegerField(), default=list)
    latency_bucket_count = ArrayField(models.IntegerField(), default=list)
    cache_hits = models.PositiveIntegerField(default=0)
    cache_lookups = models.PositiveIntegerField(default=0)
    # The semantic cache's other decisions (``cache_decision`` "miss" and "explore"): with hits, the cache's
    # counters per namespace (inference/cache/selectors.py).
    cache_misses = models.PositiveIntegerField(default=0)
    cache_explorations = models.PositiveIntegerField(default=0)
    saved_tokens = models.BigIntegerField(default=0)
    saved_cost_usd = models.DecimalField(max_digits=20, decimal_places=8, default=0)

    class Meta:
        indexes = [models.Index(fields=["organization", "day"], name="rollup_org_day")]
        constraints = [models.UniqueConstraint(
            fields=["day", "organization", "namespace", "api_key", "provider", "model", "inference_name", "status"],
            name="rollup_grain", nulls_distinct=False)]


class UsageRollupDay(models.Model):
    """When a UTC day was last rolled up, and up to when its rollup rows count records (``covered_until``:
    the end of the day once the day is over, else a minute before the run). Summaries read a day's rollup
    rows up to ``covered_until`` and raw records after it; retention only deletes days covered whole."""

    day = models.DateField(primary_key=True)
    rolled_at = models.DateTimeField()
    covered_until = models.DateTimeField(null=True)
    records = models.PositiveIntegerField(default=0)


class RequestLogSettings(models.Model):
    """Whether a namespace keeps its requests' and responses' bodies (off unless it turns it on), and for how long
    (inference/usage/bodies.py; docs/usage.md: Request bodies)."""

    namespace = models.OneToOneField("accounts.Namespace", primary_key=True, on_delete=models.CASCADE,
                                     related_name="request_log")
    enabled = models.BooleanField(default=False)
    retention_days = models.PositiveSmallIntegerField(default=7)
    updated_at = models.DateTimeField(default=timezone.now)


class RequestBody(models.Model):
    """One request's body as the client sent it and the answer it got, media replaced by their hashes."""

    id = models.UUIDField(primary_key=True)  # the usage record's id: one body per record, stored at most once
    namespace = models.ForeignKey("accounts.Namespace", on_delete=models.CASCADE, related_name="request_bodies")
    request_id = models.CharField(max_length=128, db_index=True)
    endpoint = models.CharField(max_length=32, default="inference")
    status = models.PositiveSmallIntegerField(default=200)
    body = models.JSONField()
    response = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["namespace", "request_id"], name="request_body_ns_request")]
