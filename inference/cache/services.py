"""The cache on the inference path: ``cache_consult`` before the provider call (hit, miss or explore),
``cache_store`` after it (store the fresh answer; queue the label of an explored request)."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Callable

from asgiref.sync import sync_to_async
from celery import current_app

from inference.cache.keys import (
    answer_text,
    cache_refusal,
    embedding_text,
    prompt_hash,
    prompt_normalised_hash,
    prompt_text,
    scope_key,
)
from inference.cache.policy import Gaussian, budget_exploit_probability, entry_wrong_bound
from inference.cache.store import Found, Neighbour, Options, entry_find, entry_hit, entry_insert, options_get
from inference.cache.verifier import feature_texts, pair_features, verifier_score
from inference.types import (
    Complete,
    Delta,
    InferenceCall,
    InferenceResult,
    Modality,
    ModelSpec,
    Price,
    StreamEvent,
    ToolCallDelta,
    Usage,
)

logger = logging.getLogger(__name__)

# hit_normalised: the same conversation as an entry's once case, whitespace and final punctuation are set
# aside (keys.message_normalise); served like an exact hit, counted on its own.
HIT, HIT_NORMALISED, MISS, EXPLORE = "hit", "hit_normalised", "miss", "explore"
SERVED = (HIT, HIT_NORMALISED)
LABEL_TASK = "inference.cache.tasks.cache_label"
Embed = Callable[[str], Awaitable[list[float]]]  # a text's embedding (the service gives the cache its embedder)
UNFINISHED = {"cancelled", "error"}


@dataclass
class CacheConsult:
    """What the cache decided for one request, and what it needs to store the fresh answer."""

    decision: str
    namespace_id: str
    scope_key: str
    provider: str
    model: str
    prompt: str
    prompt_hash: str
    embedding: list[float]
    normalised_hash: str
    options: Options
    price: Price
    neighbour: Neighbour | None = None
    exploit_probability: float = 0.0
    budget_change: float = 0.0  # the scope's error budget: this request's delta, less its hit's bound

    @property
    def served(self) -> bool:
        """The request is answered from the cache (an exact, normalised or similar hit)."""
        return self.decision in SERVED

    def answer(self) -> InferenceResult:
        """A hit's data; the call used no tokens."""
        assert self.neighbour is not None
        return InferenceResult(data={"responses": [dict(self.neighbour.response)]}, usage=Usage())

    def saved(self) -> Usage:
        """What the answer cost when it was generated: what this hit saved."""
        assert self.neighbour is not None
        return Usage(prompt=self.neighbour.prompt_tokens, completion=self.neighbour.completion_tokens)


async def cache_hit_events(consult: CacheConsult) -> AsyncIterator[StreamEvent]:
    """A hit as a stream: the whole answer as one delta, each tool call it made whole, then the result."""
    answer = consult.answer()
    response = answer.data["responses"][0]
    if response.get("text") or not response.get("tool_calls"):
        yield Delta(0, response.get("text", ""))
    for position, call in enumerate(response.get("tool_calls") or ()):
        yield ToolCallDelta(0, position, call["id"], call["name"], call["arguments"])
    yield Complete(answer)


def cache_decide(found: Found, *, delta: float, prior_labels: int, draw: float) -> tuple[str, float]:
    """Hit, miss or explore for a request whose neighbour search gave ``found``; ``draw`` is uniform in [0, 1).
    A similar neighbour is served when the bound on its answer being wrong is within delta or within the
    scope's banked error budget (policy.budget_exploit_probability); its bound is then ``found.spent``."""
    neighbour = found.neighbour
    if neighbour is None:
        return MISS, 0.0
    if neighbour.exact:  # the same conversation in the same scope: the answer it was given
        return HIT, 1.0
    if neighbour.normalised:  # the same conversation once case, whitespace and final punctuation are set aside
        return HIT_NORMALISED, 1.0
    wrong, likely_wrong = entry_wrong_bound(
        scope=Gaussian.from_list(found.prior), scope_labels=found.prior_labels, prior_labels=prior_labels,
        similarities=neighbour.observed_similarity, correct=neighbour.observed_correct,
        similarity=neighbour_score(neighbour))
    probability = budget_exploit_probability(wrong=wrong, delta=delta, balance=found.budget,
                                             likely_wrong=likely_wrong)
    if draw < probability:
        found.spent = wrong
        return HIT, probability
    return EXPLORE, probability


def neighbour_score(neighbour: Neighbour) -> float:
    """What the policy decides on, and what a label records: the verifier's agreement score (the cosine
    similarity where it was not computed)."""
    return neighbour.agreement if neighbour.agreement is not None else neighbour.similarity


