"""Provider ``anthropic``: Claude through the official ``anthropic`` SDK's async client (Messages API).

The key is the namespace's credential (``/v1/namespaces/{ns}/credentials/anthropic``), else
``ANTHROPIC_API_KEY``; the base URL is ``settings.INFERGATE["ANTHROPIC_BASE_URL"]`` (``ANTHROPIC_BASE_URL``).
"""

from __future__ import annotations

from dataclasses import replace

from inference.providers.anthropic.adapters import ChatAdapter
from inference.providers.anthropic.catalog import CHAT, DEFAULT_MAX_TOKENS, MODELS, Claude, price
from inference.providers.open_models import open_spec
from inference.types import ModelSpec


def open_model(model: str) -> ChatAdapter:
    """Any other Claude model: chat and vision, its parameters passed through (open_models.py)."""
    spec = open_spec(provider="anthropic", model=model, modalities=CHAT)
    return ChatAdapter(replace(spec, parameters=Claude(DEFAULT_MAX_TOKENS, True, "").parameters()))


def register(registry) -> None:
    for model, claude in MODELS.items():
        registry.register(ChatAdapter(ModelSpec(
            provider="anthropic", model=model, modalities=CHAT, parameters=claude.parameters(),
            description=claude.description, can_stream=True, needs_key=True, price=price(model),
            open_parameters=True)))
    registry.open("anthropic", open_model)
