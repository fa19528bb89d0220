"""The anthropic adapter's pure mapping functions, with documented Messages API payloads and the SDK's
own response and exception types: no HTTP."""

import json

import anthropic
import httpx2
import pytest
from anthropic.lib.streaming import InputJsonEvent
from anthropic.types import Message as SDKMessage
from anthropic.types import RawContentBlockDeltaEvent, RawContentBlockStartEvent

from core.errors import BadRequestError, ProviderError, TimeoutError, TooManyRequestsError, ValidationError
from inference.media.images import ProviderImage
from inference.media.load import LoadedMedia
from inference.providers.anthropic import mapping
from inference.providers.anthropic.errors import error_map, retryable
from inference.types import MediaKind, Message, Tool, ToolCall, ToolCallDelta, ToolChoice, Usage

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


WEATHER = Tool("get_weather", "The weather in a city now.",
               {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
CLOCK = Tool("get_time")  # no description, no arguments


def test_finish_reasons():
    assert [mapping.finish_reason(r) for r in ("end_turn", "stop_sequence", "tool_use", "max_tokens",
                                               "model_context_window_exceeded", None)] == [
        "stop", "stop", "stop", "length", "length", "stop"]
    assert mapping.finish_reason("tool_use", called=True) == "tool_calls"
    assert mapping.finish_reason("max_tokens", called=True) == "length"


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


def test_tools_and_tool_choice_in_anthropic_shapes():
    options = mapping.chat_options({"tools": [], "tool_choice": "auto"}, 4096, (WEATHER, CLOCK), ToolChoice("auto"))
    assert options == {"max_tokens": 4096, "tool_choice": {"type": "auto"}, "tools": [
        {"name": "get_weather", "description": "The weather in a city now.", "input_schema": WEATHER.parameters},
        {"name": "get_time", "input_schema": {"type": "object", "properties": {}}}]}
    untyped = Tool("f", parameters={"properties": {"x": {"type": "integer"}}}, strict=True)
    assert mapping.tool_definitions((untyped,)) == [
        {"name": "f", "input_schema": {"type": "object", "properties": {"x": {"type": "integer"}}}, "strict": True}]
    choices = [(ToolChoice("auto"), {"type": "auto"}), (ToolChoice("required"), {"type": "any"}),
               (ToolChoice("none"), {"type": "none"}), (ToolChoice("function", "get_time"),
                                                        {"type": "tool", "name": "get_time"})]
    for choice, expected in choices:
        assert mapping.tool_choice(choice, parallel=None) == expected
        assert mapping.tool_choice(choice, parallel=True) == expected
    assert mapping.tool_choice(None, parallel=None) is None  # Anthropic's default: auto, in parallel


def test_parallel_tool_calls_is_disable_parallel_tool_use_and_never_a_body_field():
    assert mapping.tool_choice(None, parallel=False) == {"type": "auto", "disable_parallel_tool_use": True}
    assert mapping.tool_choice(ToolChoice("required"), parallel=False) == {"type": "any",
                                                                          "disable_parallel_tool_use": True}
    assert mapping.tool_choice(ToolChoice("function", "f"), parallel=False) == {
        "type": "tool", "name": "f", "disable_parallel_tool_use": True}
    assert mapping.tool_choice(ToolChoice("none"), parallel=False) == {"type": "none"}
    parameters = {"tools": [], "tool_choice": "auto", "parallel_tool_calls": False, "thinking": {"type": "disabled"}}
    options = mapping.chat_options(parameters, 4096, (WEATHER,), None)
    assert options["extra_body"] == {"thinking": {"type": "disabled"}}
    assert options["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    # Without tools there is nothing to choose or to call in parallel: none of it is sent.
    assert mapping.chat_options({"parallel_tool_calls": False, "tool_choice": "none"}, 4096, (),
                                ToolChoice("none")) == {"max_tokens": 4096}
    with pytest.raises(ValidationError) as caught:
        mapping.chat_options({"parallel_tool_calls": "no"}, 4096, (WEATHER,))
    assert caught.value.problems[0]["field"] == "parameters.parallel_tool_calls"


def test_a_schema_does_not_go_with_the_clients_tools():
    with pytest.raises(ValidationError) as caught:
        mapping.chat_options({"schema": {"type": "object"}, "tools": []}, 4096, (WEATHER,))
    assert caught.value.problems[0]["field"] == "parameters.schema"
    # tool_choice none without tools leaves the schema's own forced tool alone
    options = mapping.chat_options({"schema": {"type": "object"}, "tool_choice": "none"}, 4096, (), ToolChoice("none"))
    assert options["tool_choice"] == {"type": "tool", "name": "structured_response"}


def test_tool_turns_become_tool_use_and_tool_result_blocks():
    calls = (ToolCall("toolu_1", "get_weather", '{"city": "Paris"}'), ToolCall("toolu_2", "get_time", ""))
    conversation = (Message("system", "Be brief."), Message("user", "Weather and time in Paris?"),
                    Message("assistant", "Let me look.", tool_calls=calls),
                    Message("tool", "rain", tool_call_id="toolu_1"), Message("system", "Use French."),
                    Message("tool", "14:00", tool_call_id="toolu_2"), Message("user", "And tomorrow?"))
    request = mapping.chat_request(conversation, [])
    assert request["system"] == "Be brief.\n\nUse French."
    assert request["messages"] == [
        {"role": "user", "content": "Weather and time in Paris?"},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Let me look."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "rain"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": "14:00"},
            {"type": "text", "text": "And tomorrow?"}]}]
    silent = mapping.chat_request((Message("user", "Hi"), Message("assistant", "", tool_calls=calls[:1]),
                                   Message("tool", "", tool_call_id="toolu_1")), [])["messages"]
    assert silent[1]["content"] == [{"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                                     "input": {"city": "Paris"}}]
    assert silent[2]["content"] == [{"type": "tool_result", "tool_use_id": "toolu_1"}]


def test_arguments_that_are_no_object_and_ids_anthropic_would_refuse():
    calls = (ToolCall("call.1:a", "f", "[1, 2]"), ToolCall("call_1_a", "f", "not json"))
    conversation = (Message("user", "Hi"), Message("assistant", "", tool_calls=calls),
                    Message("tool", "one", tool_call_id="call.1:a"), Message("tool", "two", tool_call_id="call_1_a"))
    assistant, results = mapping.chat_request(conversation, [])["messages"][1:]
    uses = assistant["content"]
    assert [use["input"] for use in uses] == [{"value": [1, 2]}, {"text": "not json"}]
    assert uses[0]["id"].startswith("call_1_a_") and uses[1]["id"] == "call_1_a"  # never the same id
    assert [result["tool_use_id"] for result in results["content"]] == [use["id"] for use in uses]
    assert mapping.tool_use_id("call.1:a") == uses[0]["id"]  # the same every time


def test_images_go_after_the_results_and_before_the_users_text():
    image = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
    call = ToolCall("toolu_1", "describe", "{}")
    conversation = (Message("user", "What is this?"), Message("assistant", "", tool_calls=(call,)),
                    Message("tool", "a cat", tool_call_id="toolu_1"), Message("user", "Sure?"))
    last = mapping.chat_request(conversation, [image])["messages"][-1]
    assert last["content"] == [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "a cat"}, image,
                               {"type": "text", "text": "Sure?"}]
    # results only: the images go with the user's question before them
    first, _, results = mapping.chat_request(conversation[:3], [image])["messages"]
    assert first["content"] == [image, {"type": "text", "text": "What is this?"}]
    assert results["content"] == [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "a cat"}]


