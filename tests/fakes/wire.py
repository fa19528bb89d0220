"""What the wire-format fakes share when they check what an SDK sent and make up an answer."""

from __future__ import annotations

import hashlib
import math


class WireError(Exception):
    """The SDK sent something the provider's API would refuse: the fake answers 400, and the test fails on it."""


def check(condition: bool, problem: str) -> None:
    if not condition:
        raise WireError(problem)


def word_count(text: str) -> int:
    """The fakes' token count: one token a word."""
    return len(text.split())


def unit_vector(seed_text: str, dimensions: int) -> list[float]:
    """An embedding made up from the text's SHA-256: the same text always gets the same unit vector."""
    seed = hashlib.sha256(seed_text.encode()).digest()
    raw = [((seed[i % len(seed)] + i * 7) % 256) / 255 - 0.5 for i in range(dimensions)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]
