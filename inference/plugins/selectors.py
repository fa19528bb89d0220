"""How plugins and feature URIs are described to clients (the plugins API and GET /v1/models)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from inference.plugins.registry import InstalledPlugin, PluginRegistry


def _parameters(installed: InstalledPlugin) -> list[dict[str, Any]]:
    return [{k: v for k, v in asdict(p).items() if v is not None} for p in installed.spec.parameters]


def plugin_describe(installed: InstalledPlugin, *, registry: PluginRegistry,
                    enabled: dict[str, Any] | None) -> dict[str, Any]:
    """``enabled`` is the namespace's parameters for the plugin, or None where it is not enabled."""
    plugin, spec = installed.plugin, installed.spec
    return {
        "inference_name": installed.inference_name,
        "name": plugin.name,
        "version": plugin.version,
        "description": spec.description,
        "origin": installed.origin,
        "modalities": [m.value for m in spec.modalities],
        "input_keys": sorted(spec.input_keys()),
        "parameters": _parameters(installed),
        "dimensions": spec.dimensions,
        "timeout_s": installed.timeout_s,
        "feature_uris": [uri for uri, name in registry.feature_uris() if name == installed.inference_name],
        "enabled": enabled is not None,
        "enabled_parameters": enabled,
    }


def plugins_describe(*, registry: PluginRegistry, enabled: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [plugin_describe(p, registry=registry, enabled=enabled.get(p.inference_name)) for p in registry.plugins()]
