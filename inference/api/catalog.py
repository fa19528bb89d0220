"""GET /v1/models: every model the namespace can address, with what it can do and what it costs.

The list is in OpenAI's format (``{"object": "list", "data": [{"id", "object": "model", ...}]}``) so that
OpenAI SDKs can read it, with Infergate's own fields beside OpenAI's in each item. ``kind`` tells the
three kinds of target apart: ``model`` (``provider/model``), ``plugin`` (id ``plugin/{inference_name}``)
and ``feature_uri`` (id: the URI). Every installed plugin is listed; ``enabled`` says whether this
namespace may call it.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

from asgiref.sync import async_to_sync
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inference.plugins.registry import plugin_registry
from inference.plugins.selectors import plugins_describe
from inference.plugins.services import enabled_plugins
from inference.providers.registry import provider_registry
from inference.types import ModelSpec
from tenancy.accounts.models import Permission
from tenancy.credentials.selectors import credential_lookup


def model_describe(spec: ModelSpec, configured: bool = True) -> dict[str, Any]:
    return {
        "id": f"{spec.provider}/{spec.model}",
        "object": "model",
        "kind": "model",
        "created": 0,
        "owned_by": spec.provider,
        "provider": spec.provider,
        "model": spec.model,
        "description": spec.description,
        "modalities": [m.value for m in spec.modalities],
        "input_keys": sorted(spec.input_keys()),
        "parameters": [{k: v for k, v in asdict(p).items() if v is not None} for p in spec.parameters],
        "can_stream": spec.can_stream,
        "dimensions": spec.dimensions,
        "configured": configured,  # credentials present for this namespace (or none needed)
        "price": {"currency": "USD", "prompt_per_million": spec.price.prompt_per_million,
                  "completion_per_million": spec.price.completion_per_million,
                  # models priced by audio length (whisper-1) only
                  **({"per_audio_minute": spec.price.per_audio_minute} if spec.price.per_audio_minute else {})},
    }


def plugin_items(namespace_id: str) -> list[dict[str, Any]]:
    """A plugin item per installed plugin and a ``feature_uri`` item per feature URI, with the fields
    of the model items where they apply, so that a client can read all three kinds alike."""
    registry = plugin_registry()
    items, by_name = [], {}
    for plugin in plugins_describe(registry=registry, enabled=enabled_plugins(namespace_id=namespace_id)):
        name = plugin["inference_name"]
        by_name[name] = plugin
        items.append({"id": f"plugin/{name}", "object": "model", "kind": "plugin", "created": 0,
                      "owned_by": plugin["origin"], "provider": "plugin", "model": name, **plugin,
                      "can_stream": False, "configured": plugin["enabled"],
                      "price": {"currency": "USD", "prompt_per_million": 0.0, "completion_per_million": 0.0}})
    for uri, name in registry.feature_uris():
        plugin = by_name.get(name)
        items.append({"id": uri, "object": "model", "kind": "feature_uri", "created": 0, "owned_by": "plugin",
                      "feature_uri": uri, "inference_name": name, "installed": plugin is not None,
                      "enabled": bool(plugin and plugin["enabled"]),
                      **({k: plugin[k] for k in ("description", "modalities", "input_keys", "dimensions")}
                         if plugin else {})})
    return items


async def _configured(namespace_id: str) -> list[bool]:
    credentials = credential_lookup(namespace_id)
    return list(await asyncio.gather(*(a.configured(credentials) for a in provider_registry().adapters())))


def catalog_list(*, namespace_id: str) -> list[dict[str, Any]]:
    """The items of GET /v1/models for one namespace (the browser playground lists the same)."""
    flags = async_to_sync(_configured)(namespace_id)
    models = [model_describe(a.spec, flag) for a, flag in zip(provider_registry().adapters(), flags)]
    return models + plugin_items(namespace_id)


class ModelsView(APIView):
    def get(self, request: Request) -> Response:
        request.auth.require(Permission.READ)
        return Response({"object": "list", "data": catalog_list(namespace_id=request.auth.namespace.id)})
