"""Provider ``test``: deterministic stand-ins for benchmarks and tests, registered only when
``INFERGATE_TEST_PROVIDERS=1``. ``test/sleep-200ms`` answers every prompt after an asyncio sleep of
200 ms (a slow upstream that costs no CPU); ``test/echo`` answers at once; ``test/echo-priced`` too, at a
dollar a token. Both echo the last message."""

from __future__ import annotations

import asyncio

from inference.providers.base import SEED, STOP, TEMPERATURE, TOP_P, Adapter, max_tokens
from inference.types import InferenceCall, InferenceResult, Modality, ModelSpec, Price, Usage

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


def register(registry) -> None:
    registry.register(SleepingEcho("sleep-200ms", 0.2))
    registry.register(SleepingEcho("echo", 0.0))
    # One dollar a token, for budget tests.
    registry.register(SleepingEcho("echo-priced", 0.0, Price(1_000_000, 1_000_000, version="test")))
