"""Which adapter answers a request: a provider's model, or a plugin by inference name or feature URI.

A plugin target must be installed (registered through ``infergate.plugins`` or settings) and enabled
in the principal's namespace; its adapter carries the namespace's parameters for the plugin.
"""

from __future__ import annotations

from inference.errors import NotFoundError
from inference.plugins.adapter import PluginAdapter
from inference.plugins.feature_uri import feature_uri_parse
from inference.plugins.registry import plugin_registry
from inference.plugins.services import enabled_plugins_get
from inference.providers.base import Adapter
from inference.providers.registry import provider_registry
from inference.types import InferenceRequest
from playground.accounts.authentication import Principal


async def target_resolve(*, principal: Principal, request: InferenceRequest) -> Adapter:
    if request.provider and request.model:
        return provider_registry().resolve(request.provider, request.model)
    registry = plugin_registry()
    if request.inference_name:
        name = request.inference_name
    else:
        name = registry.feature_resolve(feature_uri_parse(request.feature_uri or ""))
    enabled = await enabled_plugins_get(namespace_id=principal.namespace.id)
    installed = registry.get(name)
    if installed is None or name not in enabled:
        namespace = principal.namespace.name
        if installed is not None:
            message = (f"Plugin {name!r} is not enabled in namespace {namespace!r}; enable it with "
                       f"POST /v1/namespaces/{namespace}/plugins")
        else:
            message = f"No plugin with inference name {name!r} is installed"
        raise NotFoundError(message, details={
            "resource": "plugin", "inference_name": name, "installed": installed is not None,
            "enabled": sorted(n for n in enabled if registry.get(n) is not None),
            "available": [p.inference_name for p in registry.plugins()]})
    return PluginAdapter(installed, defaults=enabled[name])
