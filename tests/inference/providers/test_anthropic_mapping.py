"""The anthropic adapter's pure mapping functions, with documented Messages API payloads and the SDK's
own response and exception types: no HTTP."""

import anthropic
import httpx2
import pytest
from anthropic.types import Message as SDKMessage

from core.errors import BadRequestError, ProviderError, TimeoutError, TooManyRequestsError, ValidationError
from inference.media.images import ProviderImage
from inference.media.load import LoadedMedia
from inference.providers.anthropic import mapping
from inference.providers.anthropic.errors import error_map, retryable
from inference.types import MediaKind, Message, Usage

REQUEST = httpx2.Request("POST", "https://api.anthropic.com/v1/messages")


def sdk_message(content, stop_reason="end_turn", usage=None):
    """A Message as the SDK parses it from the documented JSON."""
    return SDKMessage.model_validate({
        "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-haiku-4-5", "content": content,
        "stop_reason": stop_reason, "stop_sequence": None,
        "usage": usage or {"input_tokens": 10, "output_tokens": 4}})


def status_error(cls, status, error_type, message="upstream said no", headers=None):
    body = {"type": "error", "error": {"type": error_type, "message": message}, "request_id": "req_1"}
    response = httpx2.Response(status, headers=headers or {}, request=REQUEST, json=body)
    return cls(f"Error code: {status}", response=response, body=body)


def test_finish_reasons():
    assert [mapping.finish_reason(r) for r in ("end_turn", "stop_sequence", "tool_use", "max_tokens",
                                               "model_context_window_exceeded", None)] == [
        "stop", "stop", "stop", "length", "length", "stop"]


