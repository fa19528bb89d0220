"""Any model id of a configured provider is forwarded, through the official SDKs against the wire-format fakes:
a model that appears in no list of ours is routed by the shape of the request and the provider decides; the
parameters Infergate does not model reach the upstream body as sent; a model no price table knows is
recorded with an unknown cost, never as free; the provider's cached and reasoning tokens are recorded,
priced at their own rates and returned."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from openai import AsyncOpenAI

from inference.providers.prices import price_read
from inference.providers.registry import provider_registry
from tests.conftest import assert_envelope, ausage_records, post_inference
from tests.fakes.anthropic_server import Scripted as AnthropicScripted
from tests.fakes.google_server import Scripted as GoogleScripted

UNLISTED = "gpt-9-preview"  # in no catalog of ours and in no price table


def chat(model: str, provider: str = "openai", **parameters) -> dict:
    return {"provider": provider, "model": model, "inputs": {"prompts": ["hello there"]}, "parameters": parameters}


async def test_a_model_in_no_list_is_forwarded_and_its_cost_is_unknown(tenant, client, fake_openai, caplog):
    caplog.set_level(logging.WARNING, logger="inference.service")
    assert ("openai", UNLISTED) not in {(s.provider, s.model) for s in provider_registry().specs()}
    answered = await post_inference(client, chat(UNLISTED), tenant.headers())
    assert answered.status_code == 200, answered.content
    body = answered.json()
    assert (body["provider"], body["model"]) == ("openai", UNLISTED)
    assert body["data"]["responses"][0]["text"] == "echo: hello there"
    assert fake_openai.requests("/v1/chat/completions")[-1].body["model"] == UNLISTED
    # The same model, by the shape of another request: an embedding.
    embedded = await post_inference(client, {"provider": "openai", "model": UNLISTED, "inputs": {"text": "a b"}},
                                    tenant.headers())
    assert embedded.status_code == 200 and embedded.json()["data"]["dimensions"] == 8
    assert fake_openai.requests("/v1/embeddings")[-1].body["model"] == UNLISTED
    records = await ausage_records(model=UNLISTED)
    assert [(r.modality, r.cost_usd, r.price_known) for r in records] == [("chat", None, False),
                                                                         ("text_embedding", None, False)]
    warnings = [r for r in caplog.records if UNLISTED in r.getMessage()]
    assert len(warnings) == 1  # once per model and process, not per request


async def test_a_known_price_is_used_for_a_model_we_do_not_list(tenant, client, fake_openai):
    assert ("openai", "gpt-5-mini") not in {(s.provider, s.model) for s in provider_registry().specs()}
    response = await post_inference(client, chat("gpt-5-mini"), tenant.headers())
    assert response.status_code == 200, response.content
    (record,) = await ausage_records(model="gpt-5-mini")
    price, _ = price_read(model="gpt-5-mini", provider_id="openai")
    expected = Decimal(str(round((2 * price.prompt_per_million + 3 * price.completion_per_million) / 1e6, 8)))
    assert record.price_known and record.cost_usd == expected


async def test_parameters_we_do_not_model_reach_the_provider(tenant, client, fake_openai):
    sent = chat("gpt-4o-mini", reasoning_effort="high", frequency_penalty=0.5, logit_bias={"50256": -100},
                service_tier="flex", temperature=0.2)
    response = await post_inference(client, sent, tenant.headers())
    assert response.status_code == 200, response.content
    upstream = fake_openai.requests("/v1/chat/completions")[-1].body
    assert (upstream["reasoning_effort"], upstream["frequency_penalty"], upstream["logit_bias"],
            upstream["service_tier"], upstream["temperature"]) == ("high", 0.5, {"50256": -100}, "flex", 0.2)
    assert response.json()["tokens_used"]["reasoning"] == 8
    # The provider refuses what it does not take: its 400, with its message (not a 502).
    refused = await post_inference(client, chat("gpt-4o-mini", reasoning_effort="extreme"), tenant.headers())
    body = assert_envelope(refused, 400, "BadRequestError")
    assert "reasoning_effort" in body["error"]["message"] and body["error"]["details"]["upstream_status"] == 400
    unknown = await post_inference(client, chat("gpt-4o-mini", no_such_option=1), tenant.headers())
    assert assert_envelope(unknown, 400, "BadRequestError")["error"]["details"]["provider"] == "openai"


@pytest.mark.parametrize("parameters, field", [
    ({"temperature": 7}, "parameters.temperature"),  # a parameter we model is still checked
    ({"dimensions": 8}, "parameters.dimensions"),  # ... and one this model does not declare is refused
    ({"model": "other"}, "parameters.model"),  # what the request itself says is never a parameter
])
async def test_the_parameters_we_model_are_still_checked(tenant, client, fake_openai, parameters, field):
    response = await post_inference(client, {**chat("gpt-4o-mini"), "parameters": parameters}, tenant.headers())
    assert assert_envelope(response, 422, "ValidationError")["error"]["details"]["errors"][0]["field"] == field
    assert fake_openai.requests() == []


async def test_local_models_take_only_what_they_declare(tenant, client):
    response = await post_inference(client, {"provider": "local", "model": "smollm2-135m-instruct",
                                             "inputs": {"prompts": ["hi"]}, "parameters": {"reasoning_effort": "low"}},
                                    tenant.headers())
    assert assert_envelope(response, 422, "ValidationError")["error"]["details"]["errors"][0]["field"] == \
        "parameters.reasoning_effort"
    unknown = await post_inference(client, {"provider": "local", "model": "gpt-9", "inputs": {"text": "x"}},
                                   tenant.headers())
    assert assert_envelope(unknown, 400, "BadRequestError")["error"]["message"].startswith("Unknown model")
    nobody = await post_inference(client, {"provider": "nope", "model": "x", "inputs": {"text": "x"}},
                                  tenant.headers())
    assert assert_envelope(nobody, 400, "BadRequestError")["error"]["message"] == "Unknown provider 'nope'"


@pytest.mark.parametrize("model", ["../../v1/files", "a//b", "gpt 5", "x/"])
async def test_a_model_id_cannot_climb_a_url(tenant, client, fake_openai, model):
    response = await post_inference(client, chat(model), tenant.headers())
    assert response.status_code in (400, 422) and fake_openai.requests() == []


async def test_cached_and_reasoning_tokens_are_recorded_priced_and_returned(tenant, client, fake_openai):
    response = await post_inference(client, {**chat("gpt-4o-mini", prompt_cache_key="c1", reasoning_effort="low"),
                                             "inputs": {"prompts": ["one two three four five six"]}},
                                    tenant.headers())
    assert response.status_code == 200, response.content
    tokens = response.json()["tokens_used"]
    # 6 prompt tokens, half of them from the provider's cache; "echo: one ... six" is 7 words, 2 of reasoning.
    assert tokens == {"prompt": 6, "completion": 9, "total": 15, "cache_read": 3, "reasoning": 2}
    (record,) = await ausage_records(model="gpt-4o-mini")
    assert (record.cache_read_tokens, record.cache_write_tokens, record.reasoning_tokens) == (3, 0, 2)
    price, _ = price_read(model="gpt-4o-mini", provider_id="openai")
    assert price.cache_read_per_million < price.prompt_per_million
    expected = (3 * price.prompt_per_million + 3 * price.cache_read_per_million + 9 * price.completion_per_million) / 1e6
    assert record.cost_usd == Decimal(str(round(expected, 8)))
    # The same through the OpenAI SDK, streamed and not: OpenAI's details objects.
    sdk = AsyncOpenAI(api_key=tenant.secret, base_url="http://testserver/v1", http_client=client.http,
                      default_headers={"X-Namespace": tenant.namespace.name})
    completion = await sdk.chat.completions.create(model="openai/gpt-4o-mini", max_tokens=32, reasoning_effort="high",
                                                   messages=[{"role": "user", "content": "a b c d"}],
                                                   extra_body={"prompt_cache_key": "c1"})
    assert completion.usage.prompt_tokens_details.cached_tokens == 2
    assert completion.usage.completion_tokens_details.reasoning_tokens == 8
    stream = await sdk.chat.completions.create(model="openai/gpt-4o-mini", max_tokens=32, reasoning_effort="medium",
                                               messages=[{"role": "user", "content": "a b c d"}], stream=True,
                                               stream_options={"include_usage": True},
                                               extra_body={"prompt_cache_key": "c1"})
    usage = [chunk.usage async for chunk in stream if chunk.usage is not None][-1]
    assert (usage.prompt_tokens_details.cached_tokens, usage.completion_tokens_details.reasoning_tokens) == (2, 4)
    assert len(await ausage_records(model="gpt-4o-mini")) == 3
    summary = (await client.get("/v1/analytics/usage/summary", headers=tenant.headers())).json()["data"][0]
    assert (summary["cache_read_tokens"], summary["reasoning_tokens"], summary["unpriced_requests"]) == (7, 14, 0)


async def test_anthropic_and_gemini_cache_tokens(tenant, client, fake_anthropic, fake_google):
    fake_anthropic.script(AnthropicScripted(body={
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
        "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 2, "cache_read_input_tokens": 100,
                  "cache_creation_input_tokens": 20}}))
    claude = await post_inference(client, chat("claude-haiku-4-5", "anthropic"), tenant.headers())
    assert claude.status_code == 200, claude.content
    assert claude.json()["tokens_used"] == {"prompt": 130, "completion": 2, "total": 132, "cache_read": 100,
                                            "cache_write": 20}
    fake_google.script(GoogleScripted(body={
        "candidates": [{"content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 50, "candidatesTokenCount": 3, "thoughtsTokenCount": 7,
                          "cachedContentTokenCount": 40, "totalTokenCount": 60}}))
    gemini = await post_inference(client, chat("gemini-2.5-flash", "google"), tenant.headers())
    assert gemini.status_code == 200, gemini.content
    assert gemini.json()["tokens_used"] == {"prompt": 50, "completion": 10, "total": 60, "cache_read": 40,
                                            "reasoning": 7}
    rows = {r.provider: (r.cache_read_tokens, r.cache_write_tokens, r.reasoning_tokens) for r in await ausage_records()}
    assert rows == {"anthropic": (100, 20, 0), "google": (40, 0, 7)}


async def test_an_unlisted_claude_and_gemini_are_forwarded(tenant, client, fake_anthropic, fake_google):
    claude = await post_inference(client, chat("claude-sonnet-7", "anthropic", thinking={"type": "disabled"}),
                                  tenant.headers())
    assert claude.status_code == 200, claude.content
    sent = fake_anthropic.requests()[-1].body
    assert (sent["model"], sent["thinking"]) == ("claude-sonnet-7", {"type": "disabled"})
    gemini = await post_inference(client, chat("gemini-9-pro", "gemini", top_k=5), tenant.headers())
    assert gemini.status_code == 200, gemini.content
    assert gemini.json()["model"] == "gemini-9-pro"
    assert "gemini-9-pro" in fake_google.requests()[-1].path
    assert fake_google.requests()[-1].body["generationConfig"]["topK"] == 5
    records = await ausage_records()
    assert {(r.provider, r.model, r.price_known) for r in records} == {("anthropic", "claude-sonnet-7", False),
                                                                      ("google", "gemini-9-pro", False)}

