"""The verifier's features as pure functions, and its score on fow-cache-style near misses against
rewordings, with the real local embedder."""

from __future__ import annotations

import asyncio

import numpy as np

from inference.cache.signals import changed_words, differences
from inference.cache.verifier import feature_texts, pair_features, verifier_score
from inference.service import prompt_embed


def test_what_differs_between_two_prompts():
    d = differences("Track order 48213", "Track order 48231")
    assert d.numbers and not d.negation and d.changed == 2
    assert differences("Cancel my subscription", "Don't cancel my subscription").negation
    assert differences("Flights from Paris to Rome", "Flights from Paris to Madrid").names
    rewording = differences("How do I switch energy supplier?", "How do I change energy supplier?")
    assert not (rewording.numbers or rewording.negation or rewording.names) and rewording.overlap == 0.5
    assert changed_words("user: Is the clinic open on Sundays?", "user: Is the clinic closed on Sundays?") == (
        "open", "closed")


def score(cached: str, asked: str) -> float:
    async def embed(texts):
        return np.asarray([await prompt_embed(t) for t in texts])

    a, b = f"user: {cached}", f"user: {asked}"
    vectors = asyncio.run(embed([cached, asked]))
    texts = feature_texts(a, b)
    features = pair_features(a, b, l6=float(vectors[0] @ vectors[1]),
                             vectors=asyncio.run(embed(texts)) if texts else [])
    return verifier_score(features)


def test_the_score_moves_near_misses_down_from_their_cosine():
    # a changed order number: near the same text to the embedder, moved down by the verifier
    vectors = np.asarray([asyncio.run(prompt_embed(t)) for t in ("Track order 48213", "Track order 48231")])
    cosine = float(vectors[0] @ vectors[1])
    assert score("Track order 48213", "Track order 48231") < cosine
    # a conversation whose last message repeats but whose history changed what "it" is
    a = "user: I have a Flixora plan.\nassistant: It renews on the 14th.\nuser: cancel it"
    b = "user: I have a PulseFit gym membership.\nassistant: It renews on the 3rd.\nuser: cancel it"
    texts = feature_texts(a, b)
    assert texts[0] == "Flixora plan 14th" and texts[1] == "PulseFit gym membership 3rd"  # what changed
    assert texts[2].startswith("user: I have a Flixora plan.") and "cancel" not in texts[2]  # the histories
    vectors = np.asarray([asyncio.run(prompt_embed(t)) for t in texts])
    features = pair_features(a, b, l6=0.95, vectors=vectors)
    assert features["history"] < 0.9 and features["names"] == 1.0 and features["numbers"] == 1.0
