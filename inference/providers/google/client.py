"""The SDK clients and the retry loop around every call.

google-genai: one ``genai.Client`` per event loop, credential and timeout holds the connection pool (and
a service account's access token, refreshed by the SDK when it expires). Gemini API calls go to
``settings.INFERGATE["GOOGLE_BASE_URL"]`` with API version ``v1beta`` (the version the REST reference
documents, and the one with ``responseJsonSchema``); Vertex AI calls to ``GOOGLE_VERTEX_BASE_URL``, or
the location's own ``https://{location}-aiplatform.googleapis.com`` when that is empty.

google-cloud-aiplatform: the ``PredictionServiceClient`` on its REST transport (no gRPC channel to
manage; its ``api_endpoint`` may be any http(s) URL), whose calls block: they run in a thread.

The SDKs' own retries are off: ours (``inference.providers.upstream``) retry only what
``errors.retryable`` allows, with exponential backoff and jitter, and leave a 429 to the client with the
provider's Retry-After.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Awaitable, Callable, TypeVar

from django.conf import settings
from google import genai
from google.genai import types

from core.errors import InfergateError
from inference.providers.google.credentials import GoogleAuth
from inference.providers.google.errors import SDK_ERRORS, genai_error_map, retryable, vertex_error_map
from inference.providers.upstream import answer_shape, call_with_retries, unexpected_answer

T = TypeVar("T")
GEMINI_API_VERSION = "v1beta"


@lru_cache(maxsize=1)
def _pools() -> weakref.WeakKeyDictionary:
    return weakref.WeakKeyDictionary()


def genai_client(auth: GoogleAuth, timeout_s: float) -> genai.Client:
    """The loop's client for these credentials (built once, then shared by the loop's calls)."""
    base_url = settings.INFERGATE["GOOGLE_VERTEX_BASE_URL"] if auth.vertex else settings.INFERGATE["GOOGLE_BASE_URL"]
    per_loop = _pools().setdefault(asyncio.get_running_loop(), {})
    key = (auth.identity, id(auth.credentials), auth.project, auth.location, base_url, timeout_s)
    client = per_loop.get(key)
    if client is None:
        options = types.HttpOptions(base_url=base_url or None, timeout=int(timeout_s * 1000))
        if auth.vertex:
            client = genai.Client(vertexai=True, credentials=auth.credentials, project=auth.project,
                                  location=auth.location, http_options=options)
        else:
            options.api_version = GEMINI_API_VERSION
            # vertexai=False: else GOOGLE_GENAI_USE_VERTEXAI in the environment would turn the key into a Vertex one
            client = genai.Client(vertexai=False, api_key=auth.api_key, http_options=options)
        per_loop[key] = client
    return client


def _vertex_endpoint(auth: GoogleAuth) -> str:
    return settings.INFERGATE["GOOGLE_VERTEX_BASE_URL"] or f"https://{auth.location}-aiplatform.googleapis.com"


@lru_cache(maxsize=64)
def _prediction_client(identity: str, credentials: Any, endpoint: str):
    from google.cloud.aiplatform_v1 import PredictionServiceClient

    return PredictionServiceClient(credentials=credentials, transport="rest",
                                   client_options={"api_endpoint": endpoint})


def prediction_client(auth: GoogleAuth):
    return _prediction_client(auth.identity, auth.credentials, _vertex_endpoint(auth))


def with_retries(call: Callable[[], Awaitable[T]], *, provider: str,
                 error_map: Callable[[BaseException], InfergateError]) -> Awaitable[T]:
    return call_with_retries(call, provider=provider, sdk_error=SDK_ERRORS, retryable=retryable, error_map=error_map)


@dataclass
class Session:
    """One call's credentials, client and timeout."""

    provider: str
    auth: GoogleAuth
    timeout_s: float

    def error_map(self, exc: BaseException) -> InfergateError:
        return genai_error_map(exc, provider=self.provider, secret=self.auth.secret, timeout_s=self.timeout_s)

    async def call(self, make: Callable[[genai.Client], Awaitable[T]]) -> T:
        client = genai_client(self.auth, self.timeout_s)

        async def attempt() -> T:
            with answer_shape(self.provider):  # the SDK parses the answer: a list or a string for an object
                return await make(client)

        return await with_retries(attempt, provider=self.provider, error_map=self.error_map)

    async def predict(self, endpoint: str, instance: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
        """One Vertex AI ``:predict`` call, off the event loop; the response as its JSON dict."""
        from google.protobuf import json_format, struct_pb2

        client = prediction_client(self.auth)
        values = (json_format.ParseDict(instance, struct_pb2.Value()),
                  json_format.ParseDict(parameters, struct_pb2.Value()))

        def blocking() -> dict[str, Any]:
            try:
                response = client.predict(endpoint=endpoint, instances=[values[0]], parameters=values[1],
                                          timeout=self.timeout_s, retry=None)
            except json_format.ParseError:  # the REST transport's parse of a body that is no PredictResponse
                raise unexpected_answer(self.provider, "ParseError") from None
            return json_format.MessageToDict(response._pb)

        def error_map(exc: BaseException) -> InfergateError:
            return vertex_error_map(exc, provider=self.provider, secret=self.auth.secret, timeout_s=self.timeout_s)

        return await with_retries(lambda: asyncio.to_thread(blocking), provider=self.provider, error_map=error_map)


def session_open(auth: GoogleAuth, provider: str, timeout_s: float) -> Session:
    return Session(provider=provider, auth=auth, timeout_s=timeout_s)
