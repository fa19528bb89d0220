"""The SDK client, the credential it uses, and the retry loop around every call.

One ``AsyncOpenAI`` per event loop and base URL holds the connection pool; each call gets a cheap copy
carrying the namespace's key (``with_options`` shares the pool). The SDK's own retries are off: ours
retry only what ``errors.retryable`` allows, with exponential backoff and jitter, and leave a 429 to the
client with the provider's Retry-After.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import weakref
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Awaitable, Callable, TypeVar

import openai
from django.conf import settings

from inference.errors import InferenceServiceUnavailableError
from inference.providers.openai.errors import error_map, retryable
from playground.credentials.selectors import credential_fields

logger = logging.getLogger(__name__)
T = TypeVar("T")
MAX_BACKOFF_SECONDS = 8.0
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


def sdk_client(base_url: str, api_key: str, timeout_s: float) -> openai.AsyncOpenAI:
    per_loop = _pools().setdefault(asyncio.get_running_loop(), {})
    pool = per_loop.get(base_url)
    if pool is None:
        pool = per_loop[base_url] = openai.AsyncOpenAI(api_key=NO_KEY, base_url=base_url, max_retries=0)
    return pool.with_options(api_key=api_key, timeout=timeout_s, max_retries=0)


async def api_key(endpoint: Endpoint, namespace_id: str | None) -> str:
    """The namespace's key, else the environment's; 503 naming the missing credential."""
    fields = await credential_fields(namespace_id=namespace_id, provider=endpoint.provider)
    key = fields.get("api_key") or (os.environ.get(endpoint.credential_env) if endpoint.credential_env else None)
    if key:
        return key
    if not endpoint.needs_key:
        return NO_KEY
    missing = endpoint.credential_env or "api_key"
    raise InferenceServiceUnavailableError(
        f"Provider {endpoint.provider!r} is not configured: set the {missing} environment variable, or the "
        f"namespace's credentials (PUT /v1/namespaces/{{namespace}}/credentials/{endpoint.provider})",
        details={"provider": endpoint.provider, "missing_credential": missing})


def backoff_seconds(attempt: int, base: float, rng: Callable[[], float] = random.random) -> float:
    """Exponential backoff with jitter: between half and all of ``base * 2**attempt``, capped."""
    ceiling = min(base * 2 ** attempt, MAX_BACKOFF_SECONDS)
    return ceiling * (0.5 + 0.5 * rng())


@dataclass
class Session:
    """One call's client and the secret it holds (to scrub from any error text)."""

    endpoint: Endpoint
    client: openai.AsyncOpenAI
    secret: str
    timeout_s: float

    async def call(self, make: Callable[[openai.AsyncOpenAI], Awaitable[T]]) -> T:
        retries = settings.INFERGATE["PROVIDER_RETRIES"]
        base = settings.INFERGATE["PROVIDER_RETRY_BASE_SECONDS"]
        for attempt in range(retries + 1):
            try:
                return await make(self.client)
            except openai.OpenAIError as exc:
                if attempt < retries and retryable(exc):
                    delay = backoff_seconds(attempt, base)
                    logger.warning("%s: %s (upstream %s); retry %d of %d in %.2f s", self.endpoint.provider,
                                   type(exc).__name__, getattr(exc, "status_code", "-"), attempt + 1, retries, delay)
                    await asyncio.sleep(delay)
                    continue
                raise error_map(exc, provider=self.endpoint.provider, secret=self.secret,
                                timeout_s=self.timeout_s) from None
        raise AssertionError("unreachable")


async def session_open(endpoint: Endpoint, namespace_id: str | None) -> Session:
    secret = await api_key(endpoint, namespace_id)
    timeout_s = settings.INFERGATE["PROVIDER_TIMEOUT_SECONDS"]
    return Session(endpoint=endpoint, client=sdk_client(endpoint.base_url(), secret, timeout_s), secret=secret,
                   timeout_s=timeout_s)


def run_bounded(factories: list[Callable[[], Awaitable[Any]]]) -> Awaitable[list[Any]]:
    """Run a batch concurrently, at most ``PROVIDER_CONCURRENCY`` at once, results in order; the
    first failure cancels the rest."""
    limit = asyncio.Semaphore(max(1, settings.INFERGATE["PROVIDER_CONCURRENCY"]))

    async def one(factory: Callable[[], Awaitable[Any]]) -> Any:
        async with limit:
            return await factory()

    async def gather() -> list[Any]:
        tasks = [asyncio.ensure_future(one(f)) for f in factories]
        try:
            return list(await asyncio.gather(*tasks))
        finally:
            for task in tasks:
                task.cancel()

    return gather()
