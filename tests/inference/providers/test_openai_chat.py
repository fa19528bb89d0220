"""The openai adapter through the real SDK against the wire-format fake: chat, vision, structured
output, embeddings, transcription, and an OpenAI-compatible provider built from configuration."""

import base64
import json
import struct

from tests.conftest import assert_envelope, ausage_records, post_inference
from tests.fakes.openai_server import GOOD_KEY, Scripted

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32).decode()


def wav(seconds: float = 0.1, rate: int = 8000) -> str:
    frames = b"\x00\x00" * int(seconds * rate)
    header = (b"RIFF" + struct.pack("<I", 36 + len(frames)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate,
              rate * 2, 2, 16) + b"data" + struct.pack("<I", len(frames)))
    return base64.b64encode(header + frames).decode()


async def test_prompts_batch_each_one_completion_with_usage_and_cost(tenant, client, fake_openai):
    body = {"provider": "openai", "model": "gpt-4o-mini",
            "inputs": {"prompts": ["What is the capital of France?", "Name a colour."], "system": "Be brief."},
            "parameters": {"temperature": 0.2, "max_tokens": 50, "seed": 7, "stop": ["\n"]}}
    response = await post_inference(client, body, tenant.headers())
    assert response.status_code == 200, response.content
    result = response.json()
    assert result["provider"] == "openai" and result["model"] == "gpt-4o-mini" and result["cached"] is False
    assert result["data"] == {"responses": [
        {"text": "echo: What is the capital of France?", "finish_reason": "stop"},
        {"text": "echo: Name a colour.", "finish_reason": "stop"}]}
    sent = fake_openai.requests("/v1/chat/completions")
    assert len(sent) == 2
    for request in sent:
        assert request.headers["authorization"] == f"Bearer {GOOD_KEY}"
        assert request.headers["content-type"] == "application/json"
        assert request.body["model"] == "gpt-4o-mini"
        assert request.body["messages"][0] == {"role": "system", "content": "Be brief."}
        assert (request.body["temperature"], request.body["max_completion_tokens"], request.body["seed"],
                request.body["stop"]) == (0.2, 50, 7, ["\n"])
        assert "max_tokens" not in request.body
    assert sorted(r.body["messages"][1]["content"] for r in sent) == ["Name a colour.", "What is the capital of France?"]
    # usage from the provider's fields (the fake counts words): prompts 2+6 and 2+3, answers 7 and 4
    assert result["tokens_used"] == {"prompt": 13, "completion": 11, "total": 24}
    (record,) = await ausage_records()
    assert (record.provider, record.model, record.modality, record.status) == ("openai", "gpt-4o-mini", "chat", 200)
    assert record.prompt_tokens == 13 and record.completion_tokens == 11
    # gpt-4o-mini: $0.15 / $0.60 per million tokens (genai-prices)
    assert float(record.cost_usd) == round((13 * 0.15 + 11 * 0.6) / 1e6, 8)
    assert record.price_version.startswith("genai-prices ")  # the table the price came from


async def test_messages_are_one_conversation(tenant, client, fake_openai):
    messages = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "Name a primary colour."}]
    body = {"provider": "openai", "model": "gpt-4o", "inputs": {"messages": messages}}
    result = (await post_inference(client, body, tenant.headers())).json()
    assert result["data"]["responses"] == [{"text": "echo: Name a primary colour.", "finish_reason": "stop"}]
    (sent,) = fake_openai.requests()
    assert sent.body == {"model": "gpt-4o", "messages": messages}


async def test_vision_urls_pass_through_where_allowed_and_base64_becomes_data_urls(tenant, client, fake_openai,
                                                                                  settings):
    # This namespace lets OpenAI fetch its image URLs (tests/inference/providers/test_openai_media.py: the
    # default, where Infergate fetches them).
    settings.INFERGATE = {**settings.INFERGATE, "MEDIA": {**settings.INFERGATE["MEDIA"],
                                                          "PASS_URLS": [tenant.namespace.id]}}
    body = {"provider": "openai", "model": "gpt-4o-mini",
            "inputs": {"prompts": ["What is in this picture?"], "image_url": "https://example.com/cat.png",
                       "image_base64": PNG, "images": ["https://example.com/dog.jpg", {"image_base64": PNG}]}}
    response = await post_inference(client, body, tenant.headers())
    assert response.status_code == 200, response.content
    assert response.json()["data"]["responses"][0]["text"] == "echo: What is in this picture? [4 images]"
    (sent,) = fake_openai.requests()
    (user,) = sent.body["messages"]
    data_url = f"data:image/png;base64,{PNG}"
    assert user["content"] == [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        {"type": "image_url", "image_url": {"url": data_url}},
        {"type": "image_url", "image_url": {"url": "https://example.com/dog.jpg"}},
        {"type": "image_url", "image_url": {"url": data_url}}]
    (record,) = await ausage_records()
    assert record.modality == "vision"


async def test_vision_input_problems_are_client_errors(tenant, client, fake_openai):
    target = {"provider": "openai", "model": "gpt-4o-mini"}
    bad_base64 = await post_inference(client, {**target, "inputs": {"prompts": ["?"], "image_base64": "not*base64"}},
                                      tenant.headers())
    assert_envelope(bad_base64, 400, "BadRequestError")
    not_an_image = base64.b64encode(b"plain text, not pixels").decode()
    assert_envelope(await post_inference(client, {**target, "inputs": {"prompts": ["?"], "image_base64": not_an_image}},
                                         tenant.headers()), 422, "ValidationError")
    body = assert_envelope(await post_inference(client, {**target, "inputs": {"prompts": ["?"],
                                                                              "image_url": "file:///etc/passwd"}},
                                                tenant.headers()), 422, "ValidationError")
    assert body["error"]["details"]["errors"][0]["field"] == "inputs.image_url"
    assert fake_openai.requests() == []


