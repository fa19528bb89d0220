"""Anthropic and Google answering 200 with a body of the wrong shape (a string where a list belongs, a
missing field, a list for an object, text that is a number), through the real ``anthropic``,
``google-genai`` and ``google-cloud-aiplatform`` SDKs against the wire-format fakes: the client gets the
documented 502 ProviderError naming the provider, never our 500, on the plain and the streaming route, and
the request leaves one usage record with that status. (OpenAI's: tests/faults/test_provider_faults.py.)"""

from __future__ import annotations

import json

import pytest

from tests.conftest import assert_envelope, ausage_records, post_inference
from tests.fakes.anthropic_server import Scripted as AnthropicScripted
from tests.fakes.google_server import Scripted as GoogleScripted

CLAUDE = {"provider": "anthropic", "model": "claude-haiku-4-5", "inputs": {"prompts": ["hello"]}}
GEMINI = {"provider": "google", "model": "gemini-2.5-flash", "inputs": {"prompts": ["hello"]}}
EMBED = {"provider": "google", "model": "multimodalembedding", "inputs": {"text": "hello"}}

MESSAGE = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
           "stop_reason": "end_turn", "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}}
ANTHROPIC_SHAPES = {
    "content_is_a_string": {**MESSAGE, "content": "none", "usage": 7},
    "fields_missing": {"id": "msg_1", "type": "message"},
    "a_list": [MESSAGE],
    "a_string": "hello",
    "text_block_without_text": {**MESSAGE, "content": [{"type": "text"}]},
    "usage_is_a_string": {**MESSAGE, "content": [{"type": "text", "text": "hi"}],
                          "usage": {"input_tokens": "many", "output_tokens": 1}},
}
ANTHROPIC_STREAMS = {
    "message_start_without_message": [("message_start", {"type": "message_start"})],
    "delta_without_delta": [
        ("message_start", {"type": "message_start", "message": {**MESSAGE, "content": []}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0})],
    "usage_is_a_string": [
        ("message_start", {"type": "message_start", "message": {**MESSAGE, "content": []}}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                           "usage": {"output_tokens": "many"}})],
}
GOOGLE_SHAPES = {
    "candidates_is_a_string": {"candidates": "none", "usageMetadata": 7},
    "a_list": [{"candidates": []}],
    "a_string": "hello",
    "parts_is_a_string": {"candidates": [{"content": {"role": "model", "parts": "hi"}, "finishReason": "STOP"}]},
    "text_is_an_object": {"candidates": [{"content": {"role": "model", "parts": [{"text": {"a": 1}}]},
                                          "finishReason": "STOP"}]},
    "token_count_is_a_string": {"candidates": [{"content": {"role": "model", "parts": [{"text": "hi"}]},
                                                "finishReason": "STOP"}],
                                "usageMetadata": {"promptTokenCount": "many"}},
}
EMBEDDING_SHAPES = {
    "predictions_is_a_string": {"predictions": "none"},
    "embedding_is_a_string": {"predictions": [{"textEmbedding": "abc"}]},
    "embedding_of_strings": {"predictions": [{"textEmbedding": ["a", "b"]}]},
    "prediction_is_a_number": {"predictions": [7]},
    "no_predictions": {},
    "a_list": [1, 2],
}


def assert_provider_error(response, provider: str) -> None:
    body = assert_envelope(response, 502, "ProviderError")
    assert body["error"]["details"] == {"provider": provider, "upstream_status": None}, body
    assert "Traceback" not in response.text


def sse_error(response) -> dict:
    assert response.status_code == 200 and "event: error" in response.text, response.text[:500]
    assert "event: done" not in response.text
    return json.loads(response.text.split("event: error\ndata: ", 1)[1].split("\n", 1)[0])["error"]


async def assert_stream_provider_error(client, target: dict, headers: dict[str, str], provider: str) -> None:
    """The stream's error event: a 502 ProviderError naming the provider."""
    response = await client.post("/v1/inference/stream", json.dumps(target), content_type="application/json",
                                 headers=headers)
    error = sse_error(response)
    assert error["status"] == 502 and error["error"]["type"] == "ProviderError", error
    assert error["error"]["details"]["provider"] == provider


async def assert_one_record(status: int = 502) -> None:
    (record,) = await ausage_records()
    assert (record.status, record.error_type) == (status, "ProviderError")


@pytest.mark.parametrize("shape", ANTHROPIC_SHAPES)
async def test_anthropic_answer_of_the_wrong_shape_is_502(tenant, client, fake_anthropic, shape):
    fake_anthropic.script(AnthropicScripted(body=ANTHROPIC_SHAPES[shape]))
    assert_provider_error(await post_inference(client, CLAUDE, tenant.headers()), "anthropic")
    assert len(fake_anthropic.requests()) == 1  # not retried: the same question gets the same answer
    await assert_one_record()


@pytest.mark.parametrize("shape", ANTHROPIC_STREAMS)
async def test_anthropic_stream_of_the_wrong_shape_is_an_error_event(tenant, client, fake_anthropic, shape):
    fake_anthropic.script(AnthropicScripted(events=ANTHROPIC_STREAMS[shape]))
    await assert_stream_provider_error(client, CLAUDE, tenant.headers(), "anthropic")


@pytest.mark.parametrize("shape", GOOGLE_SHAPES)
async def test_gemini_answer_of_the_wrong_shape_is_502(tenant, client, fake_google, shape):
    fake_google.script(GoogleScripted(body=GOOGLE_SHAPES[shape]))
    assert_provider_error(await post_inference(client, GEMINI, tenant.headers()), "google")
    assert len(fake_google.requests()) == 1
    await assert_one_record()


@pytest.mark.parametrize("shape", ["candidates_is_a_string", "parts_is_a_string", "text_is_an_object"])
async def test_gemini_stream_of_the_wrong_shape_is_an_error_event(tenant, client, fake_google, shape):
    fake_google.script(GoogleScripted(stream=[GOOGLE_SHAPES[shape]]))
    await assert_stream_provider_error(client, GEMINI, tenant.headers(), "google")


@pytest.mark.parametrize("shape", EMBEDDING_SHAPES)
async def test_vertex_embedding_of_the_wrong_shape_is_502(tenant, client, fake_google, vertex_environment, shape):
    fake_google.script(GoogleScripted(body=EMBEDDING_SHAPES[shape]))
    assert_provider_error(await post_inference(client, EMBED, tenant.headers()), "google")
    assert len(fake_google.requests()) == 1
    await assert_one_record()
