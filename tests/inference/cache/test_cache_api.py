"""The cache through POST /v1/inference on the real app, database and embedder: hits, scoping by
namespace, parameters and conversation, isolation across namespaces and organizations, streams,
sampling consent, eviction, and the namespace's cache API (counters, settings, clear)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from asgiref.sync import sync_to_async
from django.utils import timezone

from inference.cache.models import CacheEntry
from tests.conftest import assert_envelope, ausage_records, post_inference, tenant_create

TARGET = {"provider": "test", "model": "echo-priced"}


def body(prompt="What is the capital of France?", cache=True, **parameters):
    return {**TARGET, "inputs": {"prompts": [prompt]}, "parameters": {"temperature": 0, **parameters},
            "enable_semantic_cache": cache}


async def ask(client, tenant, payload, namespace=None):
    response = await post_inference(client, payload, tenant.headers(namespace))
    assert response.status_code == 200, response.content
    return response.json()


entries = sync_to_async(lambda **f: list(CacheEntry.objects.filter(**f).order_by("id")), thread_sensitive=False)


async def test_a_repeat_is_served_from_the_cache_with_its_savings(tenant, client):
    first = await ask(client, tenant, body())
    assert first["cached"] is False and first["tokens_used"]["total"] > 0
    second = await ask(client, tenant, body())
    assert second["cached"] is True and second["data"] == first["data"]
    assert second["tokens_used"] == {"prompt": 0, "completion": 0, "total": 0}
    assert second["provider"] == "test" and second["model"] == "echo-priced"
    records = await ausage_records(namespace_id=tenant.namespace.id)
    assert [(r.cache_decision, r.cached) for r in records] == [("miss", False), ("hit", True)]
    assert records[1].total_tokens == 0 and records[1].cost_usd == 0
    assert records[1].saved_tokens == first["tokens_used"]["total"]
    assert float(records[1].saved_cost_usd) == first["tokens_used"]["total"]  # a dollar a token
    [entry] = await entries(namespace_id=tenant.namespace.id)
    assert entry.hits == 1 and entry.last_hit_at is not None


async def test_the_cache_off_is_neither_read_nor_written(tenant, client):
    await ask(client, tenant, body(cache=False))
    assert await entries() == []
    await ask(client, tenant, body())
    again = await ask(client, tenant, body(cache=False))
    assert again["cached"] is False
    records = await ausage_records(namespace_id=tenant.namespace.id)
    assert [r.cache_decision for r in records] == ["", "miss", ""]


async def test_parameters_system_prompt_and_history_split_the_scope(tenant, client):
    await ask(client, tenant, body())
    for variant in (body(max_tokens=5), body(seed=3), body(stop=["."]), body(temperature=0, top_p=0.5)):
        assert (await ask(client, tenant, variant))["cached"] is False, variant
    with_system = body()
    with_system["inputs"]["system"] = "Answer in French."
    assert (await ask(client, tenant, with_system))["cached"] is False
    # the same last message after another history is another prompt
    history = {**TARGET, "parameters": {"temperature": 0}, "enable_semantic_cache": True, "inputs": {"messages": [
        {"role": "user", "content": "I have a Flixora plan."}, {"role": "assistant", "content": "It renews soon."},
        {"role": "user", "content": "cancel it"}]}}
    other = json.loads(json.dumps(history))
    other["inputs"]["messages"][0]["content"] = "I have a PulseFit gym membership."
    assert (await ask(client, tenant, history))["cached"] is False
    assert (await ask(client, tenant, other))["cached"] is False
    assert (await ask(client, tenant, history))["cached"] is True
    # a batch is answered without the cache
    batch = {**body(), "inputs": {"prompts": ["What is the capital of France?", "and of Spain?"]}}
    assert (await ask(client, tenant, batch))["cached"] is False


async def test_no_answer_crosses_namespaces_or_organizations(tenant, client):
    await ask(client, tenant, body())
    neighbour = await sync_to_async(tenant_create)("acme", "other")
    stranger = await sync_to_async(tenant_create)("globex", "main")
    for who in (neighbour, stranger):
        assert (await ask(client, who, body()))["cached"] is False
        assert (await ask(client, who, body()))["cached"] is True  # from its own entry
    assert (await ask(client, tenant, body()))["cached"] is True
    decisions = {(r.namespace_id, r.cache_decision) for r in await ausage_records()}
    assert decisions == {(tenant.namespace.id, "miss"), (tenant.namespace.id, "hit"),
                         (neighbour.namespace.id, "miss"), (neighbour.namespace.id, "hit"),
                         (stranger.namespace.id, "miss"), (stranger.namespace.id, "hit")}
    # each namespace was served its own answer, from its own entry
    assert len(await entries()) == 3


async def test_sampling_is_cached_only_with_the_namespace_consent(tenant, client):
    sampled = body(temperature=0.8)
    del sampled["parameters"]["temperature"]  # the model's default temperature is 0.7
    await ask(client, tenant, sampled)
    assert (await ask(client, tenant, sampled))["cached"] is False and await entries() == []
    admin = await sync_to_async(tenant_create)("acme", "main", permissions=["read", "admin"])
    response = await client.patch(f"/v1/namespaces/{tenant.namespace.name}/cache", {"allow_sampling": True},
                                  content_type="application/json", headers=admin.headers())
    assert response.status_code == 200 and response.json()["settings"]["allow_sampling"] is True
    await ask(client, tenant, sampled)
    assert (await ask(client, tenant, sampled))["cached"] is True


async def test_a_hit_streams_as_one_delta(tenant, client):
    first = await ask(client, tenant, body("Tell me about streams"))
    response = await client.post("/v1/inference/stream", json.dumps(body("Tell me about streams")),
                                 content_type="application/json", headers=tenant.headers())
    assert response.status_code == 200, response.content
    events = [json.loads(line[5:]) for line in response.text.splitlines() if line.startswith("data:")]
    kinds = [e["type"] for e in events]
    assert kinds == ["start", "delta", "done"], kinds
    assert events[1]["text"] == first["data"]["responses"][0]["text"]
    assert events[2]["response"]["cached"] is True and events[2]["response"]["tokens_used"]["total"] == 0


async def test_eviction_by_size_and_age_and_clearing(tenant, client):
    admin = await sync_to_async(tenant_create)("acme", "main", permissions=["read", "admin"])
    path = f"/v1/namespaces/{tenant.namespace.name}/cache"
    assert (await client.patch(path, {"max_entries": 2}, content_type="application/json",
                               headers=admin.headers())).status_code == 200
    await ask(client, tenant, body("first question about apples"))
    await ask(client, tenant, body("second question about boats"))
    assert (await ask(client, tenant, body("second question about boats")))["cached"] is True  # now valued
    await ask(client, tenant, body("third question about clouds"))
    kept = [e.prompt for e in await entries(namespace_id=tenant.namespace.id)]
    assert kept == ["user: second question about boats", "user: third question about clouds"]
    # past the TTL an entry is neither served nor kept
    await sync_to_async(lambda: CacheEntry.objects.filter(prompt__contains="boats").update(
        created_at=timezone.now() - timedelta(days=8)))()
    assert (await ask(client, tenant, body("second question about boats")))["cached"] is False
    assert len(await entries(prompt__contains="boats")) == 1  # the expired one went, the fresh one is stored
    # counters (from the usage records, once written), then clearing (admin only)
    await ausage_records()
    counters = (await client.get(path, headers=tenant.headers())).json()["counters"]
    assert counters["hits"] == 1 and counters["misses"] == 4 and counters["entries"] == 2
    assert_envelope(await client.delete(path, headers=tenant.headers()), 403, "ForbiddenError")
    other = await sync_to_async(tenant_create)("acme", "other", permissions=["read", "admin"])
    await ask(client, other, body("first question about apples"))
    cleared = await client.delete(path, headers=admin.headers())
    assert cleared.status_code == 200 and cleared.json()["cleared"]["entries"] == 2
    assert [e.namespace_id for e in await entries()] == [other.namespace.id]
    assert (await ask(client, tenant, body("third question about clouds")))["cached"] is False


async def test_bad_cache_requests_are_refused(tenant, client):
    admin = await sync_to_async(tenant_create)("acme", "main", permissions=["read", "admin"])
    path = f"/v1/namespaces/{tenant.namespace.name}/cache"
    assert_envelope(await client.patch(path, {"max_entries": 0}, content_type="application/json",
                                       headers=admin.headers()), 422, "ValidationError")
    assert_envelope(await client.patch(path, {"colour": "red"}, content_type="application/json",
                                       headers=admin.headers()), 422, "ValidationError")
    assert_envelope(await client.patch(path, {"judge": {"provider": "test", "model": "nope"}},
                                       content_type="application/json", headers=admin.headers()), 400,
                    "BadRequestError")
    assert_envelope(await client.get(path), 401, "UnauthorizedError")
    assert_envelope(await post_inference(client, {**body(), "cache_delta": 2}, tenant.headers()), 422,
                    "ValidationError")
    await asyncio.sleep(0)


async def test_the_cache_routes_are_documented_as_they_answer(tenant, client):
    from inference.api.openapi.cache import COUNTERS_EXAMPLE

    doc = (await client.get("/v1/openapi.json")).json()
    assert set(doc["paths"]["/v1/namespaces/{namespace}/cache"]) == {"get", "patch", "delete"}
    answer = (await client.get(f"/v1/namespaces/{tenant.namespace.id}/cache", headers=tenant.headers())).json()
    assert set(answer) == set(COUNTERS_EXAMPLE)
    assert set(answer["counters"]) == set(COUNTERS_EXAMPLE["counters"])
    assert set(answer["settings"]) == set(COUNTERS_EXAMPLE["settings"])
