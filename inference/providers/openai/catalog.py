"""The OpenAI models Infergate serves, declared as data, with prices from ``genai-prices`` at the base
tier (inference/providers/prices.py)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from inference.providers.base import SEED, STOP, TEMPERATURE, TOOL_PARAMETERS, TOP_P, max_tokens
from inference.providers.prices import PRICE_SOURCE, PRICE_VERSION, price_read
from inference.types import Modality, ParameterSpec, Price

__all__ = ["MODELS", "PRICE_SOURCE", "PRICE_VERSION", "price"]

SCHEMA = ParameterSpec("schema", "object", "JSON Schema of the answer: the provider answers JSON in that shape, "
                                           "returned parsed as data.responses[i].structured.")
LANGUAGE = ParameterSpec("language", "string", "ISO-639-1 language of the audio, e.g. 'en'; improves accuracy.")
PROMPT = ParameterSpec("prompt", "string", "Text to guide the transcription's style or spelling.")


# Models whose prompt is audio: their prompt tokens are priced at the table's audio input rate.
AUDIO_INPUT = frozenset({"gpt-4o-transcribe", "gpt-4o-mini-transcribe"})


def dimensions(maximum: int) -> ParameterSpec:
    return ParameterSpec("dimensions", "integer", "Shorter embeddings: the vector's length.", 1, maximum, maximum)


def chat_parameters(limit: int) -> tuple[ParameterSpec, ...]:
    return (TEMPERATURE, TOP_P, STOP, SEED, max_tokens(limit, None), SCHEMA, *TOOL_PARAMETERS)


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
    """USD per million prompt and completion tokens at the base tier, and per audio minute, from
    genai-prices. Audio input is priced at its audio rate where the table has one (the transcription
    models' prompt tokens are audio tokens); whisper-1 is priced per hour of audio there, per minute here."""
    base, table = price_read(model=model, provider_id=provider_id)
    if table is None:
        return base
    audio_input = getattr(table, "input_audio_mtok", None)
    audio_hours = getattr(table, "audio_hours", None) or getattr(table, "input_audio_hours", None)
    if audio_input is not None and model in AUDIO_INPUT:
        base = replace(base, prompt_per_million=float(Decimal(str(audio_input))))
    if audio_hours is not None:
        base = replace(base, per_audio_minute=float(Decimal(str(audio_hours)) / 60))
    return base
