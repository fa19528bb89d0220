"""The anthropic adapter through the real SDK against the wire-format fake, driven through POST
/v1/inference: chat, sampling parameters, vision (base64 and URLs through the safe fetcher), structured
output through a forced tool, and the catalog."""

import base64

from tests.conftest import assert_envelope, ausage_records, post_inference
from tests.fakes.anthropic_server import GOOD_KEY, PNG, Scripted

PNG_B64 = base64.b64encode(PNG).decode()
TARGET = {"provider": "anthropic", "model": "claude-haiku-4-5"}


async def test_prompts_batch_each_one_message_with_usage_and_cost(tenant, client, fake_anthropic):
    body = {**TARGET, "inputs": {"prompts": ["What is the capital of France?", "Name a colour."],
                                 "system": "Be brief."},
            "parameters": {"max_tokens": 50, "stop": "END"}}
    response = await post_inference(client, body, tenant.headers())
    assert response.status_code == 200, response.content
    result = response.json()
    assert result["provider"] == "anthropic" and result["model"] == "claude-haiku-4-5" and result["cached"] is False
    assert result["data"] == {"responses": [
        {"text": "echo: What is the capital of France?", "finish_reason": "stop"},
        {"text": "echo: Name a colour.", "finish_reason": "stop"}]}
    sent = fake_anthropic.requests()
    assert len(sent) == 2
    for request in sent:
        assert request.headers["authorization"] == f"Bearer {GOOD_KEY}"
        assert request.headers["anthropic-version"] == "2026-10-21"  # the SDK's own
        assert request.body["model"] == "claude-haiku-4-5" and request.body["system"] == "Be brief."
        assert (request.body["max_tokens"], request.body["stop_sequences"]) == (50, ["END"])
        assert "temperature" not in request.body and "stream" not in request.body
    assert sorted(r.body["messages"][0]["content"] for r in sent) == ["Name a colour.",
                                                                      "What is the capital of France?"]
    # usage from Anthropic's fields (the fake counts words): 2+6 and 2+3 in, 7 and 4 out
    assert result["tokens_used"] == {"prompt": 13, "completion": 11, "total": 24}
    (record,) = await ausage_records()
    assert (record.provider, record.model, record.modality, record.status) == ("anthropic", "claude-haiku-4-5",
                                                                               "chat", 200)
    assert (record.prompt_tokens, record.completion_tokens) == (13, 11)
    # claude-haiku-4-5: $1 / $5 per million tokens (genai-prices)
    assert float(record.cost_usd) == round((13 * 1.0 + 11 * 5.0) / 1e6, 8)
    assert record.price_version.startswith("genai-prices ")


async def test_messages_are_one_conversation_with_the_default_max_tokens(tenant, client, fake_anthropic):
    messages = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Name a primary colour."}]
    result = (await post_inference(client, {**TARGET, "inputs": {"messages": messages}}, tenant.headers())).json()
    assert result["data"]["responses"] == [{"text": "echo: Name a primary colour.", "finish_reason": "stop"}]
    (sent,) = fake_anthropic.requests()
    assert sent.body == {"model": "claude-haiku-4-5", "max_tokens": 4096, "system": "You are terse.",
                         "messages": messages[1:]}


async def test_sampling_parameters_go_with_the_api_version_that_takes_them(tenant, client, fake_anthropic):
    response = await post_inference(client, {**TARGET, "inputs": {"prompts": ["hi"]},
                                             "parameters": {"temperature": 0.2}}, tenant.headers())
    assert response.status_code == 200, response.content
    (sent,) = fake_anthropic.requests()
    assert sent.body["temperature"] == 0.2 and sent.headers["anthropic-version"] == "2023-06-01"
    both = await post_inference(client, {**TARGET, "inputs": {"prompts": ["hi"]},
                                         "parameters": {"temperature": 0.2, "top_p": 0.9}}, tenant.headers())
    assert "not both" in assert_envelope(both, 422, "ValidationError")["error"]["message"]
    too_hot = await post_inference(client, {**TARGET, "inputs": {"prompts": ["hi"]},
                                            "parameters": {"temperature": 1.5}}, tenant.headers())
    assert_envelope(too_hot, 422, "ValidationError")
    no_sampling = await post_inference(client, {"provider": "anthropic", "model": "claude-opus-4-8",
                                                "inputs": {"prompts": ["hi"]}, "parameters": {"top_p": 0.5}},
                                       tenant.headers())
    assert assert_envelope(no_sampling, 422, "ValidationError")["error"]["details"]["errors"][0]["field"] == \
        "parameters.top_p"
    seed = await post_inference(client, {**TARGET, "inputs": {"prompts": ["hi"]}, "parameters": {"seed": 1}},
                                tenant.headers())
    assert_envelope(seed, 422, "ValidationError")
    newline = await post_inference(client, {**TARGET, "inputs": {"prompts": ["hi"]}, "parameters": {"stop": "\n"}},
                                   tenant.headers())
    assert "whitespace" in assert_envelope(newline, 422, "ValidationError")["error"]["message"]
    assert len(fake_anthropic.requests()) == 1


