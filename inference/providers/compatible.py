"""OpenAI-compatible servers (vLLM, Ollama, llama.cpp's server, LM Studio, ...), each a provider of
its own, named in ``settings.INFERGATE["OPENAI_COMPATIBLE"]`` (env ``INFERGATE_OPENAI_COMPATIBLE``)::

    {"llamacpp": {"base_url": "http://127.0.0.1:8080/v1",
                  "api_key_env": "LLAMACPP_API_KEY",          # optional: the server needs a key
                  "models": ["smollm2",                         # a chat model, or:
                             {"name": "nomic", "modalities": ["text_embedding"], "dimensions": 768,
                              "upstream_model": "nomic-embed-text-v1.5", "max_tokens": 4096,
                              "price": {"prompt_per_million": 0, "completion_per_million": 0}}]}}

A compatible provider is the openai adapter with another ``Endpoint``: a new one is a few lines of
configuration, no code.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from inference.providers.base import SEED, STOP, TEMPERATURE, TOOL_PARAMETERS, TOP_P, max_tokens
from inference.providers.openai.adapters import ADAPTERS, open_model_factory
from inference.providers.openai.catalog import LANGUAGE, PROMPT, SCHEMA, dimensions
from inference.providers.openai.client import Endpoint
from inference.types import Modality, ModelSpec, Price

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
MODEL_KEYS = {"name", "modalities", "dimensions", "upstream_model", "max_tokens", "description", "price"}


def _parameters(modality: Modality, model: dict[str, Any]) -> tuple:
    if modality in (Modality.CHAT, Modality.VISION):
        return (TEMPERATURE, TOP_P, STOP, SEED, max_tokens(int(model.get("max_tokens", 4096)), None), SCHEMA,
                *TOOL_PARAMETERS)
    if modality is Modality.TEXT_EMBEDDING:
        return (dimensions(int(model["dimensions"])),) if model.get("dimensions") else ()
    if modality is Modality.TRANSCRIPTION:
        return (LANGUAGE, PROMPT, TEMPERATURE)
    raise ImproperlyConfigured(f"OpenAI-compatible endpoints do not serve {modality.value}")


def _model(provider: str, declared: Any) -> dict[str, Any]:
    model = {"name": declared} if isinstance(declared, str) else declared
    if not isinstance(model, dict) or not isinstance(model.get("name"), str) or set(model) - MODEL_KEYS:
        raise ImproperlyConfigured(f"OPENAI_COMPATIBLE[{provider!r}]: each model is a name or an object with "
                                   f"{', '.join(sorted(MODEL_KEYS))}")
    return model


def spec_build(provider: str, model: dict[str, Any], needs_key: bool) -> ModelSpec:
    modalities = tuple(Modality(m) for m in model.get("modalities", ["chat"]))
    price = Price(**model["price"]) if model.get("price") else Price()
    return ModelSpec(provider=provider, model=model["name"], modalities=modalities,
                     parameters=_parameters(modalities[0], model), needs_key=needs_key,
                     description=model.get("description", f"{model['name']} on the {provider} server."),
                     dimensions=model.get("dimensions"), price=price, can_stream=Modality.CHAT in modalities,
                     open_parameters=True)


def endpoint_build(provider: str, config: dict[str, Any]) -> Endpoint:
    if not NAME.match(provider) or not isinstance(config, dict) or not isinstance(config.get("base_url"), str):
        raise ImproperlyConfigured(f"OPENAI_COMPATIBLE[{provider!r}]: a lowercase name and a 'base_url' are needed")
    return Endpoint(provider=provider, base_url=lambda: settings.INFERGATE["OPENAI_COMPATIBLE"][provider]["base_url"],
                    credential_env=config.get("api_key_env"), needs_key=bool(config.get("api_key_env")),
                    max_tokens_field="max_tokens")


def register(registry) -> None:
    for provider, config in settings.INFERGATE["OPENAI_COMPATIBLE"].items():
        endpoint = endpoint_build(provider, config)
        for declared in config.get("models", []):
            model = _model(provider, declared)
            spec = spec_build(provider, model, endpoint.needs_key)
            registry.register(ADAPTERS[spec.modalities[0]](endpoint, spec, model.get("upstream_model")))
        registry.open(provider, open_model_factory(endpoint))
