"""The SDK client, the credential it uses, and the retry loop around every call.

One ``AsyncOpenAI`` per event loop and base URL holds the connection pool (on the lean transport for a plain
http:// server, ``_http_client``); each call gets a cheap copy carrying the namespace's key (``with_options``
shares the pool). The SDK's own retries are off: ours
retry only what ``errors.retryable`` allows, with exponential backoff and jitter, and leave a 429 to the
client with the provider's Retry-After.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from functools import lru_cache
from typing import Awaitable, Callable, TypeVar

import openai
from django.conf import settings

from inference.providers.base import provider_timeout_s
from inference.providers.lean_http import LeanTransport, lean_applies
from inference.providers.openai.errors import error_map, retryable
from inference.providers.upstream import backoff_seconds, call_with_retries, missing_key, provider_key, run_bounded
from inference.types import CredentialLookup, InferenceCall

__all__ = ["Endpoint", "Session", "api_key", "backoff_seconds", "run_bounded", "sdk_client", "session_open"]
T = TypeVar("T")
NO_KEY = "no-key"  # what a keyless compatible server is sent: the SDK requires some key


@dataclass(frozen=True)
class Endpoint:
    """Where an openai-SDK provider lives and how it authenticates. ``base_url`` is read at call
    time so that settings changes (and tests) take effect without rebuilding the registry."""

    provider: str
    base_url: Callable[[], str]
    credential_env: str | None  # the environment variable that is the fallback key
    needs_key: bool = True
    max_tokens_field: str = "max_completion_tokens"  # OpenAI's name; compatible servers know max_tokens


@lru_cache(maxsize=1)
def _pools() -> weakref.WeakKeyDictionary:
    return weakref.WeakKeyDictionary()


MAX_COPIES = 256  # client copies kept per event loop and base URL (one per key and timeout in use)


def sdk_client(base_url: str, api_key: str, timeout_s: float) -> openai.AsyncOpenAI:
    """The pool's copy for this key and timeout, kept for the next call: a new copy per call cost a thread
    hop each time (the SDK looks its platform up on a worker thread the first time a client object sends),
    about a tenth of a gateway request's CPU (bench/results/2026-11-24-gateway-soak.md)."""
    per_loop = _pools().setdefault(asyncio.get_running_loop(), {})
    pool = per_loop.get(base_url)
    if pool is None:
        pool = per_loop[base_url] = openai.AsyncOpenAI(api_key=NO_KEY, base_url=base_url, max_retries=0,
                                                       http_client=_http_client(base_url))
    copies = per_loop.setdefault(("copies", base_url), {})
    client = copies.get((api_key, timeout_s))
    if client is None:
        if len(copies) >= MAX_COPIES:
            copies.clear()
        client = copies[(api_key, timeout_s)] = pool.with_options(api_key=api_key, timeout=timeout_s, max_retries=0)
    return client


def _http_client(base_url: str) -> openai.DefaultAsyncHttpxClient | None:
    """The HTTP client under the SDK, by ``HTTP_BACKEND``: the lean transport (inference/providers/lean_http.py)
    for a plain http:// server that no proxy stands in front of, the SDK's aiohttp backend, or None (the SDK's
    own httpx client, also what "lean" leaves to anything else)."""
    backend = settings.INFERGATE.get("HTTP_BACKEND", "lean")
    if backend == "aiohttp":
        return openai.DefaultAioHttpClient()
    if backend == "lean" and lean_applies(base_url):
        return openai.DefaultAsyncHttpxClient(transport=LeanTransport())
    return None


async def api_key(endpoint: Endpoint, credentials: CredentialLookup) -> str:
    """The namespace's key, else the environment's; 503 naming the missing credential."""
    key = await provider_key(provider=endpoint.provider, credentials=credentials, env=endpoint.credential_env)
    if key:
        return key
    if not endpoint.needs_key:
        return NO_KEY
    raise missing_key(endpoint.provider, endpoint.credential_env)


@dataclass
class Session:
    """One call's client and the secret it holds (to scrub from any error text)."""

    endpoint: Endpoint
    client: openai.AsyncOpenAI
    secret: str
    timeout_s: float

    async def call(self, make: Callable[[openai.AsyncOpenAI], Awaitable[T]]) -> T:
        return await call_with_retries(
            lambda: make(self.client), provider=self.endpoint.provider, sdk_error=openai.OpenAIError,
            retryable=retryable, error_map=lambda exc: error_map(exc, provider=self.endpoint.provider,
                                                                 secret=self.secret, timeout_s=self.timeout_s))


async def session_open(endpoint: Endpoint, call: InferenceCall) -> Session:
    """A client with the call's namespace key and timeout (the namespace's, else the default)."""
    secret = await api_key(endpoint, call.credentials)
    timeout_s = provider_timeout_s(call)
    base_url = call.base_url or endpoint.base_url()  # a deployment's own endpoint, else the provider's
    return Session(endpoint=endpoint, client=sdk_client(base_url, secret, timeout_s), secret=secret,
                   timeout_s=timeout_s)