async def test_vision_sends_base64_blocks_with_the_sniffed_type(tenant, client, fake_anthropic, settings):
    url = f"{fake_anthropic.base_url}/images/dot.png"
    settings.INFERGATE = {**settings.INFERGATE, "MEDIA": {**settings.INFERGATE["MEDIA"],
                                                          "ALLOW": {tenant.namespace.id: ["127.0.0.1/32"]}}}
    body = {**TARGET, "inputs": {"prompts": ["What is in this picture?"], "image_url": url,
                                 "images": [f"data:image/png;base64,{PNG_B64}", {"image_base64": PNG_B64}]}}
    response = await post_inference(client, body, tenant.headers())
    assert response.status_code == 200, response.content
    assert response.json()["data"]["responses"][0]["text"] == "echo: What is in this picture? [3 images]"
    assert len(fake_anthropic.requests("/images/dot.png")) == 1  # fetched by us, not by Anthropic
    (sent,) = fake_anthropic.requests()
    (user,) = sent.body["messages"]
    block = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}}
    assert user["content"] == [block, block, block, {"type": "text", "text": "What is in this picture?"}]
    (record,) = await ausage_records()
    assert record.modality == "vision" and record.prompt_tokens == 5 + 3 * 85


async def test_a_namespace_that_passes_urls_through_sends_url_sources(tenant, client, fake_anthropic, settings):
    settings.INFERGATE = {**settings.INFERGATE, "MEDIA": {**settings.INFERGATE["MEDIA"],
                                                          "PASS_URLS": [tenant.namespace.id]}}
    body = {**TARGET, "inputs": {"prompts": ["?"], "image_url": "https://example.com/cat.png",
                                 "image_base64": PNG_B64}}
    response = await post_inference(client, body, tenant.headers())
    assert response.status_code == 200, response.content
    (sent,) = fake_anthropic.requests()
    assert sent.body["messages"][0]["content"][:2] == [
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}}]


async def test_vision_input_problems_are_client_errors_before_any_call(tenant, client, fake_anthropic):
    def body(**images):
        return {**TARGET, "inputs": {"prompts": ["?"], **images}}

    assert_envelope(await post_inference(client, body(image_base64="not*base64"), tenant.headers()),
                    400, "BadRequestError")
    text = base64.b64encode(b"plain text, not pixels").decode()
    problem = assert_envelope(await post_inference(client, body(image_base64=text), tenant.headers()),
                              422, "ValidationError")
    assert problem["error"]["details"]["errors"][0]["field"] == "inputs.image_base64"
    problem = assert_envelope(await post_inference(client, body(image_url="file:///etc/passwd"), tenant.headers()),
                              422, "ValidationError")
    assert problem["error"]["details"]["errors"][0]["field"] == "inputs.image_url"
    # a loopback address that the namespace did not allow-list is never fetched
    refused = assert_envelope(await post_inference(client, body(image_url=f"{fake_anthropic.base_url}/images/dot.png"),
                                                   tenant.headers()), 400, "BadRequestError")
    assert refused["error"]["details"]["reason"] == "forbidden_address"
    assert fake_anthropic.received == []


async def test_structured_output_is_a_forced_tool_whose_input_is_the_answer(tenant, client, fake_anthropic):
    schema = {"title": "City answer", "type": "object", "properties": {"city": {"type": "string"}},
              "required": ["city"]}
    fake_anthropic.script(Scripted(body={
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "City_answer", "input": {"city": "Paris"}}],
        "stop_reason": "tool_use", "stop_sequence": None, "usage": {"input_tokens": 20, "output_tokens": 6}}))
    body = {**TARGET, "inputs": {"prompts": ["Capital of France?"]}, "parameters": {"schema": schema}}
    result = (await post_inference(client, body, tenant.headers())).json()
    assert result["data"]["responses"] == [{"text": "{\"city\": \"Paris\"}", "finish_reason": "stop",
                                            "structured": {"city": "Paris"}}]
    assert result["tokens_used"] == {"prompt": 20, "completion": 6, "total": 26}
    (sent,) = fake_anthropic.requests()
    assert sent.body["tools"] == [{"name": "City_answer", "input_schema": schema,
                                   "description": "Answer by calling this tool with the answer as its input."}]
    assert sent.body["tool_choice"] == {"type": "tool", "name": "City_answer"}
    # a schema that is not an object travels wrapped, and comes back unwrapped
    listing = {"type": "array", "items": {"type": "string"}}
    wrapped = (await post_inference(client, {**TARGET, "inputs": {"prompts": ["Colours?"]},
                                             "parameters": {"schema": listing}}, tenant.headers())).json()
    assert wrapped["data"]["responses"][0]["structured"] == []
    assert fake_anthropic.requests()[-1].body["tools"][0]["input_schema"] == {
        "type": "object", "properties": {"value": listing}, "required": ["value"]}


async def test_the_catalog_lists_the_models_with_prices_and_whether_they_are_configured(tenant, client,
                                                                                       fake_anthropic, monkeypatch):
    async def catalog():
        listing = (await client.get("/v1/models", headers=tenant.headers())).json()["data"]
        return {m["id"]: m for m in listing if m["id"].startswith("anthropic/")}

    listed = await catalog()
    models = {name: m for name, m in listed.items() if m["catalog"] == "infergate"}  # the ones we test
    assert listed["anthropic/claude-3-5-haiku-latest"]["catalog"] == "genai-prices"  # described, forwarded
    assert set(models) == {f"anthropic/{m}" for m in ("claude-haiku-4-5", "claude-sonnet-4-5", "claude-sonnet-4-6",
                                                      "claude-opus-4-5", "claude-opus-4-6", "claude-opus-4-7",
                                                      "claude-opus-4-8")}
    haiku = models["anthropic/claude-haiku-4-5"]
    assert haiku["modalities"] == ["chat", "vision"] and haiku["configured"] is True
    assert (haiku["price"]["prompt_per_million"], haiku["price"]["completion_per_million"]) == (1.0, 5.0)
    assert models["anthropic/claude-sonnet-4-5"]["price"]["prompt_per_million"] == 3.0  # the base tier
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    assert not any(m["configured"] for m in (await catalog()).values())
