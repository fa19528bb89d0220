"""What every cloud adapter needs around its SDK's calls, whatever the SDK: the key it sends (the
namespace's credential, else an environment variable), retries of what is worth retrying with
exponential backoff and jitter, a provider's Retry-After in whole seconds, upstream text scrubbed of
anything key-like, and a batch run with bounded concurrency. The start of every error mapping is here
(``common_error_map``: timeout, connection failure, no HTTP status); each provider keeps the rest (which
exceptions are retryable, and what its status errors become) in its own ``errors`` module.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import functools
import json
import logging
import math
import os
import random
import re
import time
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator, TypeVar

from django.conf import settings

from core.encoding import json_bytes
from core.errors import InferenceServiceUnavailableError, InfergateError, ProviderError, TimeoutError
from inference.types import CredentialLookup

logger = logging.getLogger(__name__)
T = TypeVar("T")
ExceptionTypes = type[BaseException] | tuple[type[BaseException], ...]
MAX_BACKOFF_SECONDS = 8.0
KEYLIKE = re.compile(r"\b(sk|key|rk|org|proj)[-_][A-Za-z0-9_*\-]{6,}")
MAX_MESSAGE_CHARS = 500
# What mapping an answer of an undocumented shape raises (pydantic's ValidationError is a ValueError)
SHAPE_ERRORS = (AttributeError, IndexError, KeyError, TypeError, ValueError)


async def provider_key(*, provider: str, credentials: CredentialLookup, env: str | None) -> str | None:
    """The namespace's ``api_key`` for the provider, else the environment variable's; None when neither."""
    fields = await credentials(provider)
    return fields.get("api_key") or (os.environ.get(env) if env else None)


def missing_key(provider: str, env: str | None) -> InferenceServiceUnavailableError:
    """The 503 of a provider with no key, naming the credential that is missing (never a value)."""
    missing = env or "api_key"
    return InferenceServiceUnavailableError(
        f"Provider {provider!r} is not configured: set the {missing} environment variable, or the "
        f"namespace's credentials (PUT /v1/namespaces/{{namespace}}/credentials/{provider})",
        details={"provider": provider, "missing_credential": missing})


def backoff_seconds(attempt: int, base: float, rng: Callable[[], float] = random.random) -> float:
    """Exponential backoff with jitter: between half and all of ``base * 2**attempt``, capped."""
    ceiling = min(base * 2 ** attempt, MAX_BACKOFF_SECONDS)
    return ceiling * (0.5 + 0.5 * rng())


async def call_with_retries(make: Callable[[], Awaitable[T]], *, provider: str, sdk_error: type[BaseException],
                            retryable: Callable[[BaseException], bool],
                            error_map: Callable[[BaseException], InfergateError]) -> T:
    """``make()``, retried while ``retryable`` says so (``PROVIDER_RETRIES`` times at most, backing off
    from ``PROVIDER_RETRY_BASE_SECONDS``); any other SDK error, or the last one, through ``error_map``."""
    retries = settings.INFERGATE["PROVIDER_RETRIES"]
    base = settings.INFERGATE["PROVIDER_RETRY_BASE_SECONDS"]
    for attempt in range(retries + 1):
        try:
            return await make()
        except sdk_error as exc:
            if attempt < retries and retryable(exc):
                delay = backoff_seconds(attempt, base)
                logger.warning("%s: %s (upstream %s); retry %d of %d in %.2f s", provider, type(exc).__name__,
                               getattr(exc, "status_code", "-"), attempt + 1, retries, delay)
                await asyncio.sleep(delay)
                continue
            raise error_map(exc) from None
        except ValueError as exc:  # an answer whose body is not JSON (json.JSONDecodeError): the provider's fault
            raise unexpected_answer(provider, type(exc).__name__) from None
    raise AssertionError("unreachable")


def unexpected_answer(provider: str, what: str) -> ProviderError:
    logger.warning("%s answered something unexpected: %s", provider, what)
    return ProviderError(f"{provider} answered with something unexpected: {what}",
                         details={"provider": provider, "upstream_status": None})


def common_error_map(exc: BaseException, *, provider: str, timeout_s: float | None, timeouts: ExceptionTypes,
                     connection: ExceptionTypes, status: ExceptionTypes) -> InfergateError | None:
    """The start of every provider's error mapping, given its SDK's exception classes: no answer in
    time is a 504, an unreachable provider a 502, an SDK error that carries no HTTP status a 502 naming
    the provider; None for a status error (``status``), which only the provider's own mapping reads.
    ``timeouts`` is checked first: an SDK's timeout class may derive from its connection class."""
    if isinstance(exc, timeouts):
        return TimeoutError(f"{provider} did not answer within {timeout_s:g} s" if timeout_s else None,
                            details={"provider": provider, "timeout_s": timeout_s})
    if isinstance(exc, connection):
        return ProviderError(f"Could not reach {provider}", details={"provider": provider, "upstream_status": None})
    if not isinstance(exc, status):
        return unexpected_answer(provider, type(exc).__name__)
    return None


@contextlib.contextmanager
def answer_shape(provider: str) -> Iterator[None]:
    """Around the mapping of a provider's answer: an answer of a shape the provider does not document (a
    missing field, a string for a list, a word for a number) is a 502 naming the provider, not our 500."""
    try:
        yield
    except SHAPE_ERRORS as exc:
        raise unexpected_answer(provider, type(exc).__name__) from None


def answer_mapping(mapper: Callable[..., T]) -> Callable[..., T]:
    """``answer_shape`` for a mapping function that takes ``provider=``."""

    @functools.wraps(mapper)
    def mapped(*args: Any, provider: str, **kwargs: Any) -> T:
        with answer_shape(provider):
            return mapper(*args, provider=provider, **kwargs)

    return mapped


def retry_after_seconds(headers: Any, now: float | None = None) -> int | None:
    """Whole seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    milliseconds = headers.get("retry-after-ms")
    try:
        if milliseconds is not None:
            return max(1, math.ceil(float(milliseconds) / 1000))
    except ValueError:
        pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0, math.ceil(float(value)))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0, math.ceil(when - (time.time() if now is None else now)))


def scrub(text: str, secret: str | None = None) -> str:
    """Upstream text fit to pass on: the key we sent and anything key-like removed, length capped."""
    if secret:
        text = text.replace(secret, "[redacted]")
    return KEYLIKE.sub("[redacted]", text)[:MAX_MESSAGE_CHARS]


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


async def sse_events(lines: AsyncIterator[str], provider: str) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """A provider's Server-Sent Events as (name, JSON data), from the lines of its response; ``[DONE]`` ends
    nothing here (the response's end does), and a data line that is not JSON is an answer of the wrong shape."""
    name, data = "", []
    async for line in lines:
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif not line and data:
            if data != ["[DONE]"]:
                try:
                    yield name, json.loads("\n".join(data))
                except ValueError:
                    raise unexpected_answer(provider, "a stream event that is not JSON") from None
            name, data = "", []


# The openai and anthropic SDKs hand over a response unread with this header: its stream events as they come.
RAW_RESPONSE = {"X-Stainless-Raw-Response": "stream"}


def wire_post(wire: Any, model: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An SDK ``post``'s arguments for a request relayed in its provider's own format (types.WireRequest): the
    client's bytes when it named the model by the target's id, else its body with that id; the response unread."""
    content = (wire.raw if wire.raw is not None and wire.body.get("model") == model
               else json_bytes({**wire.body, "model": model}))
    return {"content": content,
            "options": {"headers": {**(headers or {}), **RAW_RESPONSE, "Content-Type": "application/json"}}}
