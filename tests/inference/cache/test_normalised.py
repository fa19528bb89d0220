"""The normalised exact tier through POST /v1/inference on the real app, database and embedder: a
conversation that differs from a cached one only in case, whitespace or final punctuation is served its
answer (``hit_normalised`` on the usage record, ``hits_normalised`` in the counters); what can change the
answer (a factorial's "!", superscripts, code, the conversation's history) is not normalised away."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async

from inference.cache.keys import message_normalise, prompt_normalised_hash
from inference.cache.models import CacheEntry
from inference.types import Message
from tests.conftest import ausage_records, post_inference, tenant_create

TARGET = {"provider": "test", "model": "echo-priced"}


def body(prompt: str | list[dict]) -> dict:
    inputs = {"prompts": [prompt]} if isinstance(prompt, str) else {"messages": prompt}
    return {**TARGET, "inputs": inputs, "parameters": {"temperature": 0}, "enable_semantic_cache": True}


async def ask(client, tenant, prompt) -> dict:
    response = await post_inference(client, body(prompt), tenant.headers())
    assert response.status_code == 200, response.content
    return response.json()


async def test_case_whitespace_and_final_punctuation_hit_the_cached_answer(tenant, client):
    first = await ask(client, tenant, "What is the capital of France?")
    assert first["cached"] is False
    for variant in ("what is the capital of france", "  WHAT is the capital  of\tFrance ?! ", "Ｗhat is the capital "
                    "of France…"):
        again = await ask(client, tenant, variant)
        assert again["cached"] is True, variant
        assert again["data"] == first["data"] and again["tokens_used"]["total"] == 0
    records = await ausage_records(namespace_id=tenant.namespace.id)
    assert [(r.cache_decision, r.cached) for r in records] == [("miss", False)] + [("hit_normalised", True)] * 3
    assert all(r.saved_tokens == first["tokens_used"]["total"] for r in records[1:])
    [entry] = await sync_to_async(lambda: list(CacheEntry.objects.filter(namespace_id=tenant.namespace.id)))()
    assert entry.hits == 3
    counters = (await client.get(f"/v1/namespaces/{tenant.namespace.name}/cache",
                                 headers=tenant.headers())).json()["counters"]
    assert (counters["hits"], counters["hits_normalised"], counters["misses"], counters["explorations"]) == (3, 3, 1, 0)
    # the exact repeat is still an exact hit
    assert (await ask(client, tenant, "What is the capital of France?"))["cached"] is True
    assert (await ausage_records(namespace_id=tenant.namespace.id))[-1].cache_decision == "hit"


async def test_a_normalised_hit_streams_and_stays_in_its_namespace(tenant, client):
    await ask(client, tenant, "How many moons does Mars have?")
    streamed = await client.post("/v1/inference/stream", json.dumps(body("how many moons does mars have")),
                                 content_type="application/json", headers=tenant.headers())
    events = [json.loads(line[5:]) for line in streamed.text.splitlines() if line.startswith("data:")]
    assert [e["type"] for e in events] == ["start", "delta", "done"]
    assert events[1]["text"] == "How many moons does Mars have?" and events[2]["response"]["cached"] is True
    other = await sync_to_async(tenant_create)("other-org", "main")
    assert (await ask(client, other, "how many moons does mars have"))["cached"] is False
    decisions = [r.cache_decision for r in await ausage_records(namespace_id=tenant.namespace.id)]
    assert decisions == ["miss", "hit_normalised"]


@pytest.mark.parametrize("cached, asked", [
    ("What is 5!", "What is 5"),  # a factorial
    ("Expand x² + 1", "Expand x2 + 1"),  # a superscript is not a digit
    ("Fix this:\n```\nif a:\n    b()\n```", "fix this:\n```\nif a: b()\n```"),  # code keeps case and whitespace
    ("Is it 'on' or \"on\"?", "Is it on or on?"),  # quotes are kept
])
async def test_differences_that_can_change_the_answer_are_not_normalised(tenant, client, cached, asked):
    await ask(client, tenant, cached)
    assert (await ask(client, tenant, asked))["cached"] is False
    decisions = [r.cache_decision for r in await ausage_records(namespace_id=tenant.namespace.id)]
    assert decisions[-1] != "hit_normalised"


async def test_the_history_is_part_of_the_normalised_conversation(tenant, client):
    netflix = [{"role": "user", "content": "I have a Flixora plan."}, {"role": "assistant", "content": "Noted."},
               {"role": "user", "content": "Cancel it."}]
    gym = [dict(m) for m in netflix]
    gym[0]["content"] = "I have a PulseFit gym membership."
    await ask(client, tenant, netflix)
    assert (await ask(client, tenant, gym))["cached"] is False
    shouted = [dict(m, content=m["content"].upper()) for m in netflix]
    assert (await ask(client, tenant, shouted))["cached"] is True


def test_what_the_normalisation_sets_aside():
    assert message_normalise("  What is the capital\nof FRANCE ?! ") == "what is the capital of france"
    assert message_normalise("Straße\u00a0Nummer 5?") == "strasse nummer 5"
    assert message_normalise("Round to 2.") == "round to 2."  # a final "." after a digit is kept
    assert message_normalise("x² + y₁") == "x² + y₁"
    assert message_normalise("Hello, world...") == "hello, world"
    user = (Message("user", "Hi"),)
    assert prompt_normalised_hash(user) != prompt_normalised_hash((Message("assistant", "Hi"),))
    assert prompt_normalised_hash(user) == prompt_normalised_hash((Message("system", "Be brief."), Message("user", "hi!")))
