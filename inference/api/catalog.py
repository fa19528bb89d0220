"""GET /v1/models: the models the namespace can address, with what they can do and what they cost.

The list is in OpenAI's format (``{"object": "list", "data": [{"id", "object": "model", ...}]}``) so that
OpenAI SDKs can read it, with Anthropic's fields (``type``, ``display_name``, ``created_at``; ``has_more``,
``first_id``, ``last_id``) and Infergate's own beside OpenAI's. ``GET /v1/models/{id}`` answers one item, for
either SDK's ``models.retrieve``. ``kind`` tells the
kinds of target apart: ``model`` (``provider/model``), ``alias`` (the namespace's own model names),
``plugin`` (id ``plugin/{inference_name}``) and ``feature_uri`` (id: the URI).

Models: those Infergate registers and tests (``catalog: "infergate"``), then the other ids genai-prices
describes for a provider that forwards any id (``catalog: "genai-prices"``), then models only this namespace
has used (``catalog: null``: only the provider knows them). It is a catalog, not a gate: any id of such a
provider is forwarded. ``configured`` says whether the namespace (or the server) has the provider's
credentials; ``used`` whether it has had answers from the model. Every installed plugin is listed;
``enabled`` says whether this namespace may call it.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import asdict
from typing import Any

from asgiref.sync import async_to_sync
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import BadRequestError, NotFoundError
from inference.plugins.registry import plugin_registry
from inference.plugins.selectors import plugins_describe
from inference.plugins.services import enabled_plugins
from inference.providers.prices import catalog_models
from inference.providers.registry import provider_registry
from inference.types import ModelSpec
from inference.usage.selectors import models_used
from tenancy.accounts.authentication import ModelsKeyAuthentication
from tenancy.accounts.models import Namespace, Permission
from tenancy.accounts.namespace_settings import aliases_of
from tenancy.credentials.selectors import credential_lookup

# genai-prices ids of what no adapter of ours answers (images, speech, realtime sessions, moderation,
# legacy completions), and its patterns that are not ids (fine-tune prefixes): not listed, though a request
# naming such a model is still forwarded.
NOT_LISTED = re.compile(r"dall-e|gpt-image|imagen|veo|tts|realtime|moderation|sora|computer-use|davinci|babbage|"
                        r"^ada$|^curie$|live|-image|^ft:|\.ft-|-$|:")
# What genai-prices lists under a provider that its API here does not serve (Vertex's Claude under google).
NOT_SERVED = {"google": re.compile(r"^claude")}


def model_describe(spec: ModelSpec, configured: bool = True, used: bool = False,
                   catalog: str | None = "infergate") -> dict[str, Any]:
    price = spec.price
    rates = {"cache_read_per_million": price.cache_read_per_million,
             "cache_write_per_million": price.cache_write_per_million}
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
        "used": used,
        "catalog": catalog,  # who describes the model: infergate, genai-prices, or nobody (null)
        # null rates: no price table knows the model, its calls are recorded with an unknown cost
        "price": {"currency": "USD", "known": price.known,
                  "prompt_per_million": price.prompt_per_million if price.known else None,
                  "completion_per_million": price.completion_per_million if price.known else None,
                  **{name: rate for name, rate in rates.items() if rate is not None},
                  # models priced by audio length (whisper-1) only
                  **({"per_audio_minute": price.per_audio_minute} if price.per_audio_minute else {})},
    }


def alias_items(namespace_id: str) -> list[dict[str, Any]]:
    """The namespace's model aliases: the name a client sends as ``model``, the target and default parameters."""
    routing = Namespace.objects.filter(id=namespace_id).values_list("routing", flat=True).first()
    return [{"id": name, "object": "model", "kind": "alias", "created": 0, "owned_by": "namespace",
             "target": target, "parameters": json.loads(parameters),
             **({"deployments": [d["id"] for d in json.loads(deployments)["deployments"]]} if deployments else {})}
            for name, target, parameters, deployments in aliases_of(routing)]


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


def _listed(provider: str, model: str) -> bool:
    served = NOT_SERVED.get(provider)
    return not NOT_LISTED.search(model) and not (served and served.search(model))


