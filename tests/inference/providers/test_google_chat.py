"""The google provider's Gemini chat through the real google-genai SDK against the wire-format fake:
prompts batches, conversations, the ``gemini`` alias, vision with inline bytes, structured output, usage
and cost, and Vertex AI with a service account."""

import asyncio
import base64

from tests.conftest import assert_envelope, ausage_records, post_inference
from tests.fakes.google_server import GOOD_KEY, IMAGE_TOKENS, Scripted

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
PNG = base64.b64encode(PNG_BYTES).decode()
JPEG_BYTES = b"\xff\xd8\xff\xe0" + b"\x00" * 32
GEMINI = "/v1beta/models/gemini-2.0-flash:generateContent"


def gemini_answer(text: str, prompt_tokens: int = 4, completion_tokens: int = 3, finish: str = "STOP") -> dict:
    return {"candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": finish,
                            "index": 0}],
            "usageMetadata": {"promptTokenCount": prompt_tokens, "candidatesTokenCount": completion_tokens,
                              "totalTokenCount": prompt_tokens + completion_tokens}, "modelVersion": "gemini-2.0-flash"}


async def test_prompts_batch_each_one_request_with_usage_and_cost(tenant, client, fake_google):
    body = {"provider": "google", "model": "gemini-2.0-flash",
            "inputs": {"prompts": ["What is the capital of France?", "Name a colour."], "system": "Be brief."},
            "parameters": {"temperature": 0.2, "max_tokens": 50, "seed": 7, "stop": ["\n"], "top_p": 0.9}}
    response = await post_inference(client, body, tenant.headers())
    assert response.status_code == 200, response.content
    result = response.json()
    assert result["provider"] == "google" and result["model"] == "gemini-2.0-flash" and result["cached"] is False
    assert result["data"] == {"responses": [
        {"text": "echo: What is the capital of France?", "finish_reason": "stop"},
        {"text": "echo: Name a colour.", "finish_reason": "stop"}]}
    sent = fake_google.requests()
    assert [r.path for r in sent] == [GEMINI, GEMINI]
    for request in sent:
        assert request.headers["x-goog-api-key"] == GOOD_KEY and "authorization" not in request.headers
        assert request.body["systemInstruction"]["parts"] == [{"text": "Be brief."}]
        assert request.body["generationConfig"] == {"temperature": 0.2, "topP": 0.9, "maxOutputTokens": 50,
                                                    "seed": 7, "stopSequences": ["\n"]}
    assert sorted(r.body["contents"][0]["parts"][0]["text"] for r in sent) == [
        "Name a colour.", "What is the capital of France?"]
    assert all(r.body["contents"][0]["role"] == "user" and len(r.body["contents"]) == 1 for r in sent)
    # usageMetadata (the fake counts words, the system instruction included): 2+6 and 2+3 in, 7 and 4 out
    assert result["tokens_used"] == {"prompt": 13, "completion": 11, "total": 24}
    (record,) = await ausage_records()
    assert (record.provider, record.model, record.modality, record.status) == ("google", "gemini-2.0-flash",
                                                                               "chat", 200)
    assert (record.prompt_tokens, record.completion_tokens) == (13, 11)
    # gemini-2.0-flash: $0.10 / $0.40 per million tokens (genai-prices)
    assert float(record.cost_usd) == round((13 * 0.10 + 11 * 0.40) / 1e6, 8)
    assert record.price_version.startswith("genai-prices ")


async def test_the_batch_runs_concurrently_and_bounded(tenant, client, fake_google, settings):
    settings.INFERGATE = {**settings.INFERGATE, "PROVIDER_CONCURRENCY": 2}
    fake_google.script(*[Scripted(delay_s=0.5) for _ in range(4)])
    response = await post_inference(client, {"provider": "google", "model": "gemini-2.5-flash",
                                             "inputs": {"prompts": ["a", "b", "c", "d"]}}, tenant.headers())
    assert response.status_code == 200, response.content
    assert [r["text"] for r in response.json()["data"]["responses"]] == ["echo: a", "echo: b", "echo: c", "echo: d"]
    assert fake_google.peak_in_flight == 2  # two at a time: not one after another, not all four at once


async def test_messages_map_assistant_to_model_and_the_alias_answers_as_google(tenant, client, fake_google,
                                                                               monkeypatch):
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")  # the SDK's switch: an API key still means the Gemini API
    messages = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Name a primary colour."}]
    response = await post_inference(client, {"provider": "gemini", "model": "gemini-2.5-pro",
                                             "inputs": {"messages": messages}}, tenant.headers())
    assert response.status_code == 200, response.content
    result = response.json()
    assert result["provider"] == "google" and result["model"] == "gemini-2.5-pro"
    assert result["data"]["responses"] == [{"text": "echo: Name a primary colour.", "finish_reason": "stop"}]
    (sent,) = fake_google.requests()
    assert sent.path == "/v1beta/models/gemini-2.5-pro:generateContent"
    assert sent.body["contents"] == [{"role": "user", "parts": [{"text": "Hi"}]},
                                     {"role": "model", "parts": [{"text": "Hello!"}]},
                                     {"role": "user", "parts": [{"text": "Name a primary colour."}]}]
    assert sent.body["systemInstruction"]["parts"] == [{"text": "You are terse."}]
    (record,) = await ausage_records()
    assert record.provider == "google"


