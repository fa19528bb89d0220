"""Provider ``google`` (alias ``gemini``): Gemini chat and vision through the official ``google-genai``
SDK's async client, with an API key (Gemini API) or a service account (Vertex AI); and Vertex AI's
``multimodalembedding`` (text, image, video) through ``google-cloud-aiplatform``.

A request may name the provider ``gemini``; it resolves to ``google``, which is what the response, the
usage record and the catalog say (one provider, one name for credentials and prices).
Credentials: ``inference.providers.google.credentials``. Endpoints: ``settings.INFERGATE["GOOGLE_BASE_URL"]``
and ``["GOOGLE_VERTEX_BASE_URL"]``.
"""

from __future__ import annotations

from inference.providers.google.adapters import GeminiAdapter, MultimodalEmbeddingAdapter
from inference.providers.google.catalog import (
    ALIAS,
    CHAT,
    DIMENSION,
    EMBEDDING_MODEL,
    GEMINI,
    INTERVAL,
    PROVIDER,
    VIDEO_DIMENSIONS,
    chat_parameters,
    price,
)
from inference.providers.google.credentials import CREDENTIAL_FIELDS
from inference.providers.open_models import open_spec
from inference.types import Modality, ModelSpec


def open_model(model: str) -> GeminiAdapter:
    """Any other Gemini model: chat and vision, its parameters passed through (open_models.py)."""
    return GeminiAdapter(open_spec(provider=PROVIDER, model=model, modalities=CHAT))


def register(registry) -> None:
    for model, (limit, description) in GEMINI.items():
        registry.register(GeminiAdapter(ModelSpec(
            provider=PROVIDER, model=model, modalities=CHAT, parameters=chat_parameters(limit),
            description=description, needs_key=True, price=price(model), can_stream=True, open_parameters=True)))
    registry.open(PROVIDER, open_model)
    registry.register(MultimodalEmbeddingAdapter(ModelSpec(
        provider=PROVIDER, model=EMBEDDING_MODEL, modalities=(Modality.MULTIMODAL_EMBEDDING,),
        parameters=(DIMENSION, INTERVAL), needs_key=True, dimensions=VIDEO_DIMENSIONS,
        description="Vertex AI multimodal embeddings: text, image and video (segments) in one space.")))
    registry.alias(ALIAS, PROVIDER)
    registry.credential_fields_declare(PROVIDER, CREDENTIAL_FIELDS)
