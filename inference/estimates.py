"""What a call may use before it runs, for the reservations of the namespace's and key's limits
(tenancy/accounts/limits.py), and what it cost once it ran, in the unit they count budgets in."""

from __future__ import annotations

import math

from inference.types import InferenceCall, Modality, ModelSpec, Price

CHARS_PER_TOKEN = 4  # the usual rough estimate for a prompt before it is tokenized


def tokens_estimate(call: InferenceCall, spec: ModelSpec) -> int:
    """Prompt characters / 4, plus the most each answer may generate."""
    if call.modality in (Modality.CHAT, Modality.VISION):
        characters = sum(len(m.content) for conversation in call.conversations for m in conversation)
        declared = spec.parameter("max_tokens")
        per_answer = call.parameters.get("max_tokens", declared.default if declared else 0) or 0
        return math.ceil(characters / CHARS_PER_TOKEN) + per_answer * len(call.conversations)
    return math.ceil(sum(len(t) for t in call.texts) / CHARS_PER_TOKEN)


def micro_usd(price: Price, prompt: int, completion: int) -> int:
    """A cost in micro-dollars, rounded up (what budgets count)."""
    return math.ceil(prompt * price.prompt_per_million + completion * price.completion_per_million)
