"""The SDK client, the key it sends, and the retry loop around every call.

One ``AsyncAnthropic`` per event loop and base URL holds the connection pool; each call gets a cheap
copy carrying the namespace's key (``with_options`` shares the pool). The SDK's own retries are off:
``inference.providers.upstream.call_with_retries`` retries what ``errors.retryable`` allows, with
exponential backoff and jitter, and leaves a 429 to the client with the provider's Retry-After.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from functools import lru_cache
from typing import Awaitable, Callable, TypeVar

import anthropic
from django.conf import settings

from inference.providers.anthropic.errors import error_map, retryable
from inference.providers.base import provider_timeout_s
from inference.providers.upstream import call_with_retries, missing_key, provider_key
from inference.types import CredentialLookup, InferenceCall

T = TypeVar("T")
PROVIDER = "anthropic"
CREDENTIAL_ENV = "ANTHROPIC_API_KEY"
NO_KEY = "no-key"  # the pool's own key, never sent: every call carries the namespace's or the environment's


@lru_cache(maxsize=1)
def _pools() -> weakref.WeakKeyDictionary:
    return weakref.WeakKeyDictionary()


def sdk_client(base_url: str, api_key: str, timeout_s: float) -> anthropic.AsyncAnthropic:
    per_loop = _pools().setdefault(asyncio.get_running_loop(), {})
    pool = per_loop.get(base_url)
    if pool is None:
        pool = per_loop[base_url] = anthropic.AsyncAnthropic(api_key=NO_KEY, base_url=base_url, max_retries=0)
    return pool.with_options(api_key=api_key, timeout=timeout_s, max_retries=0)


async def api_key(credentials: CredentialLookup) -> str:
    """The namespace's ``anthropic`` key, else ``ANTHROPIC_API_KEY``; 503 naming what is missing."""
    key = await provider_key(provider=PROVIDER, credentials=credentials, env=CREDENTIAL_ENV)
    if not key:
        raise missing_key(PROVIDER, CREDENTIAL_ENV)
    return key


@dataclass
class Session:
    """One request's client and the secret it holds (to scrub from any error text)."""

    client: anthropic.AsyncAnthropic
    secret: str
    timeout_s: float

    def error(self, exc: BaseException):
        return error_map(exc, provider=PROVIDER, secret=self.secret, timeout_s=self.timeout_s)

    async def call(self, make: Callable[[anthropic.AsyncAnthropic], Awaitable[T]]) -> T:
        return await call_with_retries(lambda: make(self.client), provider=PROVIDER,
                                       sdk_error=anthropic.AnthropicError, retryable=retryable,
                                       error_map=self.error)


async def session_open(call: InferenceCall) -> Session:
    """A client with the call's namespace key and timeout (the namespace's, else the default)."""
    secret = await api_key(call.credentials)
    timeout_s = provider_timeout_s(call)
    base_url = call.base_url or settings.INFERGATE["ANTHROPIC_BASE_URL"]  # a deployment's own endpoint, or Anthropic's
    return Session(client=sdk_client(base_url, secret, timeout_s), secret=secret, timeout_s=timeout_s)
