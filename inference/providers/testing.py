"""Provider ``test``: deterministic stand-ins for benchmarks and tests, registered only when
``INFERGATE_TEST_PROVIDERS=1``. ``test/sleep-200ms`` answers every prompt after an asyncio sleep of
200 ms (a slow upstream that costs no CPU), ``test/sleep-2s`` after 2 s (a job to kill a worker in);
``test/echo`` answers at once; ``test/echo-priced`` too, at a dollar a token. All echo the last message.

``test/fail-502``, ``test/fail-429``, ``test/fail-503`` and ``test/fail-400`` always fail as an upstream
in that kind of trouble would, once our retries are spent (for fallback tests); ``test/stream-fail-502``
streams one delta first, then fails."""

from __future__ import annotations

import asyncio
from typing import AsyncIterator, Callable

from core.errors import (
    BadRequestError,
    InferenceServiceUnavailableError,
    InfergateError,
    ProviderError,
    TooManyRequestsError,
)
from inference.providers.base import SEED, STOP, TEMPERATURE, TOP_P, Adapter, max_tokens
from inference.types import Delta, InferenceCall, InferenceResult, Modality, ModelSpec, Price, StreamEvent, Usage

PARAMETERS = (TEMPERATURE, TOP_P, STOP, SEED, max_tokens(4096, 256))


class SleepingEcho(Adapter):
    def __init__(self, model: str, delay_s: float, price: Price | None = None) -> None:
        self.spec = ModelSpec(provider="test", model=model, modalities=(Modality.CHAT,), parameters=PARAMETERS,
                              description=f"Echoes the last message after {delay_s * 1000:.0f} ms.",
                              price=price or Price())
        self.delay_s = delay_s

    async def run(self, call: InferenceCall) -> InferenceResult:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        responses, usage = [], Usage()
        for conversation in call.conversations:
            text = conversation[-1].content
            responses.append({"text": text, "finish_reason": "stop"})
            usage.prompt += sum(len(m.content.split()) for m in conversation)
            usage.completion += len(text.split())
        return InferenceResult(data={"responses": responses}, usage=usage)


FAILURES: dict[str, Callable[[], InfergateError]] = {
    "fail-502": lambda: ProviderError("test answered HTTP 502: upstream trouble",
                                      details={"provider": "test", "upstream_status": 502}),
    "fail-429": lambda: TooManyRequestsError("test rate limit", headers={"Retry-After": "1"},
                                             details={"provider": "test", "upstream_status": 429, "retry_after": 1}),
    "fail-503": lambda: InferenceServiceUnavailableError("Provider 'test' is not configured",
                                                         details={"provider": "test", "missing_credential": "api_key"}),
    "fail-400": lambda: BadRequestError("test refused the request: not allowed",
                                        details={"provider": "test", "upstream_status": 400, "refused": True}),
}


class Failing(Adapter):
    """Fails with ``error()``; when streamed, after ``deltas`` pieces of text."""

    def __init__(self, model: str, error: Callable[[], InfergateError], deltas: int = 0) -> None:
        self.spec = ModelSpec(provider="test", model=model, modalities=(Modality.CHAT,), parameters=PARAMETERS,
                              description=f"Always fails: {error().status} {error().type}.", can_stream=True)
        self.error, self.deltas = error, deltas

    async def run(self, call: InferenceCall) -> InferenceResult:
        raise self.error()

    async def stream(self, call: InferenceCall) -> AsyncIterator[StreamEvent]:
        for _ in range(self.deltas):
            yield Delta(0, "partial ")
        raise self.error()


def register(registry) -> None:
    registry.register(SleepingEcho("sleep-200ms", 0.2))
    registry.register(SleepingEcho("sleep-2s", 2.0))  # an async job long enough to kill its worker mid-way
    registry.register(SleepingEcho("echo", 0.0))
    # One dollar a token, for budget tests.
    registry.register(SleepingEcho("echo-priced", 0.0, Price(1_000_000, 1_000_000, version="test")))
    for model, error in FAILURES.items():
        registry.register(Failing(model, error))
    registry.register(Failing("stream-fail-502", FAILURES["fail-502"], deltas=1))
