"""Explored requests are labelled by a real Celery worker: the fresh answer goes back at once, the
worker compares it with the cached one and teaches the entry and the scope's prior."""

from __future__ import annotations

import asyncio
import json
import time

from asgiref.sync import sync_to_async

from inference.cache.models import CacheEntry, CacheScope
from tests.conftest import post_inference, tenant_create

TARGET = {"provider": "test", "model": "echo"}


def body(prompt):
    return {**TARGET, "inputs": {"prompts": [prompt]}, "parameters": {"temperature": 0},
            "enable_semantic_cache": True, "cache_delta": 0.05}


async def labels_reach(count: int, seconds: float = 30) -> CacheScope:
    deadline = time.monotonic() + seconds
    while True:
        scope = await sync_to_async(lambda: CacheScope.objects.first())()
        if scope is not None and scope.labels >= count:
            return scope
        assert time.monotonic() < deadline, scope and scope.labels
        await asyncio.sleep(0.1)


async def test_explorations_are_labelled_by_the_worker(tenant, client, worker):
    first = await post_inference(client, body("What is the capital of France?"), tenant.headers())
    assert first.json()["cached"] is False
    # the same question in quotes (which the normalised exact tier keeps): the test/echo answer differs only
    # in its surrounding punctuation, so the comparison finds them equal; the policy knows nothing yet, so it explores
    same = (await post_inference(client, body('"What is the capital of France?"'), tenant.headers())).json()
    assert same["cached"] is False and same["data"]["responses"][0]["text"] == '"What is the capital of France?"'
    scope = await labels_reach(1)
    assert (scope.labels, scope.labels_wrong, scope.prior_labels) == (1, 0, 1) and len(scope.prior) == 5
    # another country: the answers differ (text and embeddings), so the namespace's judge decides; test/echo as
    # a judge repeats the question, whose first word is not YES: the cached answer would have been wrong
    admin = await sync_to_async(tenant_create)("acme", "main", permissions=["read", "admin"])
    configured = await client.patch(f"/v1/namespaces/{tenant.namespace.name}/cache",
                                    json.dumps({"judge": {"provider": "test", "model": "echo"}}),
                                    content_type="application/json", headers=admin.headers())
    assert configured.json()["settings"]["judge"] == {"provider": "test", "model": "echo"}
    # (delta 0: never served, so always explored; at 0.05 a scope with one label may serve it now and then)
    other = (await post_inference(client, {**body("What is the capital of Spain?"), "cache_delta": 0},
                                  tenant.headers())).json()
    assert other["cached"] is False and other["data"]["responses"][0]["text"] == "What is the capital of Spain?"
    scope = await labels_reach(2)
    assert (scope.labels, scope.labels_wrong, scope.judged) == (2, 1, 1)
    france = await sync_to_async(lambda: CacheEntry.objects.get(prompt="user: What is the capital of France?"))()
    assert france.observed_correct == [True, False] and all(0.5 < s < 1 for s in france.observed_similarity)
    # the counters show the decisions and the labels
    counters = (await client.get(f"/v1/namespaces/{tenant.namespace.name}/cache", headers=tenant.headers())).json()
    assert counters["counters"]["labels"] == 2 and counters["counters"]["labels_wrong"] == 1
    assert counters["counters"]["labels_judged"] == 1
