"""The built-in plugins: the local models, exposed through the same registration path as any
third-party plugin, under their own names, and the ``text_extractor`` whose output is the local
text embedder (``mixpeek://text_extractor@v1/minilm_l6_v2``).
"""

from __future__ import annotations

from typing import Any

from inference.plugins.base import Extractor, Plugin, PluginResult, inference_name
from inference.providers.base import Adapter
from inference.providers.registry import provider_registry
from inference.request import call_build
from inference.types import InferenceRequest

VERSION = "1.0.0"


class ProviderModelPlugin(Plugin):
    """A provider's model as a plugin: same capabilities, same answers."""

    def __init__(self, adapter: Adapter, *, name: str, version: str = VERSION) -> None:
        spec = adapter.spec
        self.adapter = adapter
        self.name, self.version = name, version
        self.modalities = spec.modalities
        self.parameters = spec.parameters
        self.dimensions = spec.dimensions
        self.description = f"{spec.provider}/{spec.model} as a plugin. {spec.description}"

    async def run(self, inputs: dict[str, Any], parameters: dict[str, Any]) -> PluginResult:
        spec = self.adapter.spec
        request = InferenceRequest(provider=spec.provider, model=spec.model, inference_name=None, feature_uri=None,
                                   inputs=inputs, parameters=parameters)
        result = await self.adapter.run(call_build(spec, request))
        return PluginResult(data=result.data, usage=result.usage)


def register(registry) -> None:
    providers = provider_registry()
    embedder = ProviderModelPlugin(providers.resolve("local", "all-minilm-l6-v2"), name="all_minilm_l6_v2")
    chat = ProviderModelPlugin(providers.resolve("local", "smollm2-135m-instruct"), name="smollm2_135m_instruct")
    registry.plugin(embedder)
    registry.plugin(chat)
    registry.extractor(Extractor(
        name="text_extractor", version=VERSION,
        outputs={"minilm_l6_v2": inference_name(embedder.name, embedder.version)},
        description="Text embeddings from the local all-MiniLM-L6-v2 model (384 dimensions, normalised).",
    ))
