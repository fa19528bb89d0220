"""Enabling plugins per namespace (services) and reading what a namespace enabled (selectors).

The inference path reads a namespace's enabled plugins through ``enabled_plugins_get``, cached in the
process for ``INFERGATE["PLUGIN_CACHE_SECONDS"]`` (1 s by default; core/refresh.py): enabling or disabling
takes effect at once in the process that did it and within that time on every other worker.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings

from core.errors import NotFoundError, ValidationError
from core.refresh import RefreshAheadCache
from core.strings import json_problem
from inference.plugins.models import NamespacePlugin
from inference.plugins.registry import plugin_registry
from inference.request import parameters_check

EnabledMap = dict[str, dict[str, Any]]  # inference name → the namespace's parameters


@lru_cache(maxsize=1)
def _cache() -> RefreshAheadCache:
    return RefreshAheadCache(lambda: settings.INFERGATE["PLUGIN_CACHE_SECONDS"])


def enabled_cache_clear(namespace_id: str | None = None) -> None:
    if namespace_id is None:
        _cache().clear()
    else:
        _cache().forget(namespace_id)


def enabled_plugins(*, namespace_id: str) -> EnabledMap:
    rows = NamespacePlugin.objects.filter(namespace_id=namespace_id).values_list("inference_name", "parameters")
    return {name: parameters or {} for name, parameters in rows}


async def enabled_plugins_get(*, namespace_id: str) -> EnabledMap:
    """What the namespace enabled, as the inference path reads it (cached: core/refresh.py)."""
    return await _cache().get(namespace_id, lambda: enabled_plugins(namespace_id=namespace_id))


def plugin_parameters_check(*, inference_name: str, parameters: Any) -> dict[str, Any]:
    """A namespace's parameters for a plugin, checked against what the plugin declares."""
    installed = plugin_registry().require(inference_name)
    if not isinstance(parameters, dict):
        raise ValidationError([{"field": "parameters", "problem": "must be an object"}])
    if problem := json_problem(parameters, "parameters"):  # they are stored
        raise ValidationError([problem])
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