def test_tool_use_answers_are_tool_calls():
    called = sdk_message([{"type": "text", "text": "Checking."},
                          {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Zürich"}},
                          {"type": "tool_use", "id": "toolu_02", "name": "get_time", "input": {}}], stop_reason="tool_use")
    answer = mapping.chat_answer(called, provider="anthropic", schema=None)
    assert answer == {"text": "Checking.", "finish_reason": "tool_calls", "tool_calls": [
        {"id": "toolu_01", "name": "get_weather", "arguments": '{"city": "Zürich"}'},
        {"id": "toolu_02", "name": "get_time", "arguments": "{}"}]}
    assert json.loads(answer["tool_calls"][0]["arguments"]) == {"city": "Zürich"}
    assert "tool_calls" not in mapping.chat_answer(sdk_message([{"type": "text", "text": "Hi"}]), provider="anthropic",
                                                   schema=None)


def test_streamed_tool_use_blocks_are_call_pieces():
    def start(index, block):
        return RawContentBlockStartEvent.model_validate({"type": "content_block_start", "index": index,
                                                         "content_block": block})

    def delta(index, delta):
        return RawContentBlockDeltaEvent.model_validate({"type": "content_block_delta", "index": index,
                                                         "delta": delta})

    events = [start(0, {"type": "text", "text": ""}), delta(0, {"type": "text_delta", "text": "Checking."}),
              start(1, {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {}}),
              delta(1, {"type": "input_json_delta", "partial_json": '{"city": '}),
              InputJsonEvent(type="input_json", partial_json='{"city": ', snapshot={}),  # the SDK's own, repeated
              delta(1, {"type": "input_json_delta", "partial_json": '"Paris"}'}),
              start(2, {"type": "server_tool_use", "id": "srvtoolu_01", "name": "web_search", "input": {}}),
              delta(2, {"type": "input_json_delta", "partial_json": '{"query": "x"}'}),
              start(3, {"type": "tool_use", "id": "toolu_02", "name": "get_time", "input": {}}),
              delta(3, {"type": "input_json_delta", "partial_json": ""})]
    positions: dict[int, int] = {}
    pieces = [mapping.tool_call_piece(event, 1, positions) for event in events]
    assert [piece for piece in pieces if piece is not None] == [
        ToolCallDelta(1, 0, "toolu_01", "get_weather", ""), ToolCallDelta(1, 0, None, None, '{"city": '),
        ToolCallDelta(1, 0, None, None, '"Paris"}'), ToolCallDelta(1, 1, "toolu_02", "get_time", ""),
        ToolCallDelta(1, 1, None, None, "")]


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
