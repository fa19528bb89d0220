"""Cloud models' prices from ``genai-prices`` (its bundled snapshot: no network), read at the base tier.

A model with a long-context tier (Gemini over 128k or 200k prompt tokens, Claude and GPT-5.x models over
theirs) costs more per token past the threshold. A price per million read at a million tokens would be
the long-context one; the price a catalog shows and a usage record is charged is the ordinary one, so
the table is read at a small sample and scaled up.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from functools import lru_cache
from importlib.metadata import version
from typing import Any

from inference.types import UNKNOWN_PRICE, Price

logger = logging.getLogger(__name__)

PRICE_SOURCE = "genai-prices"
PRICE_VERSION = f"{PRICE_SOURCE} {version(PRICE_SOURCE)}"
PRICE_SAMPLE_TOKENS = 1000  # below every long-context tier: the base price per token


def price_read(*, model: str, provider_id: str) -> tuple[Price, Any]:
    """USD per million prompt and completion tokens at the base tier, the cache-read and cache-write rates
    where the table has them, and genai-prices' own price entry of the model (for rates besides tokens,
    e.g. audio); ``(UNKNOWN_PRICE, None)`` when the table does not know the model: its calls are recorded
    with an unknown cost, never as free."""
    from genai_prices import Usage, calc_price

    try:
        calculation = calc_price(Usage(input_tokens=PRICE_SAMPLE_TOKENS, output_tokens=PRICE_SAMPLE_TOKENS), model,
                                 provider_id=provider_id)
    except LookupError:
        return UNKNOWN_PRICE, None
    scale = Decimal(1_000_000) / PRICE_SAMPLE_TOKENS
    table = calculation.model_price
    return Price(prompt_per_million=float(Decimal(calculation.input_price) * scale),
                 completion_per_million=float(Decimal(calculation.output_price) * scale),
                 cache_read_per_million=_rate(getattr(table, "cache_read_mtok", None)),
                 cache_write_per_million=_rate(getattr(table, "cache_write_mtok", None)),
                 version=PRICE_VERSION), table


def _rate(value: Any) -> float | None:
    """A per-million rate of the table (a flat Decimal, or tiers whose base one is the price here)."""
    if value is None:
        return None
    if isinstance(value, Decimal | int | float):
        return float(value)
    base = getattr(value, "base", None)  # a tiered price: its base tier
    return float(base) if base is not None else None


def model_described(*, model: str, provider_id: str) -> dict[str, Any] | None:
    """What genai-prices says of a model (its name, description, context window), or None when it does not
    know it."""
    provider = _providers().get(provider_id)
    found = provider.find_model(model) if provider is not None else None
    if found is None:
        return None
    return {"name": found.name or found.id, "description": found.description or found.name or found.id,
            "context_window": found.context_window, "deprecated": bool(getattr(found, "deprecated", False))}


def catalog_models(*, provider_id: str) -> list[str]:
    """The ids genai-prices lists for a provider (its snapshot: the models of the last release we ship)."""
    provider = _providers().get(provider_id)
    return [model.id for model in provider.models] if provider is not None else []


@lru_cache(maxsize=1)
def _providers() -> dict[str, Any]:
    from genai_prices import data

    return {provider.id: provider for provider in data.providers}
