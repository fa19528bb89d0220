"""Local SmolLM2 chat through llama.cpp: real answers, real token counts, the parameters honoured."""

import asyncio

from tests.conftest import ausage_records, post_inference

TARGET = {"provider": "local", "model": "smollm2-135m-instruct"}


async def test_prompts_batch_each_answered_with_token_counts(tenant, client):
    body = {**TARGET, "inputs": {"prompts": ["What is the capital of France?", "Name a colour."],
                                 "system": "Answer in one short sentence."},
            "parameters": {"temperature": 0, "max_tokens": 24}}
    response = await post_inference(client, body, tenant.headers())
    assert response.status_code == 200, response.content
    result = response.json()
    answers = result["data"]["responses"]
    assert len(answers) == 2
    for answer in answers:
        assert answer["text"].strip()
        assert answer["finish_reason"] in {"stop", "length"}
    assert "paris" in answers[0]["text"].lower()
    tokens = result["tokens_used"]
    assert tokens["prompt"] > 20 and 0 < tokens["completion"] <= 48
    assert tokens["total"] == tokens["prompt"] + tokens["completion"]
    (record,) = await ausage_records()
    assert (record.prompt_tokens, record.completion_tokens, record.modality) == (
        tokens["prompt"], tokens["completion"], "chat")


async def test_messages_conversation_and_max_tokens(tenant, client):
    body = {**TARGET, "inputs": {"messages": [
        {"role": "user", "content": "Count from one to twenty in words, separated by commas."}]},
        "parameters": {"max_tokens": 5, "temperature": 0}}
    result = (await post_inference(client, body, tenant.headers())).json()
    (answer,) = result["data"]["responses"]
    assert answer["finish_reason"] == "length"
    assert result["tokens_used"]["completion"] == 5


async def test_seed_makes_sampling_reproducible_and_stop_cuts(tenant, client):
    body = {**TARGET, "inputs": {"prompts": ["Write a short poem about the sea."]},
            "parameters": {"temperature": 1.0, "seed": 42, "max_tokens": 20}}
    first = (await post_inference(client, body, tenant.headers())).json()["data"]["responses"][0]["text"]
    again = (await post_inference(client, body, tenant.headers())).json()["data"]["responses"][0]["text"]
    assert first == again
    words = first.split()
    assert len(words) >= 3
    stop_body = {**body, "parameters": {**body["parameters"], "stop": [words[2]]}}
    cut = (await post_inference(client, stop_body, tenant.headers())).json()["data"]["responses"][0]
    assert words[2] not in cut["text"] and cut["finish_reason"] == "stop"


async def test_concurrent_requests_do_not_corrupt_the_shared_model(tenant, client):
    """Greedy answers are deterministic: the same prompt asked concurrently gets the same answer."""
    body = {**TARGET, "inputs": {"prompts": ["What is 2 plus 2?"]}, "parameters": {"temperature": 0, "max_tokens": 16}}
    alone = (await post_inference(client, body, tenant.headers())).json()["data"]["responses"][0]["text"]
    results = await asyncio.gather(*[post_inference(client, body, tenant.headers()) for _ in range(4)])
    assert {r.json()["data"]["responses"][0]["text"] for r in results} == {alone}


async def test_prompt_longer_than_the_context_is_a_422(tenant, client):
    body = {**TARGET, "inputs": {"prompts": ["word " * 4000]}, "parameters": {"max_tokens": 8}}
    response = await post_inference(client, body, tenant.headers())
    assert response.status_code == 422, response.content
    assert response.json()["error"]["type"] == "ValidationError"