def _open_specs(registered: set[tuple[str, str]], used: set[tuple[str, str]]) -> list[tuple[ModelSpec, str | None]]:
    """The models of providers that forward any id, beyond the registered ones: what genai-prices lists for
    them, then the ones the namespace used that nobody describes; each with who describes it."""
    registry = provider_registry()
    wanted = [(provider, model) for provider in registry.open_providers()
              for model in catalog_models(provider_id=provider) if _listed(provider, model)]
    wanted += sorted(used - set(wanted))
    specs, seen = [], set(registered)
    for provider, model in wanted:
        if (provider, model) in seen:
            continue
        seen.add((provider, model))
        try:
            spec = registry.resolve(provider, model).spec
        except BadRequestError:  # a provider no longer configured, an id we would not forward
            continue
        specs.append((spec, "genai-prices" if spec.catalogued else None))
    return specs


def catalog_list(*, namespace_id: str) -> list[dict[str, Any]]:
    """The items of GET /v1/models for one namespace (the browser playground lists the same)."""
    adapters = provider_registry().adapters()
    flags = async_to_sync(_configured)(namespace_id)
    used = models_used(namespace_id=namespace_id)
    models = [model_describe(a.spec, flag, (a.spec.provider, a.spec.model) in used) for a, flag in zip(adapters, flags)]
    by_provider: dict[str, bool] = {}
    for adapter, flag in zip(adapters, flags):
        by_provider[adapter.spec.provider] = by_provider.get(adapter.spec.provider, False) or flag
    registered = {(a.spec.provider, a.spec.model) for a in adapters}
    models += [model_describe(spec, by_provider.get(spec.provider, False), (spec.provider, spec.model) in used, catalog)
               for spec, catalog in _open_specs(registered, used)]
    return models + alias_items(namespace_id) + plugin_items(namespace_id)


# Anthropic's model objects carry a release time; "an epoch value if the release date is unknown", as here.
UNKNOWN_RELEASE = "1970-01-01T00:00:00Z"


def sdk_item(item: dict[str, Any]) -> dict[str, Any]:
    """A catalog item with the fields Anthropic's SDK reads beside OpenAI's (``type``, ``display_name``,
    ``created_at``), so that either SDK's ``models.list()`` / ``models.retrieve()`` gets complete objects."""
    return {**item, "type": "model", "display_name": item.get("display_name") or item["id"],
            "created_at": UNKNOWN_RELEASE}


def catalog_item(items: list[dict[str, Any]], model_id: str) -> dict[str, Any]:
    """The item whose id is ``model_id``, else the one model a provider knows by that id (``gpt-4o-mini`` for
    ``openai/gpt-4o-mini``, as an SDK's ``models.retrieve`` sends it); 404 when there is none or more than one."""
    found = [item for item in items if item["id"] == model_id]
    found = found or [item for item in items if item.get("kind") == "model" and item.get("model") == model_id]
    if len(found) != 1:
        shown = model_id[:200]  # an id past any real one is not echoed whole
        raise NotFoundError(f"No model {shown!r} in this namespace's catalog (GET /v1/models lists them)"
                            + (f"; {len(found)} providers know it by that id: name one, as provider/model"
                               if found else ""),
                            details={"resource": "model", "id": shown,
                                     **({"candidates": [item["id"] for item in found]} if found else {})})
    return found[0]


class ModelsView(APIView):
    """The catalog as OpenAI's list, with Anthropic's paging fields (one page holds all)."""

    authentication_classes = [ModelsKeyAuthentication]

    def get(self, request: Request) -> Response:
        request.auth.require(Permission.READ)
        items = [sdk_item(item) for item in catalog_list(namespace_id=request.auth.namespace.id)]
        return Response({"object": "list", "data": items, "has_more": False,
                         "first_id": items[0]["id"] if items else None, "last_id": items[-1]["id"] if items else None})


class ModelView(APIView):
    """One catalog item, by its id or by the id its provider knows it by."""

    authentication_classes = [ModelsKeyAuthentication]

    def get(self, request: Request, model_id: str) -> Response:
        request.auth.require(Permission.READ)
        return Response(sdk_item(catalog_item(catalog_list(namespace_id=request.auth.namespace.id), model_id)))
