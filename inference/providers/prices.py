"""Cloud models' prices from ``genai-prices`` (its bundled snapshot: no network), read at the base tier.

A model with a long-context tier (Gemini over 128k or 200k prompt tokens, Claude and GPT-5.x models over
theirs) costs more per token past the threshold. A price per million read at a million tokens would be
the long-context one; the price a catalog shows and a usage record is charged is the ordinary one, so
the table is read at a small sample and scaled up.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from importlib.metadata import version
from typing import Any

from inference.types import Price

logger = logging.getLogger(__name__)

PRICE_SOURCE = "genai-prices"
PRICE_VERSION = f"{PRICE_SOURCE} {version(PRICE_SOURCE)}"
PRICE_SAMPLE_TOKENS = 1000  # below every long-context tier: the base price per token


def price_read(*, model: str, provider_id: str) -> tuple[Price, Any]:
    """USD per million prompt and completion tokens at the base tier, and genai-prices' own price entry
    of the model (for rates besides tokens, e.g. audio); ``(Price(), None)`` when the table does not
    know the model (it is recorded as free, with a warning)."""
    from genai_prices import Usage, calc_price

    try:
        calculation = calc_price(Usage(input_tokens=PRICE_SAMPLE_TOKENS, output_tokens=PRICE_SAMPLE_TOKENS), model,
                                 provider_id=provider_id)
    except LookupError:
        logger.warning("no %s price for %s/%s; it is recorded as free", PRICE_SOURCE, provider_id, model)
        return Price(), None
    scale = Decimal(1_000_000) / PRICE_SAMPLE_TOKENS
    return Price(prompt_per_million=float(Decimal(calculation.input_price) * scale),
                 completion_per_million=float(Decimal(calculation.output_price) * scale),
                 version=PRICE_VERSION), calculation.model_price
