"""Provider ``anthropic``: Claude through the official ``anthropic`` SDK's async client (Messages API).

The key is the namespace's credential (``/v1/namespaces/{ns}/credentials/anthropic``), else
``ANTHROPIC_API_KEY``; the base URL is ``settings.INFERGATE["ANTHROPIC_BASE_URL"]`` (``ANTHROPIC_BASE_URL``).
"""

from __future__ import annotations

from inference.providers.anthropic.adapters import ChatAdapter
from inference.providers.anthropic.catalog import CHAT, MODELS, price
from inference.types import ModelSpec


def register(registry) -> None:
    for model, claude in MODELS.items():
        registry.register(ChatAdapter(ModelSpec(
            provider="anthropic", model=model, modalities=CHAT, parameters=claude.parameters(),
            description=claude.description, can_stream=True, needs_key=True, price=price(model))))
