"""OpenAI-compatible routes over the one inference service, so that OpenAI SDK users point ``base_url``
at Infergate and keep their code:

- ``POST /v1/chat/completions`` (``chat``), ``POST /v1/embeddings`` (``embeddings``),
  ``POST /v1/audio/transcriptions`` (``transcriptions``), ``POST /v1/responses`` (``responses``): each
  translates OpenAI's request into the native body, calls ``inference_run`` / ``inference_stream`` and
  shapes the answer as OpenAI does;
- ``GET``/``DELETE /v1/responses/{id}``, ``POST /v1/responses/{id}/cancel``, ``GET /v1/responses/{id}/input_items``
  (``stored``): a response OpenAI stored for the namespace, relayed;
- ``GET /v1/models`` and ``GET /v1/models/{id}`` stay the catalog's Django views, wrapped so that they take the
  same default namespace.

Served straight from ASGI like ``POST /v1/inference`` (``transport``); errors in OpenAI's format (``errors``).
"""

from __future__ import annotations

from typing import Any, Callable

from inference.api.openai_compat.chat import chat_completions_endpoint
from inference.api.openai_compat.embeddings import embeddings_endpoint
from inference.api.openai_compat.model_list import models_endpoint
from inference.api.openai_compat.responses import responses_endpoint
from inference.api.openai_compat.stored import PREFIX as STORED_PREFIX
from inference.api.openai_compat.stored import stored_response_endpoint
from inference.api.openai_compat.transcriptions import transcriptions_endpoint

CHAT_PATH = "/v1/chat/completions"
EMBEDDINGS_PATH = "/v1/embeddings"
TRANSCRIPTIONS_PATH = "/v1/audio/transcriptions"
MODELS_PATH = "/v1/models"
MODEL_PATH = "/v1/models/"  # then the id
RESPONSES_PATH = "/v1/responses"


def openai_routes(django_application: Callable[..., Any]) -> dict[str, Callable[..., Any]]:
    """The ASGI handlers by exact path; ``django_application`` still answers GET /v1/models."""
    return {CHAT_PATH: chat_completions_endpoint, EMBEDDINGS_PATH: embeddings_endpoint,
            TRANSCRIPTIONS_PATH: transcriptions_endpoint, RESPONSES_PATH: responses_endpoint,
            MODELS_PATH: models_endpoint(django_application)}


def openai_prefix_routes(django_application: Callable[..., Any]) -> dict[str, Callable[..., Any]]:
    """The ASGI handlers of paths that start with a prefix (and go on with an id)."""
    return {MODEL_PATH: models_endpoint(django_application), STORED_PREFIX: stored_response_endpoint}
