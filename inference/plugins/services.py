"""Enabling plugins per namespace (services) and reading what a namespace enabled (selectors).

The inference path reads a namespace's enabled plugins through ``enabled_plugins_get``, cached in the
process for ``INFERGATE["PLUGIN_CACHE_SECONDS"]`` (1 s by default): enabling or disabling takes effect at
once in the process that did it and within that time on every other worker.
"""

from __future__ import annotations

import time
from dataclasses import replace
from functools import lru_cache
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection

from inference.errors import InfergateError, NotFoundError, ValidationError
from inference.plugins.adapter import PluginAdapter
from inference.plugins.models import NamespacePlugin
from inference.plugins.registry import plugin_registry
from inference.request import call_build, parameters_check
from inference.types import InferenceRequest
from inference.usage.services import PRICE_TABLE_VERSION, UsageEntry, usage_record
from playground.accounts.authentication import Principal

EnabledMap = dict[str, dict[str, Any]]  # inference name → the namespace's parameters


@lru_cache(maxsize=1)
def _cache() -> dict[str, tuple[float, EnabledMap]]:
    return {}


def enabled_cache_clear(namespace_id: str | None = None) -> None:
    if namespace_id is None:
        _cache().clear()
    else:
        _cache().pop(namespace_id, None)


def enabled_plugins(*, namespace_id: str) -> EnabledMap:
    rows = NamespacePlugin.objects.filter(namespace_id=namespace_id).values_list("inference_name", "parameters")
    return {name: parameters or {} for name, parameters in rows}


def _enabled_plugins_closing(namespace_id: str) -> EnabledMap:
    try:
        return enabled_plugins(namespace_id=namespace_id)
    finally:
        connection.close()  # a pool thread outlives the request


async def enabled_plugins_get(*, namespace_id: str) -> EnabledMap:
    cache = _cache()
    hit = cache.get(namespace_id)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    enabled = await sync_to_async(_enabled_plugins_closing, thread_sensitive=False)(namespace_id)
    if len(cache) > 50_000:
        cache.clear()
    cache[namespace_id] = (time.monotonic() + settings.INFERGATE["PLUGIN_CACHE_SECONDS"], enabled)
    return enabled


def plugin_parameters_check(*, inference_name: str, parameters: Any) -> dict[str, Any]:
    """A namespace's parameters for a plugin, checked against what the plugin declares."""
    installed = plugin_registry().require(inference_name)
    if not isinstance(parameters, dict):
        raise ValidationError([{"field": "parameters", "problem": "must be an object"}])
    return parameters_check(installed.spec, parameters)


def plugin_enable(*, namespace_id: str, inference_name: str,
                  parameters: dict[str, Any] | None = None) -> tuple[NamespacePlugin, bool]:
    """Enable a plugin in a namespace (or replace its parameters). Returns the row and whether it is new."""
    checked = plugin_parameters_check(inference_name=inference_name, parameters=parameters or {})
    row, created = NamespacePlugin.objects.update_or_create(
        namespace_id=namespace_id, inference_name=inference_name, defaults={"parameters": checked})
    enabled_cache_clear(namespace_id)
    return row, created


def plugin_disable(*, namespace_id: str, inference_name: str) -> None:
    deleted, _ = NamespacePlugin.objects.filter(namespace_id=namespace_id, inference_name=inference_name).delete()
    enabled_cache_clear(namespace_id)
    if not deleted:
        raise NotFoundError(f"Plugin {inference_name!r} is not enabled in this namespace",
                            details={"resource": "plugin", "inference_name": inference_name})


async def plugin_test(*, principal: Principal, inference_name: str, inputs: dict[str, Any],
                      parameters: dict[str, Any], request_id: str) -> dict[str, Any]:
    """Run a plugin on sample inputs, enabled in the namespace or not (with the namespace's parameters
    where it is), and answer like POST /v1/inference. Leaves a usage record (endpoint ``plugin_test``)."""
    started = time.perf_counter()
    entry = UsageEntry(request_id=request_id, status=200, endpoint="plugin_test",
                       organization_id=principal.organization_id, namespace_id=principal.namespace.id,
                       api_key_id=principal.key.id, provider="plugin", model=inference_name,
                       inference_name=inference_name)
    try:
        installed = plugin_registry().require(inference_name)
        enabled = await enabled_plugins_get(namespace_id=principal.namespace.id)
        adapter = PluginAdapter(installed, defaults=enabled.get(inference_name))
        request = InferenceRequest(provider=None, model=None, inference_name=inference_name, feature_uri=None,
                                   inputs=inputs, parameters=parameters)
        call = replace(call_build(adapter.spec, request), namespace_id=principal.namespace.id, request_id=request_id)
        entry.modality = call.modality.value
        result = await adapter.run(call)
        entry.prompt_tokens, entry.completion_tokens = result.usage.prompt, result.usage.completion
        entry.total_tokens, entry.price_version = result.usage.total, PRICE_TABLE_VERSION
        entry.latency_ms = round((time.perf_counter() - started) * 1000, 3)
        return {"data": result.data, "provider": adapter.spec.provider, "model": adapter.spec.model,
                "latency_ms": entry.latency_ms, "tokens_used": result.usage.as_dict(), "cached": False}
    except InfergateError as error:
        entry.status, entry.error_type = error.status, error.type
        entry.latency_ms = round((time.perf_counter() - started) * 1000, 3)
        raise
    except Exception:
        entry.status, entry.error_type = 500, "InternalServerError"
        raise
    finally:
        await usage_record(entry)