def test_system_turns_join_the_top_level_system_and_images_lead_the_last_user_turn():
    conversation = (Message("system", "Be brief."), Message("user", "Hi"), Message("assistant", "Hello"),
                    Message("system", "Use French."), Message("user", "What is this?"))
    block = mapping.image_block(ProviderImage(loaded=LoadedMedia(MediaKind.IMAGE, b"\x89PNG\r\n\x1a\n", "image/png")))
    assert block == {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                 "data": "iVBORw0KGgo="}}
    assert mapping.image_block(ProviderImage(url="https://example.com/a.png")) == {
        "type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
    request = mapping.chat_request(conversation, [block])
    assert request == {"system": "Be brief.\n\nUse French.", "messages": [
        {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": [block, {"type": "text", "text": "What is this?"}]}]}
    assert "system" not in mapping.chat_request((Message("user", "Hi"),), [])
    with pytest.raises(ValidationError):
        mapping.chat_request((Message("system", "only a system prompt"),), [])


def test_options_default_max_tokens_stop_sequences_and_sampling():
    assert mapping.chat_options({}, 4096) == {"max_tokens": 4096}
    options = mapping.chat_options({"max_tokens": 10, "stop": ["END", "\n\nHuman:"], "top_p": 0.9}, 4096)
    assert options == {"max_tokens": 10, "stop_sequences": ["END", "\n\nHuman:"], "extra_body": {"top_p": 0.9},
                       "extra_headers": {"anthropic-version": "2023-06-01"}}
    assert mapping.chat_options({"stop": "END"}, 4096)["stop_sequences"] == ["END"]
    with pytest.raises(ValidationError):
        mapping.chat_options({"temperature": 0.5, "top_p": 0.9}, 4096)
    with pytest.raises(ValidationError):
        mapping.chat_options({"stop": ["END", " \n"]}, 4096)


def test_a_schema_becomes_one_forced_tool():
    schema = {"title": "Weather report!", "type": "object", "description": "The weather.",
              "properties": {"temp_c": {"type": "number"}}}
    options = mapping.chat_options({"schema": schema}, 4096)
    assert options["tools"] == [{"name": "Weather_report_", "input_schema": schema, "description": "The weather."}]
    assert options["tool_choice"] == {"type": "tool", "name": "Weather_report_"}
    tool, wrapped = mapping.structured_tool({"type": "string"})
    assert wrapped and tool["name"] == "structured_response"
    assert tool["input_schema"] == {"type": "object", "properties": {"value": {"type": "string"}},
                                    "required": ["value"]}


def test_answers_from_documented_messages():
    text = sdk_message([{"type": "text", "text": "Hello"}, {"type": "text", "text": " there"}])
    assert mapping.chat_answer(text, provider="anthropic", schema=None) == {"text": "Hello there",
                                                                           "finish_reason": "stop"}
    cut = sdk_message([{"type": "text", "text": "Hel"}], stop_reason="max_tokens")
    assert mapping.chat_answer(cut, provider="anthropic", schema=None)["finish_reason"] == "length"
    tool = sdk_message([{"type": "text", "text": "Here you go."},
                        {"type": "tool_use", "id": "toolu_01", "name": "structured_response",
                         "input": {"value": ["red", "blue"]}}], stop_reason="tool_use")
    assert mapping.chat_answer(tool, provider="anthropic", schema={"type": "array"}) == {
        "text": "[\"red\", \"blue\"]", "finish_reason": "stop", "structured": ["red", "blue"]}
    unfinished = sdk_message([{"type": "text", "text": "Let me"}], stop_reason="max_tokens")
    assert mapping.chat_answer(unfinished, provider="anthropic", schema={"type": "object"}) == {
        "text": "Let me", "finish_reason": "length", "structured": None}
    refusal = sdk_message([], stop_reason="refusal")
    with pytest.raises(BadRequestError) as caught:
        mapping.chat_answer(refusal, provider="anthropic", schema=None)
    assert caught.value.details["refused"] is True


def test_usage_counts_cached_input_as_prompt_tokens():
    usage = Usage()
    mapping.usage_add(usage, sdk_message([], usage={"input_tokens": 10, "output_tokens": 4,
                                                    "cache_creation_input_tokens": 100,
                                                    "cache_read_input_tokens": 1000}).usage)
    mapping.usage_add(usage, sdk_message([]).usage)
    mapping.usage_add(usage, None)
    assert (usage.prompt, usage.completion) == (1120, 8)


@pytest.mark.parametrize("cls,status,error_type,ours,ours_status", [
    (anthropic.AuthenticationError, 401, "authentication_error", ProviderError, 502),
    (anthropic.PermissionDeniedError, 403, "permission_error", ProviderError, 502),
    (anthropic.PaymentRequiredError, 402, "billing_error", ProviderError, 502),
    (anthropic.RateLimitError, 429, "rate_limit_error", TooManyRequestsError, 429),
    (anthropic.BadRequestError, 400, "invalid_request_error", BadRequestError, 400),
    (anthropic.NotFoundError, 404, "not_found_error", BadRequestError, 400),
    (anthropic.ContentTooLargeError, 413, "request_too_large", BadRequestError, 400),
    (anthropic.InternalServerError, 500, "api_error", ProviderError, 502),
    (anthropic.OverloadedError, 529, "overloaded_error", ProviderError, 502),
])
def test_status_errors_map_to_the_design_table(cls, status, error_type, ours, ours_status):
    error = error_map(status_error(cls, status, error_type), provider="anthropic")
    assert isinstance(error, ours) and error.status == ours_status
    assert error.details["upstream_status"] == status and error.details["upstream_type"] == error_type
    assert retryable(status_error(cls, status, error_type)) == (status >= 500)


def test_timeouts_connection_errors_retry_after_and_scrubbing():
    timeout = anthropic.APITimeoutError(request=REQUEST)
    error = error_map(timeout, provider="anthropic", timeout_s=60.0)
    assert isinstance(error, TimeoutError) and error.status == 504 and "60 s" in error.message
    connection = anthropic.APIConnectionError(request=REQUEST)
    assert error_map(connection, provider="anthropic").status == 502
    assert retryable(connection) and not retryable(timeout)
    limited = error_map(status_error(anthropic.RateLimitError, 429, "rate_limit_error",
                                     headers={"retry-after": "12"}), provider="anthropic")
    assert limited.headers == {"Retry-After": "12"} and limited.details["retry_after"] == 12
    secret = "sk-ant-api03-secret-secret-secret"
    leaky = error_map(status_error(anthropic.BadRequestError, 400, "invalid_request_error", f"bad key {secret}"),
                      provider="anthropic", secret=secret)
    assert secret not in str(leaky.envelope())