async def neighbour_agreement(neighbour: Neighbour, prompt: str, embed: Embed) -> float:
    """The verifier's score for serving ``neighbour``'s answer to ``prompt`` (verifier.py): the embeddings it
    needs come from the cache's local embedder (its own threads, off the event loop)."""
    vectors = [await embed(text) for text in feature_texts(neighbour.prompt, prompt)]
    return verifier_score(pair_features(neighbour.prompt, prompt, l6=neighbour.similarity, vectors=vectors))


async def cache_consult(*, namespace_id: str, spec: ModelSpec, call: InferenceCall, enabled: bool,
                        delta: float, embed: Embed) -> CacheConsult | None:
    """None when the request does not use the cache (not asked for, not chat, a batch, sampling without
    the namespace's consent, images by URL), or when the cache failed (logged; the request goes on)."""
    if not enabled or call.modality not in (Modality.CHAT, Modality.VISION):
        return None
    try:
        return await _consult(namespace_id=namespace_id, spec=spec, call=call, delta=delta, embed=embed)
    except Exception:
        logger.exception("the semantic cache lookup failed; answering without it")
        return None


async def _consult(*, namespace_id: str, spec: ModelSpec, call: InferenceCall, delta: float,
                   embed: Embed) -> CacheConsult | None:
    from django.conf import settings

    options = await sync_to_async(options_get, thread_sensitive=False)(namespace_id=namespace_id)
    if cache_refusal(spec, call, allow_sampling=options.allow_sampling) is not None:
        return None
    conversation = call.conversations[0]
    embedding = await embed(embedding_text(conversation))
    consult = CacheConsult(decision=MISS, namespace_id=namespace_id, provider=spec.provider, model=spec.model,
                           scope_key=scope_key(namespace_id=namespace_id, spec=spec, call=call),
                           prompt=prompt_text(conversation), prompt_hash=prompt_hash(conversation),
                           normalised_hash=prompt_normalised_hash(conversation), embedding=embedding,
                           options=options, price=spec.price)
    found = await sync_to_async(entry_find, thread_sensitive=False)(
        namespace_id=namespace_id, scope_key=consult.scope_key, prompt_hash=consult.prompt_hash,
        embedding=embedding, ttl_seconds=options.ttl_seconds, normalised_hash=consult.normalised_hash)
    consult.neighbour = found.neighbour
    if found.neighbour is not None and not (found.neighbour.exact or found.neighbour.normalised):
        found.neighbour.agreement = await neighbour_agreement(found.neighbour, consult.prompt, embed)
    consult.decision, consult.exploit_probability = cache_decide(
        found, delta=delta, prior_labels=settings.INFERGATE["CACHE_PRIOR_LABELS"], draw=random.random())
    consult.budget_change = delta - found.spent  # what this request earned, less what its hit spent
    if consult.served:
        await sync_to_async(entry_hit, thread_sensitive=False)(
            entry_id=found.neighbour.id, scope_key=consult.scope_key, normalised=consult.decision == HIT_NORMALISED,
            budget_change=consult.budget_change)
    return consult


def _store(consult: CacheConsult, response: dict[str, Any], usage: Usage) -> None:
    entry_insert(namespace_id=consult.namespace_id, scope_key=consult.scope_key, provider=consult.provider,
                 model=consult.model, prompt=consult.prompt, prompt_hash=consult.prompt_hash,
                 embedding=consult.embedding, response=response, prompt_tokens=usage.prompt,
                 completion_tokens=usage.completion, options=consult.options, normalised_hash=consult.normalised_hash,
                 budget_change=consult.budget_change)
    if consult.decision == EXPLORE and consult.neighbour is not None:  # the worker labels it (inference/tasks.py)
        current_app.send_task(LABEL_TASK, kwargs={
            "namespace_id": consult.namespace_id, "scope_key": consult.scope_key, "entry_id": consult.neighbour.id,
            "similarity": neighbour_score(consult.neighbour), "prompt": consult.prompt,
            "cached": answer_text(consult.neighbour.response), "fresh": answer_text(response)})


async def cache_store(consult: CacheConsult | None, result: InferenceResult, *, answered_by: ModelSpec) -> None:
    """After a miss or an exploration: store the fresh answer and, for an exploration, queue its label.
    An answer from another target than the one asked for (a fallback) is not stored. A failure here is
    logged, never the request's failure."""
    if consult is None or consult.served:
        return
    if (answered_by.provider, answered_by.model) != (consult.provider, consult.model):
        return
    responses = result.data.get("responses") or []
    if len(responses) != 1 or responses[0].get("finish_reason") in UNFINISHED or not answer_text(responses[0]):
        return
    try:
        await sync_to_async(_store, thread_sensitive=False)(consult, dict(responses[0]), result.usage)
    except Exception:
        logger.exception("storing a cached answer failed")
