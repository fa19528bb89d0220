"""Prices per million tokens are genai-prices' base tier for every provider (inference/providers/prices.py):
a model with a long-context tier is not priced at its long-context rate, which is what reading the table
at a million tokens gives. Expected values come from the table's own entry (its ``base`` where tiered)."""

from decimal import Decimal

import pytest
from genai_prices import Usage, calc_price
from genai_prices.types import TieredPrices

from inference.providers.anthropic.catalog import MODELS as CLAUDE
from inference.providers.anthropic.catalog import price as anthropic_price
from inference.providers.google.catalog import GEMINI
from inference.providers.google.catalog import price as google_price
from inference.providers.openai.catalog import AUDIO_INPUT
from inference.providers.openai.catalog import MODELS as OPENAI
from inference.providers.openai.catalog import price as openai_price
from inference.providers.prices import PRICE_VERSION, price_read
from inference.types import UNKNOWN_PRICE

PRICES = {"openai": openai_price, "anthropic": anthropic_price, "google": google_price}
# Tiered in the installed table: the base and the long-context rate differ
TIERED = [("openai", "gpt-5.4"), ("openai", "gpt-5.5"), ("anthropic", "claude-sonnet-4-5"),
          ("google", "gemini-2.5-pro"), ("google", "gemini-1.5-pro")]


def base(value) -> float:
    return float(value.base if isinstance(value, TieredPrices) else value or 0)


def table(provider: str, model: str):
    return calc_price(Usage(input_tokens=1, output_tokens=1), model, provider_id=provider).model_price


@pytest.mark.parametrize("provider, model", TIERED)
def test_a_tiered_model_is_priced_at_its_base_tier(provider, model):
    entry = table(provider, model)
    assert isinstance(entry.input_mtok, TieredPrices)  # else this case tests nothing: pick another model
    price = PRICES[provider](model)
    assert price.prompt_per_million == base(entry.input_mtok)
    assert price.completion_per_million == base(entry.output_mtok)
    at_a_million = calc_price(Usage(input_tokens=1_000_000, output_tokens=1_000_000), model, provider_id=provider)
    assert price.prompt_per_million < float(Decimal(at_a_million.input_price))  # what openai used to show
    assert price.version == PRICE_VERSION


@pytest.mark.parametrize("provider, model", [*(("openai", m) for m in OPENAI), *(("anthropic", m) for m in CLAUDE),
                                             *(("google", m) for m in GEMINI)])
def test_every_served_model_at_its_base_tier(provider, model):
    entry = table(provider, model)
    price = PRICES[provider](model)
    if not (provider == "openai" and model in AUDIO_INPUT):  # those: the audio input rate (below)
        assert price.prompt_per_million == base(entry.input_mtok)
    assert price.completion_per_million == base(entry.output_mtok)


def test_openai_audio_rates_are_kept():
    assert openai_price("gpt-4o-transcribe").prompt_per_million == base(table("openai", "gpt-4o-transcribe")
                                                                       .input_audio_mtok)
    hours = table("openai", "whisper-1")
    hourly = getattr(hours, "audio_hours", None) or hours.input_audio_hours
    assert openai_price("whisper-1").per_audio_minute == pytest.approx(float(hourly) / 60)


def test_an_unknown_model_has_an_unknown_price_never_free():
    assert price_read(model="no-such-model", provider_id="openai") == (UNKNOWN_PRICE, None)
    assert openai_price("no-such-model") == UNKNOWN_PRICE and not UNKNOWN_PRICE.known
