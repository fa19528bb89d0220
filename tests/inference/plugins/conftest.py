"""Every test here sees the built-in plugins, the installed example package's plugins (entry points)
and the misbehaving ones of ``sample_plugins`` (through settings, like the built-ins)."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async

from inference.plugins.registry import plugin_registry
from inference.plugins.services import enabled_cache_clear, plugin_enable

SAMPLES = "tests.inference.plugins.sample_plugins"


@pytest.fixture(autouse=True)
def _sample_plugins(settings):
    settings.INFERGATE = {**settings.INFERGATE,
                          "PLUGIN_MODULES": [*settings.INFERGATE["PLUGIN_MODULES"], SAMPLES]}
    plugin_registry.cache_clear()
    enabled_cache_clear()
    yield
    plugin_registry.cache_clear()
    enabled_cache_clear()


async def enable(tenant, inference_name: str, **parameters: Any) -> None:
    await sync_to_async(plugin_enable)(namespace_id=tenant.namespace.id, inference_name=inference_name,
                                       parameters=parameters)
