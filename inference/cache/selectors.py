"""Reading the cache's counters: decisions from the usage summary, labels from the scopes."""

from __future__ import annotations

from typing import Any

from inference.cache.models import CacheSettings
from inference.cache.store import label_totals, options_get
from inference.usage.rollups import utc_today
from inference.usage.selectors import usage_first_day, usage_summary
from tenancy.accounts.models import Namespace


def cache_counters(*, namespace_id: str) -> dict[str, Any]:
    """The namespace's cache counters over its whole usage history: hits, misses and explorations and what
    hits saved from ``usage_summary`` (daily rollups, kept forever, plus the raw records no rollup covers
    yet), from the namespace's first usage day to today; labels, entries and scopes from the cache's own
    tables (entries and scopes as they are now), and so ``hits_normalised``: the hits of the normalised exact
    tier (part of ``hits``) in the scopes there are now."""
    organization_id = Namespace.objects.filter(id=namespace_id).values_list("organization_id", flat=True).first()
    start = usage_first_day(namespace_id=namespace_id) if organization_id is not None else None
    rows = usage_summary(organization_id=organization_id, namespace_ids=None, namespace_id=namespace_id,
                         start=start, end=utc_today(), latency=False).rows if start is not None else []
    usage = rows[0] if rows else None
    labels = label_totals(namespace_id=namespace_id)
    return {
        "hits": usage.cache_hits if usage else 0, "hits_normalised": labels["hits_normalised"],
        "misses": usage.cache_misses if usage else 0,
        "explorations": usage.cache_explorations if usage else 0,
        "labels": labels["labels"], "labels_wrong": labels["labels_wrong"], "labels_judged": labels["judged"],
        "labels_judge_failed": labels["judge_failures"],
        "saved_tokens": usage.saved_tokens if usage else 0,
        "saved_cost_usd": float(usage.saved_cost_usd) if usage else 0.0,
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
