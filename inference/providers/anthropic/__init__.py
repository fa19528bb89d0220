"""Provider ``anthropic``: Claude through the official ``anthropic`` SDK's async client (Messages API).

The key is the namespace's credential (``/v1/namespaces/{ns}/credentials/anthropic``), else
``ANTHROPIC_API_KEY``; the base URL is ``settings.INFERGATE["ANTHROPIC_BASE_URL"]`` (``ANTHROPIC_BASE_URL``).
"""

from __future__ import annotations

from dataclasses import replace

from inference.providers.anthropic.adapters import ChatAdapter
from inference.providers.anthropic.catalog import CHAT, MODELS, Claude, price
from inference.providers.open_models import OPEN_MAX_TOKENS, open_spec
from inference.types import ModelSpec


def open_model(model: str) -> ChatAdapter:
    """Any other Claude model (a dated id such as claude-haiku-4-5-20251001 too): chat and vision, its parameters
    passed through (open_models.py), its output limit Anthropic's to enforce."""
    spec = open_spec(provider="anthropic", model=model, modalities=CHAT)
    return ChatAdapter(replace(spec, parameters=Claude(OPEN_MAX_TOKENS, True, "").parameters()))


def register(registry) -> None:
    for model, claude in MODELS.items():
        registry.register(ChatAdapter(ModelSpec(
            provider="anthropic", model=model, modalities=CHAT, parameters=claude.parameters(),
            description=claude.description, can_stream=True, needs_key=True, price=price(model),
            open_parameters=True)))
    registry.open("anthropic", open_model)
