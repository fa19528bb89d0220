"""Reads of the dashboard pages, always scoped to one organization."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from core.errors import ServiceUnavailableError
from inference.api.deployments import deployments_report, namespace_groups
from inference.cache.models import CacheEntry, CacheSettings
from inference.cache.selectors import cache_counters, cache_settings_describe
from inference.plugins.models import NamespacePlugin
from inference.plugins.registry import plugin_registry
from inference.plugins.selectors import plugins_describe
from inference.plugins.services import enabled_plugins
from inference.usage.models import UsageRecord
from tenancy.accounts.authentication import namespace_record
from tenancy.accounts.models import ApiKey, Namespace, Organization
from tenancy.credentials.models import ProviderCredential
from tenancy.credentials.selectors import credential_list
from tenancy.credentials.services import providers_with_keys

KEY_STATUSES = ("active", "expired", "revoked")


def api_key_list(*, organization: Organization, status: str = "") -> QuerySet[ApiKey]:
    """The organization's keys, newest first, with their namespaces; ``status`` narrows to one status."""
    keys = (ApiKey.objects.filter(organization=organization)
            .prefetch_related(Prefetch("namespaces", queryset=Namespace.objects.order_by("name")))
            .order_by("-created_at", "-id"))
    now = timezone.now()
    if status == "revoked":
        keys = keys.filter(revoked_at__isnull=False)
    elif status == "expired":
        keys = keys.filter(revoked_at__isnull=True, expires_at__lte=now)
    elif status == "active":
        keys = keys.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now), revoked_at__isnull=True)
    return keys


def namespace_list(*, organization: Organization) -> QuerySet[Namespace]:
    """The organization's namespaces by name, with how many credentials and plugins each has set."""
    return (Namespace.objects.filter(organization=organization)
            .annotate(credential_count=Count("credentials", distinct=True),
                      plugin_count=Count("plugins", distinct=True))
            .order_by("name"))


def namespace_delete_impact(*, namespace: Namespace) -> dict[str, Any]:
    """What deleting the namespace removes, to show before the admin confirms."""
    scoped = ApiKey.objects.filter(namespaces=namespace, revoked_at__isnull=True)
    return {
        "credentials": [f"{provider} “{name}”" if name else provider for provider, name in ProviderCredential.objects
                        .filter(namespace=namespace).order_by("provider", "name").values_list("provider", "name")],
        "plugins": list(NamespacePlugin.objects.filter(namespace=namespace)
                        .order_by("inference_name").values_list("inference_name", flat=True)),
        "usage_records": UsageRecord.objects.filter(namespace=namespace).count(),
        "cache_entries": CacheEntry.objects.filter(namespace=namespace).count(),
        # Keys for which this is the only namespace they may use: they will be able to use none.
        "keys_left_without_namespace": list(
            scoped.annotate(n=Count("namespaces")).filter(n=1).order_by("name").values_list("name", "prefix")),
        "keys_narrowed": scoped.count(),
    }


def namespace_credentials(*, namespace: Namespace) -> dict[str, list[dict[str, Any]]]:
    """Every provider that takes a key and whether this namespace has set its default one (``defaults``), and the
    namespace's named credentials (``named``, by provider and name): names, fields and dates, never values."""
    listed = credential_list(namespace_id=namespace.id, providers=providers_with_keys())
    return {"defaults": [c for c in listed if not c["name"]], "named": [c for c in listed if c["name"]]}


def namespace_deployments(*, namespace: Namespace) -> dict[str, Any]:
    """Every alias of deployments of the namespace, each deployment with its shared state as every node sees it
    (``deployments_report``, the API's); when Redis is unavailable, the settings alone and ``unavailable``."""
    record = namespace_record(namespace)
    try:
        groups, unavailable = deployments_report(record), False
    except ServiceUnavailableError:
        groups = [{"alias": g.alias, "strategy": g.strategy,
                   "breaker": {"failures": g.failures, "cooldown_seconds": g.cooldown_s},
                   "deployments": [d.as_dict() for d in g.deployments]} for g in namespace_groups(record)]
        unavailable = True
    fallbacks = dict(record.fallbacks)
    for group in groups:
        group["fallbacks"] = list(fallbacks.get(group["alias"], ()))
        for item in group["deployments"]:
            requests = item.get("requests") or 0
            item["error_rate"] = round(100 * item["errors"] / requests, 1) if requests else None
            item["resettable"] = item.get("state") in ("open", "half_open")
    return {"groups": groups, "unavailable": unavailable, "as_of": timezone.now()}


def namespace_plugins(*, namespace: Namespace) -> list[dict[str, Any]]:
    """Every installed plugin, enabled ones first, with the namespace's parameters where enabled."""
    described = plugins_describe(registry=plugin_registry(), enabled=enabled_plugins(namespace_id=namespace.id))
    return sorted(described, key=lambda p: (not p["enabled"], p["inference_name"]))


def namespace_cache(*, namespace: Namespace) -> dict[str, Any]:
    """The semantic cache of the namespace: its effective settings and counters (the cache's selectors) and
    the values the namespace itself stored (None: the server's default), for the form."""
    row = CacheSettings.objects.filter(namespace=namespace).first()
    counters = cache_counters(namespace_id=namespace.id)
    decided = counters["hits"] + counters["misses"] + counters["explorations"]
    return {"settings": cache_settings_describe(namespace_id=namespace.id), "counters": counters,
            "hit_rate": round(100 * counters["hits"] / decided, 1) if decided else None,
            "stored": {"allow_sampling": bool(row and row.allow_sampling), "ttl_seconds": row and row.ttl_seconds,
                       "max_entries": row and row.max_entries}}
