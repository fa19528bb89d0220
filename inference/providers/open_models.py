"""Models a cloud provider serves that Infergate's own catalog does not list: any model id of a configured
provider is forwarded, and the provider decides.

Such a model is routed by the shape of the request (prompts or messages: chat or vision; text or texts: an
embedding; audio: a transcription), its parameters pass through (those Infergate models are still checked),
and its price comes from genai-prices when that table knows it, else it is unknown (never free). What
genai-prices says of it (a name, a description, a context window) describes it in ``GET /v1/models``.
"""

from __future__ import annotations

import re
from contextlib import aclosing
from typing import AsyncIterator

from inference.providers.base import SEED, STOP, TEMPERATURE, TOOL_PARAMETERS, TOP_P, Adapter, max_tokens
from inference.providers.prices import model_described, price_read
from inference.types import (
    CredentialLookup,
    InferenceCall,
    InferenceResult,
    Modality,
    ModelSpec,
    ParameterSpec,
    StreamEvent,
)

# A model id as providers spell them ("gpt-5.2", "claude-haiku-4-5@20251001", "models/gemini-2.5-pro",
# "meta-llama/Llama-3.3-70B"); never a path that climbs or an empty segment (some SDKs put it in a URL).
MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+/-]{0,199}$")
OPEN_MAX_TOKENS = 1_000_000  # the provider enforces the model's own limit
SCHEMA = ParameterSpec("schema", "object", "JSON Schema of the answer, returned parsed as data.responses[i].structured.")
DIMENSIONS = ParameterSpec("dimensions", "integer", "Shorter embeddings: the vector's length.", 1, 65536)
LANGUAGE = ParameterSpec("language", "string", "ISO-639-1 language of the audio, e.g. 'en'.")
PROMPT = ParameterSpec("prompt", "string", "Text to guide the transcription's style or spelling.")
PARAMETERS = {
    Modality.CHAT: (TEMPERATURE, TOP_P, STOP, SEED, max_tokens(OPEN_MAX_TOKENS, None), SCHEMA, *TOOL_PARAMETERS),
    Modality.TEXT_EMBEDDING: (DIMENSIONS,),
    Modality.TRANSCRIPTION: (LANGUAGE, PROMPT),
}


def model_id_problem(model: str) -> str | None:
    if not MODEL_ID.match(model) or ".." in model or "//" in model or model.endswith("/"):
        return "a model id is letters, digits and . _ : @ + - /, without '..' or empty path segments"
    return None


def open_spec(*, provider: str, model: str, modalities: tuple[Modality, ...], price_provider: str | None = None,
              needs_key: bool = True) -> ModelSpec:
    """The spec of a model only the provider knows: ``modalities`` in the order a request's shape is matched."""
    price, _ = price_read(model=model, provider_id=price_provider or provider)
    described = model_described(model=model, provider_id=price_provider or provider)
    parameters: dict[str, ParameterSpec] = {}
    for modality in modalities:
        for parameter in PARAMETERS.get(modality, ()):
            parameters.setdefault(parameter.name, parameter)
    description = (described["description"] if described else
                   f"Not in Infergate's catalog: forwarded to {provider}, which decides.")
    return ModelSpec(provider=provider, model=model, modalities=modalities, parameters=tuple(parameters.values()),
                     description=description, can_stream=Modality.CHAT in modalities, needs_key=needs_key,
                     price=price, open_parameters=True, catalogued=described is not None)


class ByModality(Adapter):
    """One model, several adapters: the call's modality (the shape of the request) picks the one that runs."""

    def __init__(self, spec: ModelSpec, adapters: dict[Modality, Adapter]) -> None:
        self.spec = spec
        self.adapters = adapters

    @property
    def wire_formats(self) -> frozenset[str]:  # type: ignore[override]
        """The client API formats its adapters send as they are (the chat adapter's: types.WireRequest)."""
        return frozenset().union(*(adapter.wire_formats for adapter in self.adapters.values()))

    @property
    def takes_base_url(self) -> bool:  # type: ignore[override]
        return any(adapter.takes_base_url for adapter in self.adapters.values())

    def _for(self, call: InferenceCall) -> Adapter:
        return self.adapters[call.modality]

    async def run(self, call: InferenceCall) -> InferenceResult:
        return await self._for(call).run(call)

    async def stream(self, call: InferenceCall) -> AsyncIterator[StreamEvent]:
        async with aclosing(self._for(call).stream(call)) as events:  # closing this closes the provider's stream
            async for event in events:
                yield event

    async def configured(self, credentials: CredentialLookup) -> bool:
        return await next(iter(self.adapters.values())).configured(credentials)
