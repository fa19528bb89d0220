"""POST /v1/messages and /v1/messages/count_tokens, driven by the official ``anthropic`` SDK against the app, with
the wire-format fakes behind it. A Claude target gets the client's body byte for byte and its events come back as
they were sent; other targets (OpenAI, a local model) answer the translation, in Anthropic's shapes."""

from __future__ import annotations

import json

import anthropic
import httpx2
import pytest
from asgiref.sync import sync_to_async

from tests.conftest import ausage_records, tenant_create
from tests.fakes.anthropic_server import CACHED

QUESTION = "What is the weather in Paris?"
WEATHER = {"name": "get_weather", "description": "The weather in a city now.",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
# A request shaped as Claude Code (2.1) sends them: system blocks with cache_control, a system turn among the
# messages, tools, adaptive thinking, output_config, context_management, metadata, an earlier turn's thinking
# with its signature, a beta header, streamed.
CLAUDE_CODE = {
    "model": "claude-sonnet-4-6", "max_tokens": 32000, "stream": True,
    "system": [{"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
               {"type": "text", "text": "Answer tersely.", "cache_control": {"type": "ephemeral"}}],
    "messages": [{"role": "user", "content": [{"type": "text", "text": "List the files."}]},
                 {"role": "system", "content": "Available agent types: general, explore."},
                 {"role": "assistant", "content": [
                     {"type": "thinking", "thinking": "I should look.", "signature": "EqQBCkYIBxgCKkB0c2ln"},
                     {"type": "text", "text": "Looking."}]},
                 {"role": "user", "content": [{"type": "text", "text": "Go on please",
                                               "cache_control": {"type": "ephemeral"}}]}],
    "tools": [{"name": "Bash", "description": "Run a command.", "input_schema": {
        "type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}}],
    "tool_choice": {"type": "none"},
    "thinking": {"type": "adaptive"},
    "output_config": {"effort": "high"},
    "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
    "metadata": {"user_id": "user_abc_account_def_session_123"},
}


def in_process() -> httpx2.AsyncClient:
    """The app in-process, through the HTTP client the Anthropic SDK is built on (httpx2)."""
    from playground.asgi import application

    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=application), base_url="http://testserver",
                              timeout=120)


@pytest.fixture
def sdk(tenant, client) -> anthropic.AsyncAnthropic:
    """The official Anthropic SDK against the app in-process: the Infergate key as its api_key (x-api-key)."""
    return anthropic.AsyncAnthropic(api_key=tenant.secret, base_url="http://testserver", http_client=in_process(),
                                    default_headers={"X-Namespace": tenant.namespace.name}, max_retries=0)


async def test_a_claude_target_gets_the_body_as_sent_and_answers_as_anthropic(tenant, sdk, fake_anthropic):
    message = await sdk.messages.create(model="claude-sonnet-4-6", max_tokens=64, stop_sequences=["###"],
                                        system="Be brief.", messages=[{"role": "user", "content": QUESTION}])
    assert message.id.startswith("msg_fake") and message.content[0].text == f"echo: {QUESTION}"
    assert (message.model, message.stop_reason, message.usage.input_tokens) == ("claude-sonnet-4-6", "end_turn", 8)
    received = fake_anthropic.requests()[-1]
    assert received.body == {"model": "claude-sonnet-4-6", "max_tokens": 64, "stop_sequences": ["###"],
                             "system": "Be brief.", "messages": [{"role": "user", "content": QUESTION}]}
    assert tenant.secret not in json.dumps(received.headers)  # the provider's key, never the client's
    (record,) = await ausage_records()
    assert (record.provider, record.model, record.prompt_tokens, record.status) == ("anthropic", "claude-sonnet-4-6",
                                                                                    8, 200)


async def test_a_claude_code_request_is_relayed_byte_for_byte_and_its_events_come_back_as_sent(
        tenant, client, fake_anthropic):
    raw = json.dumps(CLAUDE_CODE, separators=(",", ":")).encode()
    headers = {"x-api-key": tenant.secret, "X-Namespace": tenant.namespace.name, "content-type": "application/json",
               "anthropic-version": "2023-06-01", "anthropic-beta": "interleaved-thinking-2025-05-14"}
    response = await client.http.post("/v1/messages?beta=true", content=raw, headers=headers)  # as Claude Code asks
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    received = fake_anthropic.requests()[-1]
    assert received.raw == raw and received.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    events = [(block.split("\n")[0][len("event: "):], json.loads(block.split("\n")[1][len("data: "):]))
              for block in response.text.strip().split("\n\n")]
    assert [name for name, _ in events] == ["message_start", "content_block_start", "ping", *["content_block_delta"] * 4,
                                            "content_block_stop", "message_delta", "message_stop"]
    assert events[0][1]["message"]["usage"]["cache_read_input_tokens"] == CACHED
    assert "".join(data["delta"]["text"] for name, data in events if name == "content_block_delta") == \
        "echo: Go on please"
    (record,) = await ausage_records()
    assert (record.cache_read_tokens, record.completion_tokens, record.status) == (CACHED, 4, 200)


async def test_the_sdk_stream_helper_and_a_tool_round_trip(tenant, sdk, fake_anthropic):
    async with sdk.messages.stream(model="claude-haiku-4-5", max_tokens=64,
                                   messages=[{"role": "user", "content": "hello there"}]) as stream:
        assert await stream.get_final_text() == "echo: hello there"
    first = await sdk.messages.create(model="claude-haiku-4-5", max_tokens=256, tools=[WEATHER],
                                      messages=[{"role": "user", "content": QUESTION}])
    (call,) = [block for block in first.content if block.type == "tool_use"]
    assert (first.stop_reason, call.name, call.input) == ("tool_use", "get_weather", {"query": QUESTION})
    final = await sdk.messages.create(model="claude-haiku-4-5", max_tokens=256, tools=[WEATHER], messages=[
        {"role": "user", "content": QUESTION}, {"role": "assistant", "content": first.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "18 C, sunny"}]}])
    assert final.content[0].text == "echo: 18 C, sunny"


async def test_count_tokens_asks_claude_and_estimates_for_others(tenant, sdk, fake_anthropic):
    counted = await sdk.messages.count_tokens(model="claude-sonnet-4-6", system="Be brief.",
                                              messages=[{"role": "user", "content": "one two three"}])
    assert counted.input_tokens == 5 and fake_anthropic.requests("/v1/messages/count_tokens")
    local = await sdk.messages.count_tokens(model="local/smollm2-135m-instruct",
                                            messages=[{"role": "user", "content": "one two three"}])
    assert 3 < local.input_tokens < 20
    records = await ausage_records()
    assert [(r.endpoint, r.total_tokens, r.cost_usd) for r in records] == [("count_tokens", 0, 0)] * 2


@pytest.mark.parametrize("model", ["openai/gpt-4o-mini", "local/smollm2-135m-instruct"])
async def test_other_targets_answer_in_anthropics_shape(tenant, sdk, fake_openai, model):
    message = await sdk.messages.create(model=model, max_tokens=16, system="Be brief.",
                                        messages=[{"role": "user", "content": "Name a colour."}])
    assert message.type == "message" and message.model == model and message.content[0].type == "text"
    assert message.content[0].text and message.usage.input_tokens > 0
    async with sdk.messages.stream(model=model, max_tokens=16,
                                   messages=[{"role": "user", "content": "Name a colour."}]) as stream:
        text = await stream.get_final_text()
        final = await stream.get_final_message()
    assert text and final.stop_reason in ("end_turn", "max_tokens") and final.usage.output_tokens > 0


async def test_a_tool_round_trip_through_openai_in_anthropics_shapes(tenant, sdk, fake_openai):
    first = await sdk.messages.create(model="openai/gpt-5.2", max_tokens=256, tools=[WEATHER],
                                      messages=[{"role": "user", "content": QUESTION}])
    (call,) = first.content
    assert (first.stop_reason, call.type, call.name, call.input) == ("tool_use", "tool_use", "get_weather",
                                                                     {"query": QUESTION})
    sent = fake_openai.requests()[-1].body
    assert sent["tools"][0]["function"]["parameters"] == WEATHER["input_schema"]
    async with sdk.messages.stream(model="openai/gpt-5.2", max_tokens=256, tools=[WEATHER], messages=[
            {"role": "user", "content": QUESTION}, {"role": "assistant", "content": first.content},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "rain"}]}]) as stream:
        assert await stream.get_final_text() == "echo: rain"
    async with sdk.messages.stream(model="openai/gpt-5.2", max_tokens=256, tools=[WEATHER],
                                   messages=[{"role": "user", "content": QUESTION}]) as stream:
        streamed = await stream.get_final_message()
    assert [(b.type, b.name, b.input) for b in streamed.content] == [("tool_use", "get_weather", {"query": QUESTION})]


