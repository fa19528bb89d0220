"""What a plugin author imports: ``from inference.plugins.sdk import Plugin, Modality, ...``.

See docs/plugins.md. ``text_embed`` gives plugins the gateway's local text embedder
(all-MiniLM-L6-v2, 384 dimensions, normalised), running off the event loop on its own threads.
"""

from __future__ import annotations

from inference.errors import BadRequestError, ValidationError
from inference.plugins.base import Extractor, Plugin, PluginResult, inference_name
from inference.providers.registry import provider_registry
from inference.types import InferenceCall, Modality, ParameterSpec, Usage

__all__ = ["BadRequestError", "Extractor", "Modality", "ParameterSpec", "Plugin", "PluginResult", "Usage",
           "ValidationError", "inference_name", "text_embed"]


async def text_embed(texts: list[str]) -> tuple[list[list[float]], int]:
    """Normalised 384-d vectors for ``texts`` from the local embedder, and the tokens it read."""
    adapter = provider_registry().resolve("local", "all-minilm-l6-v2")
    call = InferenceCall(modality=Modality.TEXT_EMBEDDING, inputs={"texts": list(texts)}, parameters={},
                         texts=tuple(texts), single=False)
    result = await adapter.run(call)
    return result.data["embeddings"], result.usage.prompt