async def test_vision_sends_inline_bytes_with_the_sniffed_type(tenant, client, fake_google, settings):
    fake_google.media["photo"] = JPEG_BYTES  # served as application/octet-stream: the type comes from the bytes
    settings.INFERGATE = {**settings.INFERGATE, "MEDIA": {**settings.INFERGATE["MEDIA"],
                                                          "ALLOW": {tenant.namespace.id: ["127.0.0.1/32"]}}}
    body = {"provider": "google", "model": "gemini-2.0-flash",
            "inputs": {"prompts": ["What is in these?"], "image_url": f"{fake_google.base_url}/media/photo",
                       "images": [PNG, {"image_base64": f"data:image/png;base64,{PNG}"}]}}
    response = await post_inference(client, body, tenant.headers())
    assert response.status_code == 200, response.content
    result = response.json()
    assert result["data"]["responses"][0]["text"] == "echo: What is in these? [3 images]"
    assert result["tokens_used"]["prompt"] == 4 + 3 * IMAGE_TOKENS
    (sent,) = fake_google.requests(":generateContent")
    parts = sent.body["contents"][0]["parts"]
    assert parts[0] == {"text": "What is in these?"}
    # google-genai writes the proto field's original name and URL-safe base64; both are valid proto3 JSON
    assert [p["inlineData"]["mime_type"] for p in parts[1:]] == ["image/jpeg", "image/png", "image/png"]
    assert base64.urlsafe_b64decode(parts[1]["inlineData"]["data"]) == JPEG_BYTES
    assert base64.urlsafe_b64decode(parts[2]["inlineData"]["data"]) == PNG_BYTES


async def test_vision_refuses_what_is_not_an_image_or_not_public(tenant, client, fake_google):
    body = {"provider": "google", "model": "gemini-2.0-flash",
            "inputs": {"prompts": ["?"], "image_base64": base64.b64encode(b"plain text").decode()}}
    assert_envelope(await post_inference(client, body, tenant.headers()), 422, "ValidationError")
    body["inputs"] = {"prompts": ["?"], "image_url": f"{fake_google.base_url}/media/photo"}  # loopback
    refused = assert_envelope(await post_inference(client, body, tenant.headers()), 400, "BadRequestError")
    assert refused["error"]["details"]["reason"] == "forbidden_address"
    body["inputs"] = {"prompts": ["?"], "image_base64": "@@not base64@@"}
    assert_envelope(await post_inference(client, body, tenant.headers()), 400, "BadRequestError")
    assert fake_google.requests() == []


async def test_structured_output_sends_the_json_schema_and_parses_the_answer(tenant, client, fake_google):
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
              "additionalProperties": False}
    fake_google.script(Scripted(body=gemini_answer('{"city": "Paris"}', 5, 6)))
    body = {"provider": "google", "model": "gemini-2.5-flash", "inputs": {"prompts": ["Capital of France?"]},
            "parameters": {"schema": schema}}
    result = (await post_inference(client, body, tenant.headers())).json()
    assert result["data"]["responses"] == [{"text": '{"city": "Paris"}', "finish_reason": "stop",
                                            "structured": {"city": "Paris"}}]
    assert result["tokens_used"] == {"prompt": 5, "completion": 6, "total": 11}
    (sent,) = fake_google.requests()
    assert sent.body["generationConfig"] == {"responseMimeType": "application/json", "responseJsonSchema": schema}
    fake_google.script(Scripted(body=gemini_answer('{"city": "Par', 5, 2, "MAX_TOKENS")))
    cut = (await post_inference(client, body, tenant.headers())).json()["data"]["responses"][0]
    assert cut["finish_reason"] == "length" and cut["structured"] is None


async def test_thinking_tokens_count_as_completion(tenant, client, fake_google):
    answer = gemini_answer("42", 10, 1)
    answer["usageMetadata"]["thoughtsTokenCount"] = 30
    answer["candidates"][0]["content"]["parts"].insert(0, {"text": "Let me think...", "thought": True})
    fake_google.script(Scripted(body=answer))
    result = (await post_inference(client, {"provider": "google", "model": "gemini-2.5-flash",
                                            "inputs": {"prompts": ["?"]}}, tenant.headers())).json()
    assert result["data"]["responses"] == [{"text": "42", "finish_reason": "stop"}]
    assert result["tokens_used"] == {"prompt": 10, "completion": 31, "total": 41, "reasoning": 30}


async def test_vertex_ai_with_the_environments_service_account(tenant, client, fake_google, vertex_environment):
    response = await post_inference(client, {"provider": "google", "model": "gemini-2.0-flash",
                                             "inputs": {"prompts": ["hi there"]}}, tenant.headers())
    assert response.status_code == 200, response.content
    assert response.json()["data"]["responses"][0]["text"] == "echo: hi there"
    (sent,) = fake_google.requests()
    assert sent.path == ("/v1beta1/projects/infergate-test/locations/us-central1/publishers/google/models/"
                         "gemini-2.0-flash:generateContent")
    assert sent.headers["authorization"].startswith("Bearer ya29.") and "x-goog-api-key" not in sent.headers
    # the access token is reused by the next calls of this process
    await asyncio.gather(*(post_inference(client, {"provider": "google", "model": "gemini-2.0-flash",
                                                   "inputs": {"prompts": ["again"]}}, tenant.headers())
                           for _ in range(2)))
    assert len([r for r in fake_google.received if r.path == "/token"]) == 1
