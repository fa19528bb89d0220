"""The Google models Infergate serves, declared as data, with prices from ``genai-prices`` at the base
tier (inference/providers/prices.py): Gemini's long-context tier (over 128k or 200k tokens, depending on
the model) costs more and is not what a price per million should show."""

from __future__ import annotations

from inference.providers.base import SEED, STOP, TEMPERATURE, TOOL_PARAMETERS, TOP_P, max_tokens
from inference.providers.openai.catalog import SCHEMA
from inference.providers.prices import price_read
from inference.types import Modality, ParameterSpec, Price

PROVIDER = "google"
ALIAS = "gemini"
EMBEDDING_MODEL = "multimodalembedding"
EMBEDDING_VERSION = "multimodalembedding@001"  # the publisher model Vertex AI serves
EMBEDDING_DIMENSIONS = (128, 256, 512, 1408)
VIDEO_DIMENSIONS = 1408  # Vertex applies ``dimension`` to text and image only

DIMENSION = ParameterSpec("dimension", "integer", "Embedding length: 128, 256, 512 or 1408 (text and image; video "
                                                  "embeddings always have 1408).", 128, 1408, 1408)
INTERVAL = ParameterSpec("interval_s", "integer", "Video: length of each embedded segment in seconds (Vertex embeds "
                                                  "at most the first 120 s).", 4, 120, 16)

CHAT = (Modality.CHAT, Modality.VISION)
# model -> (largest max_tokens, description)
GEMINI: dict[str, tuple[int, str]] = {
    "gemini-2.5-pro": (65536, "Gemini 2.5 Pro: chat, vision, structured output."),
    "gemini-2.5-flash": (65536, "Gemini 2.5 Flash: chat, vision, structured output."),
    "gemini-2.5-flash-lite": (65536, "Gemini 2.5 Flash-Lite: chat, vision, structured output."),
    "gemini-2.0-flash": (8192, "Gemini 2.0 Flash: chat, vision, structured output."),
    "gemini-2.0-flash-lite": (8192, "Gemini 2.0 Flash-Lite: chat, vision, structured output."),
    "gemini-1.5-pro": (8192, "Gemini 1.5 Pro: chat, vision, structured output."),
    "gemini-1.5-flash": (8192, "Gemini 1.5 Flash: chat, vision, structured output."),
    "gemini-1.5-flash-8b": (8192, "Gemini 1.5 Flash-8B: chat, vision, structured output."),
}


def chat_parameters(limit: int) -> tuple[ParameterSpec, ...]:
    return (TEMPERATURE, TOP_P, STOP, SEED, max_tokens(limit, None), SCHEMA, *TOOL_PARAMETERS)


def price(model: str) -> Price:
    """USD per million prompt and completion tokens (the short-context tier)."""
    return price_read(model=model, provider_id=PROVIDER)[0]
