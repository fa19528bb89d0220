"""The OpenAI models Infergate serves, declared as data, with prices from ``genai-prices`` (its
bundled snapshot: no network)."""

from __future__ import annotations

import logging
from decimal import Decimal
from importlib.metadata import version

from inference.providers.base import SEED, STOP, TEMPERATURE, TOP_P, max_tokens
from inference.types import Modality, ParameterSpec, Price

logger = logging.getLogger(__name__)

PRICE_SOURCE = "genai-prices"
PRICE_VERSION = f"{PRICE_SOURCE} {version(PRICE_SOURCE)}"

SCHEMA = ParameterSpec("schema", "object", "JSON Schema of the answer: the provider answers JSON in that shape, "
                                           "returned parsed as data.responses[i].structured.")
LANGUAGE = ParameterSpec("language", "string", "ISO-639-1 language of the audio, e.g. 'en'; improves accuracy.")
PROMPT = ParameterSpec("prompt", "string", "Text to guide the transcription's style or spelling.")


def dimensions(maximum: int) -> ParameterSpec:
    return ParameterSpec("dimensions", "integer", "Shorter embeddings: the vector's length.", 1, maximum, maximum)


def chat_parameters(limit: int) -> tuple[ParameterSpec, ...]:
    return (TEMPERATURE, TOP_P, STOP, SEED, max_tokens(limit, None), SCHEMA)


# model -> (modalities, parameters, dimensions, description)
CHAT = (Modality.CHAT, Modality.VISION)
MODELS: dict[str, tuple[tuple[Modality, ...], tuple[ParameterSpec, ...], int | None, str]] = {
    "gpt-4o": (CHAT, chat_parameters(16384), None, "GPT-4o: chat, vision, structured output."),
    "gpt-4o-mini": (CHAT, chat_parameters(16384), None, "GPT-4o mini: chat, vision, structured output."),
    "gpt-4.1": (CHAT, chat_parameters(32768), None, "GPT-4.1: chat, vision, structured output."),
    "gpt-4.1-mini": (CHAT, chat_parameters(32768), None, "GPT-4.1 mini: chat, vision, structured output."),
    "gpt-4.1-nano": (CHAT, chat_parameters(32768), None, "GPT-4.1 nano: chat, vision, structured output."),
    "text-embedding-3-small": ((Modality.TEXT_EMBEDDING,), (dimensions(1536),), 1536, "Text embeddings."),
    "text-embedding-3-large": ((Modality.TEXT_EMBEDDING,), (dimensions(3072),), 3072, "Text embeddings."),
    "text-embedding-ada-002": ((Modality.TEXT_EMBEDDING,), (), 1536, "Text embeddings (legacy)."),
    "whisper-1": ((Modality.TRANSCRIPTION,), (LANGUAGE, PROMPT, TEMPERATURE), None,
                  "Whisper: transcription with language, duration and segments."),
    "gpt-4o-transcribe": ((Modality.TRANSCRIPTION,), (LANGUAGE, PROMPT, TEMPERATURE), None, "Transcription."),
    "gpt-4o-mini-transcribe": ((Modality.TRANSCRIPTION,), (LANGUAGE, PROMPT, TEMPERATURE), None, "Transcription."),
}


def price(model: str, provider_id: str = "openai") -> Price:
    """USD per million prompt and completion tokens. Prices per minute of audio (whisper-1) are not
    expressible per token and come out as 0."""
    from genai_prices import Usage, calc_price

    try:
        calculation = calc_price(Usage(input_tokens=1_000_000, output_tokens=1_000_000), model,
                                 provider_id=provider_id)
    except LookupError:
        logger.warning("no %s price for %s/%s; it is recorded as free", PRICE_SOURCE, provider_id, model)
        return Price()
    return Price(prompt_per_million=float(Decimal(calculation.input_price)),
                 completion_per_million=float(Decimal(calculation.output_price)), version=PRICE_VERSION)