async def test_what_another_target_cannot_take_is_a_400_naming_it(tenant, sdk, fake_openai, fake_anthropic):
    document = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "A memo."}}
    messages = [{"role": "user", "content": [document, {"type": "text", "text": "Summarise."}]}]
    with pytest.raises(anthropic.BadRequestError) as caught:
        await sdk.messages.create(model="openai/gpt-4o-mini", max_tokens=16, messages=messages)
    assert caught.value.body["error"]["type"] == "invalid_request_error"
    assert "messages[0].content[0]" in caught.value.body["error"]["message"] and fake_openai.requests() == []
    answered = await sdk.messages.create(model="claude-sonnet-4-6", max_tokens=16, messages=messages)
    assert answered.content[0].text == "echo: Summarise."


async def test_errors_raise_the_sdks_own_exceptions(transactional_db, client, fake_anthropic):
    with pytest.raises(anthropic.AuthenticationError) as caught:
        await anthropic.AsyncAnthropic(api_key="sk_live_" + "x" * 40, base_url="http://testserver",
                                       http_client=in_process(), max_retries=0).messages.create(
            model="claude-haiku-4-5", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.body["type"] == "error" and caught.value.body["error"]["type"] == "authentication_error"
    limited = await sync_to_async(tenant_create)("acme", "main", scoped=True, rate_limit_rpm=1)
    sdk = anthropic.AsyncAnthropic(api_key=limited.secret, base_url="http://testserver", http_client=in_process(),
                                   max_retries=0)  # a key scoped to one namespace needs no X-Namespace
    with pytest.raises(anthropic.RateLimitError) as caught:  # within a request or two (key ids repeat across tests)
        for _ in range(3):
            await sdk.messages.create(model="claude-haiku-4-5", max_tokens=8,
                                      messages=[{"role": "user", "content": "hi"}])
    assert caught.value.body["error"]["type"] == "rate_limit_error" and caught.value.response.headers["retry-after"]


async def test_a_provider_we_do_not_know_is_a_400(tenant, sdk):
    with pytest.raises(anthropic.BadRequestError) as caught:
        await sdk.messages.create(model="nowhere/model", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.body["error"]["message"] == "Unknown provider 'nowhere'"


async def test_a_bearer_key_and_a_bad_body(tenant, client, fake_anthropic):
    headers = {"Authorization": f"Bearer {tenant.secret}", "X-Namespace": tenant.namespace.name}
    ok = await client.http.post("/v1/messages", json={"model": "claude-haiku-4-5", "max_tokens": 8,
                                                      "messages": [{"role": "user", "content": "hi"}]}, headers=headers)
    assert ok.status_code == 200 and ok.json()["type"] == "message"
    for body in ({"max_tokens": 8, "messages": []}, {"model": "claude-haiku-4-5", "messages": "hi"}, [1]):
        bad = await client.http.post("/v1/messages", json=body, headers=headers)
        assert bad.status_code in (400, 422) and bad.json()["type"] == "error", bad.text
    broken = await client.http.post("/v1/messages", content=b"{", headers={**headers, "content-type": "application/json"})
    assert broken.status_code == 400 and broken.json()["error"]["type"] == "invalid_request_error"


async def test_a_failing_claude_falls_back_to_another_provider_in_anthropics_shape(transactional_db, client,
                                                                                  fake_anthropic, fake_openai):
    from tests.fakes.anthropic_server import Scripted, error_body

    admin = await sync_to_async(tenant_create)("acme", "main", permissions=["admin", "read", "write"])
    routed = await client.patch("/v1/namespaces/main", {"routing": {"fallbacks": {
        "anthropic/claude-haiku-4-5": ["openai/gpt-4o-mini"]}}}, content_type="application/json",
        headers=admin.headers())
    assert routed.status_code == 200, routed.content
    overloaded = Scripted(status=529, body=error_body("Overloaded", "overloaded_error"))
    sdk = anthropic.AsyncAnthropic(api_key=admin.secret, base_url="http://testserver", http_client=in_process(),
                                   default_headers={"X-Namespace": "main"}, max_retries=0)
    fake_anthropic.script(*[overloaded] * 3)
    message = await sdk.messages.create(model="claude-haiku-4-5", max_tokens=16,
                                        messages=[{"role": "user", "content": "hello there"}])
    assert (message.model, message.content[0].text) == ("openai/gpt-4o-mini", "echo: hello there")
    fake_anthropic.script(*[overloaded] * 3)
    async with sdk.messages.stream(model="claude-haiku-4-5", max_tokens=16,
                                   messages=[{"role": "user", "content": "hello there"}]) as stream:
        assert await stream.get_final_text() == "echo: hello there"
    records = await ausage_records()
    assert [(r.provider, r.model, r.status) for r in records] == [("openai", "gpt-4o-mini", 200)] * 2


async def test_an_error_mid_stream_reaches_the_client_as_anthropic_sent_it(tenant, client, fake_anthropic):
    from tests.fakes.anthropic_server import Scripted

    start = {"type": "message_start", "message": {"id": "msg_x", "type": "message", "role": "assistant",
                                                  "model": "claude-haiku-4-5", "content": [], "stop_reason": None,
                                                  "stop_sequence": None, "usage": {"input_tokens": 3, "output_tokens": 1}}}
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    fake_anthropic.script(Scripted(events=[("message_start", start), ("error", overloaded)]))
    response = await client.http.post("/v1/messages", json={"model": "claude-haiku-4-5", "max_tokens": 8,
                                                            "stream": True,
                                                            "messages": [{"role": "user", "content": "hi"}]},
                                      headers={"x-api-key": tenant.secret, "X-Namespace": "main"})
    blocks = response.text.strip().split("\n\n")
    assert [block.split("\n")[0] for block in blocks] == ["event: message_start", "event: error"]
    assert json.loads(blocks[-1].split("\n")[1][len("data: "):]) == overloaded
    (record,) = await ausage_records()
    assert (record.status, record.error_type, record.prompt_tokens) == (502, "ProviderError", 3)


async def test_claude_codes_dated_model_ids_and_server_tools_go_through(tenant, sdk, fake_anthropic):
    """Claude Code names models by dated ids we do not list, asks for long answers, and may force a server tool."""
    message = await sdk.messages.create(model="claude-haiku-4-5-20251001", max_tokens=32000,
                                        messages=[{"role": "user", "content": "hi"}])
    assert message.content[0].text == "echo: hi"
    tools = [WEATHER, {"type": "web_search_20250305", "name": "web_search", "max_uses": 2}]
    forced = await sdk.messages.create(model="claude-haiku-4-5-20251001", max_tokens=64, tools=tools,
                                       tool_choice={"type": "tool", "name": "web_search"},
                                       messages=[{"role": "user", "content": "news?"}])
    assert [block.name for block in forced.content] == ["web_search"]
    assert fake_anthropic.requests()[-1].body["tools"] == tools
    with pytest.raises(anthropic.BadRequestError) as caught:  # another provider has no web search of Anthropic's
        await sdk.messages.create(model="openai/gpt-4o-mini", max_tokens=64, tools=tools,
                                  tool_choice={"type": "tool", "name": "web_search"},
                                  messages=[{"role": "user", "content": "news?"}])
    fields = [e["field"] for e in caught.value.body["error"]["details"]["errors"]]
    assert fields == ["tools[1]", "tool_choice"]


async def test_a_claude_code_request_is_translated_for_another_provider(tenant, client, fake_openai):
    headers = {"Authorization": f"Bearer {tenant.secret}", "X-Namespace": tenant.namespace.name}
    response = await client.http.post("/v1/messages?beta=true", json={**CLAUDE_CODE, "model": "openai/gpt-4o-mini"},
                                      headers=headers)
    assert response.status_code == 200, response.text[:300]
    names = [block.split("\n")[0] for block in response.text.strip().split("\n\n")]
    assert names[0] == "event: message_start" and names[-1] == "event: message_stop"
    sent = fake_openai.requests()[-1].body
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "system", "assistant", "user"]
    assert sent["messages"][0]["content"].endswith("Answer tersely.") and sent["tool_choice"] == "none"
    assert not {"thinking", "output_config", "context_management", "metadata"} & set(sent)


async def test_models_list_and_retrieve_read_as_anthropic_model_objects(sdk):
    page = await sdk.models.list()
    ids = [model.id for model in page.data]
    assert "local/smollm2-135m-instruct" in ids and "anthropic/claude-sonnet-4-6" in ids
    assert all(model.type == "model" and model.display_name == model.id and model.created_at.year == 1970
               for model in page.data)
    assert (page.has_more, page.first_id, page.last_id) == (False, ids[0], ids[-1])
    assert (await sdk.models.retrieve("claude-sonnet-4-6")).id == "anthropic/claude-sonnet-4-6"
    with pytest.raises(anthropic.NotFoundError):
        await sdk.models.retrieve("claude-no-such-model")


async def test_models_take_the_key_from_x_api_key_and_its_one_namespace(transactional_db):
    scoped = await sync_to_async(tenant_create)("ant", "main", scoped=True)
    anthropic_headers = {"x-api-key": scoped.secret, "anthropic-version": "2023-06-01"}
    async with in_process() as http:
        listed = await http.get("/v1/models", headers=anthropic_headers)
        one = await http.get("/v1/models/smollm2-135m-instruct", headers=anthropic_headers)
        refused = await http.get("/v1/models/smollm2-135m-instruct", headers={"x-api-key": "sk_live_" + "x" * 40})
    assert listed.status_code == 200 and any(item["id"] == "local/smollm2-135m-instruct" for item in listed.json()["data"])
    assert one.status_code == 200 and one.json()["id"] == "local/smollm2-135m-instruct"
    assert refused.status_code == 401 and refused.json()["error"]["type"] == "UnauthorizedError"