async def test_structured_output_sends_the_schema_and_parses_the_answer(tenant, client, fake_openai):
    schema = {"title": "City answer", "type": "object", "properties": {"city": {"type": "string"}},
              "required": ["city"]}
    fake_openai.script(Scripted(body={
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": "{\"city\": \"Paris\"}", "refusal": None}}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 6, "total_tokens": 26}}))
    body = {"provider": "openai", "model": "gpt-4o-mini", "inputs": {"prompts": ["Capital of France?"]},
            "parameters": {"schema": schema}}
    result = (await post_inference(client, body, tenant.headers())).json()
    assert result["data"]["responses"] == [{"text": "{\"city\": \"Paris\"}", "finish_reason": "stop",
                                            "structured": {"city": "Paris"}}]
    assert result["tokens_used"] == {"prompt": 20, "completion": 6, "total": 26}
    (sent,) = fake_openai.requests()
    assert sent.body["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "City_answer", "schema": schema, "strict": False}}


async def test_text_embeddings_single_and_batch_with_dimensions(tenant, client, fake_openai):
    one = (await post_inference(client, {"provider": "openai", "model": "text-embedding-3-small",
                                         "inputs": {"text": "machine learning"}}, tenant.headers())).json()
    assert one["data"]["dimensions"] == 1536 and len(one["data"]["embedding"]) == 1536
    assert one["tokens_used"] == {"prompt": 2, "completion": 0, "total": 2}
    many = await post_inference(client, {"provider": "openai", "model": "text-embedding-3-large",
                                         "inputs": {"texts": ["a b", "c"]}, "parameters": {"dimensions": 256}},
                                tenant.headers())
    assert many.status_code == 200, many.content
    data = many.json()["data"]
    assert data["dimensions"] == 256 and [len(v) for v in data["embeddings"]] == [256, 256]
    first, second = fake_openai.requests("/v1/embeddings")
    assert first.body == {"model": "text-embedding-3-small", "input": ["machine learning"], "encoding_format": "float"}
    assert second.body == {"model": "text-embedding-3-large", "input": ["a b", "c"], "encoding_format": "float",
                           "dimensions": 256}
    assert_envelope(await post_inference(client, {"provider": "openai", "model": "text-embedding-ada-002",
                                                  "inputs": {"text": "x"}, "parameters": {"dimensions": 8}},
                                         tenant.headers()), 422, "ValidationError")


async def test_transcription_of_base64_audio(tenant, client, fake_openai):
    audio = wav()
    whisper = await post_inference(client, {"provider": "openai", "model": "whisper-1",
                                            "inputs": {"audio_base64": audio}, "parameters": {"language": "en"}},
                                   tenant.headers())
    assert whisper.status_code == 200, whisper.content
    size = len(base64.b64decode(audio))
    assert whisper.json()["data"] == {"text": f"heard {size} bytes of wav", "language": "english", "duration_s": 1.5,
                                      "segments": [{"start_s": 0.0, "end_s": 1.5, "text": f"heard {size} bytes of wav"}]}
    (sent,) = fake_openai.requests("/v1/audio/transcriptions")
    assert sent.headers["content-type"].startswith("multipart/form-data")
    assert sent.body["fields"] == {"model": "whisper-1", "language": "en", "response_format": "verbose_json"}
    assert sent.body["files"]["file"][0] == "audio.wav" and len(sent.body["files"]["file"][2]) == size
    transcribe = (await post_inference(client, {"provider": "openai", "model": "gpt-4o-transcribe",
                                                "inputs": {"audio_base64": audio}}, tenant.headers())).json()
    assert transcribe["data"]["language"] is None and transcribe["data"]["segments"] == []
    assert transcribe["tokens_used"] == {"prompt": 12, "completion": 5, "total": 17}


async def test_bytes_that_are_not_audio_are_422(tenant, client, fake_openai):
    body = assert_envelope(await post_inference(client, {"provider": "openai", "model": "whisper-1", "inputs": {
        "audio_base64": base64.b64encode(b"not audio at all").decode()}}, tenant.headers()), 422, "ValidationError")
    assert body["error"]["details"]["errors"][0]["field"] == "inputs.audio_base64"
    assert fake_openai.requests() == []


async def test_compatible_provider_from_configuration(tenant, client, fake_openai):
    chat = await post_inference(client, {"provider": "fakecompat", "model": "compat-chat",
                                         "inputs": {"prompts": ["hello"]}, "parameters": {"max_tokens": 9}},
                                tenant.headers())
    assert chat.status_code == 200, chat.content
    assert chat.json()["provider"] == "fakecompat"
    assert chat.json()["data"]["responses"][0]["text"] == "echo: hello"
    embed = (await post_inference(client, {"provider": "fakecompat", "model": "compat-embed",
                                           "inputs": {"texts": ["x"]}}, tenant.headers())).json()
    assert embed["data"]["dimensions"] == 8
    sent_chat, _ = fake_openai.requests()
    assert sent_chat.body["max_tokens"] == 9 and "max_completion_tokens" not in sent_chat.body
    catalog = {m["id"]: m for m in (await client.get("/v1/models", headers=tenant.headers())).json()["data"]}
    assert catalog["fakecompat/compat-embed"]["modalities"] == ["text_embedding"]
    assert catalog["openai/gpt-4o-mini"]["price"]["prompt_per_million"] == 0.15
    assert json.loads(json.dumps(catalog["openai/whisper-1"]["input_keys"])) == ["audio_base64", "audio_url"]
