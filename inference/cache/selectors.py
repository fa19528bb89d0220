"""Reading the cache's counters: decisions from usage records, labels from the scopes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum

from inference.cache.models import CacheSettings
from inference.cache.store import label_totals, options_get


def cache_counters(*, namespace_id: str) -> dict[str, Any]:
    from inference.usage.models import UsageRecord

    usage = UsageRecord.objects.filter(namespace_id=namespace_id).aggregate(
        hits=Count("id", filter=Q(cache_decision="hit")), misses=Count("id", filter=Q(cache_decision="miss")),
        explorations=Count("id", filter=Q(cache_decision="explore")),
        saved_tokens=Sum("saved_tokens"), saved_cost_usd=Sum("saved_cost_usd"))
    labels = label_totals(namespace_id=namespace_id)
    return {
        "hits": usage["hits"], "misses": usage["misses"], "explorations": usage["explorations"],
        "labels": labels["labels"], "labels_wrong": labels["labels_wrong"], "labels_judged": labels["judged"],
        "saved_tokens": int(usage["saved_tokens"] or 0),
        "saved_cost_usd": float(usage["saved_cost_usd"] or Decimal(0)),
        "entries": labels["entries"], "scopes": labels["scopes"],
    }


def cache_settings_describe(*, namespace_id: str) -> dict[str, Any]:
    options = options_get(namespace_id=namespace_id)
    return {"allow_sampling": options.allow_sampling, "ttl_seconds": options.ttl_seconds,
            "max_entries": options.max_entries,
            "judge": ({"provider": options.judge_provider, "model": options.judge_model}
                      if options.judge_model else None)}


def cache_settings_update(*, namespace_id: str, changes: dict[str, Any]) -> None:
    row, _ = CacheSettings.objects.get_or_create(namespace_id=namespace_id)
    for name, value in changes.items():
        setattr(row, name, value)
    row.save()
