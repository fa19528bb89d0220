"""The google provider's pure mapping functions, with documented payloads (GenerateContentResponse, the
error bodies, the multimodal embeddings response) and the SDKs' own exception types: no HTTP."""


import google.auth.exceptions
import httpx2
import pytest
import requests
from google.api_core import exceptions as core_exceptions
from google.genai import errors as genai_errors
from google.genai import types

from core.errors import BadRequestError, ProviderError, TimeoutError, TooManyRequestsError, ValidationError
from inference.media.load import LoadedMedia
from inference.providers.google import mapping
from inference.providers.google.errors import genai_error_map, retryable, scrub, vertex_error_map
from inference.types import MediaKind, Message, Tool, ToolCall, ToolChoice

REQUEST = httpx2.Request("POST", "https://generativelanguage.googleapis.com/v1beta/models/"
                                 "gemini-2.0-flash:generateContent")


def api_error(code: int, status: str, message: str = "m", details=None, headers=None) -> genai_errors.APIError:
    body = {"error": {"code": code, "message": message, "status": status, **({"details": details} if details else {})}}
    response = httpx2.Response(code, headers=headers or {}, json=body, request=REQUEST)
    cls = genai_errors.ClientError if code < 500 else genai_errors.ServerError
    return cls(code, body, response)


def vertex_error(code: int, status: str, message: str = "m", headers=None) -> core_exceptions.GoogleAPICallError:
    response = requests.Response()
    response.status_code = code
    response._content = (b'{"error": {"code": %d, "message": "%s", "status": "%s"}}'
                         % (code, message.encode(), status.encode()))
    response.headers.update(headers or {})
    return core_exceptions.from_http_status(code, f"POST https://x/predict: {message}", response=response)


@pytest.mark.parametrize("code,status,ours,ours_status", [
    (401, "UNAUTHENTICATED", ProviderError, 502),
    (403, "PERMISSION_DENIED", ProviderError, 502),
    (429, "RESOURCE_EXHAUSTED", TooManyRequestsError, 429),
    (400, "INVALID_ARGUMENT", BadRequestError, 400),
    (404, "NOT_FOUND", BadRequestError, 400),
    (500, "INTERNAL", ProviderError, 502),
    (503, "UNAVAILABLE", ProviderError, 502),
])
def test_status_errors_of_both_sdks_map_to_the_design_table(code, status, ours, ours_status):
    for error in (genai_error_map(api_error(code, status), provider="google"),
                  vertex_error_map(vertex_error(code, status), provider="google")):
        assert isinstance(error, ours) and error.status == ours_status
        assert error.details["upstream_status"] == code and error.details["upstream_code"] == status


def test_a_wrong_api_key_is_a_credentials_error_not_a_bad_request():
    info = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
            "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}
    error = genai_error_map(api_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
                                      [info]), provider="google")
    assert isinstance(error, ProviderError) and error.status == 502


def test_retry_after_from_the_header_or_the_retry_info_detail():
    assert genai_error_map(api_error(429, "RESOURCE_EXHAUSTED", headers={"retry-after": "12"}),
                           provider="google").headers == {"Retry-After": "12"}
    detail = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.5s"}
    error = genai_error_map(api_error(429, "RESOURCE_EXHAUSTED", details=[detail]), provider="google")
    assert error.headers == {"Retry-After": "1"} and error.details["retry_after"] == 1
    assert genai_error_map(api_error(429, "RESOURCE_EXHAUSTED"), provider="google").headers == {}
    assert vertex_error_map(vertex_error(429, "RESOURCE_EXHAUSTED", headers={"Retry-After": "3"}),
                            provider="google").headers == {"Retry-After": "3"}


def test_timeouts_connections_tokens_and_what_is_retried():
    timeout = httpx2.ReadTimeout("timed out", request=REQUEST)
    error = genai_error_map(timeout, provider="google", timeout_s=60.0)
    assert isinstance(error, TimeoutError) and "60 s" in error.message
    assert vertex_error_map(requests.ReadTimeout(), provider="google", timeout_s=5.0).status == 504
    connection = httpx2.ConnectError("refused", request=REQUEST)
    assert genai_error_map(connection, provider="google").details == {"provider": "google", "upstream_status": None}
    assert vertex_error_map(requests.ConnectionError(), provider="google").status == 502
    refresh = google.auth.exceptions.RefreshError("invalid_grant: Invalid JWT Signature.")
    assert genai_error_map(refresh, provider="google").status == 502
    assert retryable(connection) and retryable(requests.ConnectionError())
    assert retryable(api_error(503, "UNAVAILABLE")) and retryable(api_error(500, "INTERNAL"))
    assert retryable(vertex_error(502, "UNAVAILABLE"))
    assert not retryable(timeout) and not retryable(requests.ReadTimeout())
    assert not retryable(api_error(429, "RESOURCE_EXHAUSTED")) and not retryable(api_error(403, "PERMISSION_DENIED"))
    assert not retryable(refresh)


def test_secrets_are_scrubbed_from_upstream_messages():
    key = "AIzaSyA-secret-key-0123456789abcdefgh"
    error = genai_error_map(api_error(400, "INVALID_ARGUMENT", f"bad key {key} and token ya29.a0Abc-123"),
                            provider="google")
    assert key not in error.message and "ya29.a0" not in error.message
    assert scrub("x -----BEGIN PRIVATE KEY-----MIIEvQIB\\nMore", None) == "x [redacted]"


def response(payload: dict) -> types.GenerateContentResponse:
    return types.GenerateContentResponse.model_validate(payload)


def test_documented_responses_become_answers():
    ok = response({"candidates": [{"content": {"parts": [{"text": "Paris"}, {"text": "."}], "role": "model"},
                                   "finishReason": "STOP", "index": 0}],
                   "usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 2, "totalTokenCount": 9}})
    assert mapping.chat_answer(ok, provider="google", structured=False) == {"text": "Paris.", "finish_reason": "stop"}
    usage = mapping.usage_counts(ok.usage_metadata) + mapping.usage_counts(None)
    assert (usage.prompt, usage.completion) == (7, 2)
    cut = response({"candidates": [{"content": {"parts": [{"text": '{"a": '}], "role": "model"},
                                    "finishReason": "MAX_TOKENS"}]})
    assert mapping.chat_answer(cut, provider="google", structured=True) == {
        "text": '{"a": ', "finish_reason": "length", "structured": None}
    other = response({"candidates": [{"content": {"parts": [{"text": "x"}]},
                                      "finishReason": "MALFORMED_FUNCTION_CALL"}]})
    assert mapping.chat_answer(other, provider="google", structured=False)["finish_reason"] == "malformed_function_call"


@pytest.mark.parametrize("payload,reason", [
    ({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}}, "PROHIBITED_CONTENT"),
    ({"promptFeedback": {"blockReason": "SAFETY", "safetyRatings": [
        {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "HIGH"}]}}, "SAFETY"),
    ({"candidates": [{"finishReason": "SAFETY", "safetyRatings": []}]}, "SAFETY"),
    ({"candidates": [{"finishReason": "RECITATION"}]}, "RECITATION"),
])
def test_blocked_prompts_and_withheld_answers_are_refusals(payload, reason):
    with pytest.raises(BadRequestError) as caught:
        mapping.chat_answer(response(payload), provider="google", structured=False)
    assert caught.value.details == {"provider": "google", "reason": reason, "refused": True}


def test_contents_roles_system_and_images():
    conversation = (Message("system", "Be brief."), Message("user", "first"), Message("assistant", "a"),
                    Message("user", "second"))
    png = LoadedMedia(kind=MediaKind.IMAGE, data=b"\x89PNG", mime="image/png")
    contents, system = mapping.chat_contents(conversation, [png])
    assert system == "Be brief."
    assert [c.role for c in contents] == ["user", "model", "user"]
    assert contents[0].parts == [types.Part(text="first")]
    assert contents[2].parts[1].inline_data == types.Blob(mime_type="image/png", data=b"\x89PNG")
    assert mapping.chat_contents((Message("user", "x"),), [])[1] is None


def test_generation_config_and_the_schema():
    config = mapping.generation_config({"temperature": 0, "max_tokens": 5, "stop": "END", "schema": {"type": "object"}},
                                       "sys")
    assert config.temperature == 0 and config.max_output_tokens == 5 and config.stop_sequences == ["END"]
    assert config.response_mime_type == "application/json" and config.response_json_schema == {"type": "object"}
    assert config.system_instruction == "sys" and config.response_schema is None


WEATHER = Tool("get_weather", "The weather in a city now.",
               {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}, strict=True)
CLOCK = Tool("get_time")


def test_tools_are_function_declarations_and_the_choice_a_calling_mode():
    config = mapping.generation_config({"tools": [], "tool_choice": "auto", "parallel_tool_calls": True},
                                       tools=(WEATHER, CLOCK), choice=ToolChoice("auto"))
    (tool,) = config.tools
    assert tool.function_declarations == [
        types.FunctionDeclaration(name="get_weather", description="The weather in a city now.",
                                  parameters_json_schema=WEATHER.parameters),
        types.FunctionDeclaration(name="get_time")]
    modes = {choice: mapping.generation_config({}, tools=(WEATHER,), choice=choice).tool_config.function_calling_config
             for choice in (ToolChoice("auto"), ToolChoice("none"), ToolChoice("required"),
                            ToolChoice("function", "get_weather"))}
    assert [(c.mode, c.allowed_function_names) for c in modes.values()] == [
        ("AUTO", None), ("NONE", None), ("ANY", None), ("ANY", ["get_weather"])]
    # no tools: no declarations, and no calling mode (tool_choice none alone is allowed)
    bare = mapping.generation_config({"tool_choice": "none"}, choice=ToolChoice("none"))
    assert bare.tools is None and bare.tool_config is None


@pytest.mark.parametrize("value,problem", [(False, "several functions in one turn"), ("no", "must be true or false"),
                                           (None, "must be true or false")])
def test_parallel_tool_calls_cannot_be_turned_off(value, problem):
    with pytest.raises(ValidationError) as caught:
        mapping.generation_config({"parallel_tool_calls": value}, tools=(WEATHER,))
    (error,) = caught.value.problems
    assert error["field"] == "parameters.parallel_tool_calls" and problem in error["problem"]


def test_tool_turns_become_function_calls_and_responses():
    asked = ToolCall("abc-1", "get_weather", '{"city": "Paris"}')  # Gemini's own id
    ours = ToolCall(mapping.synthesized_call_id("r1", 1, "get_time", "{}"), "get_time", "")
    conversation = (Message("user", "Weather and time in Paris?"), Message("assistant", "Looking.", (asked, ours)),
                    Message("tool", "18 degrees", tool_call_id="abc-1"),
                    Message("tool", '{"time": "12:00"}', tool_call_id=ours.id), Message("user", "Thanks."))
    png = LoadedMedia(kind=MediaKind.IMAGE, data=b"\x89PNG", mime="image/png")
    contents, _ = mapping.chat_contents(conversation, [png])
    assert [c.role for c in contents] == ["user", "model", "user", "user"]
    text, first, second = contents[1].parts
    assert text == types.Part(text="Looking.")
    assert first.function_call == types.FunctionCall(id="abc-1", name="get_weather", args={"city": "Paris"})
    assert second.function_call == types.FunctionCall(name="get_time", args={})  # our id is not Gemini's
    # the first call of the turn carries the documented stand-in signature, as the string itself on the wire
    assert first.model_dump(mode="json", exclude_none=True)["thought_signature"] == "skip_thought_signature_validator"
    assert second.thought_signature is None
    # both results in one content, named after their calls; a JSON object goes as itself
    assert [p.function_response for p in contents[2].parts] == [
        types.FunctionResponse(id="abc-1", name="get_weather", response={"result": "18 degrees"}),
        types.FunctionResponse(name="get_time", response={"time": "12:00"})]
    assert contents[3].parts[1].inline_data.data == b"\x89PNG"  # images go with the last user text
    # a turn that only called: no text part; a result that is JSON but no object is text
    contents, _ = mapping.chat_contents((Message("user", "x"), Message("assistant", "", (asked,)),
                                         Message("tool", "[1, 2]", tool_call_id="abc-1")), [])
    assert [p.function_call.name for p in contents[1].parts] == ["get_weather"]
    assert contents[2].parts[0].function_response.response == {"result": "[1, 2]"}


def test_function_calls_become_tool_calls():
    payload = {"candidates": [{"content": {"role": "model", "parts": [
        {"text": "Let me check."}, {"text": "hidden", "thought": True},
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "c2ln"},
        {"functionCall": {"id": "g-7", "name": "get_time"}}]}, "finishReason": "STOP"}], "responseId": "r1"}
    answer = mapping.chat_answer(response(payload), provider="google", structured=False)
    assert answer["text"] == "Let me check." and answer["finish_reason"] == "tool_calls"
    synthesized, own = answer["tool_calls"]
    assert synthesized == {"id": mapping.synthesized_call_id("r1", 0, "get_weather", '{"city": "Paris"}'),
                           "name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert own == {"id": "g-7", "name": "get_time", "arguments": "{}"}
    # the same answer gets the same ids; another answer of the conversation other ids
    assert mapping.chat_answer(response(payload), provider="google", structured=False) == answer
    other = mapping.chat_answer(response({**payload, "responseId": "r2"}), provider="google", structured=False)
    assert other["tool_calls"][0]["id"] != synthesized["id"]
    # an id a client could not send back to us is replaced by one of ours
    odd = {"candidates": [{"content": {"role": "model", "parts": [{"functionCall": {"id": "a b", "name": "f"}}]}}]}
    assert mapping.candidate_calls(response(odd))[0].id.startswith(mapping.SYNTHESIZED_ID)
    # a stream numbers its calls across chunks
    assert [c.id for c in mapping.candidate_calls(response(payload), first=3)][0].endswith("_3")
    nameless = {"candidates": [{"content": {"role": "model", "parts": [{"functionCall": {"args": {}}}]}}]}
    with pytest.raises(ProviderError):
        mapping.chat_answer(response(nameless), provider="google", structured=False)


def test_embedding_requests_and_documented_responses():
    image = LoadedMedia(kind=MediaKind.IMAGE, data=b"\xff\xd8\xff", mime="image/jpeg")
    instance, parameters = mapping.embedding_request(text=None, media=image, parameters={"dimension": 256})
    assert instance == {"image": {"bytesBase64Encoded": "/9j/", "mimeType": "image/jpeg"}}
    assert parameters == {"dimension": 256}
    clip = LoadedMedia(kind=MediaKind.VIDEO, data=b"\x00\x00\x00\x18ftypmp42", mime="video/mp4")
    instance, parameters = mapping.embedding_request(text=None, media=clip, parameters={"interval_s": 8})
    assert instance["video"]["videoSegmentConfig"] == {"intervalSec": 8} and parameters == {}
    with pytest.raises(ValidationError):
        mapping.embedding_request(text=None, media=clip, parameters={"dimension": 512})
    with pytest.raises(ValidationError):
        mapping.embedding_request(text="x", media=None, parameters={"dimension": 1000})
    # the documented response shapes (proto3 JSON: a zero startOffsetSec is left out)
    assert mapping.embedding_data({"predictions": [{"textEmbedding": [0.1, 0.2]}], "deployedModelId": "1"}, None,
                                  provider="google") == {
        "embedding": [0.1, 0.2], "dimensions": 2}
    assert mapping.embedding_data({"predictions": [{"imageEmbedding": [1, 0]}]}, MediaKind.IMAGE,
                                  provider="google") == {
        "embedding": [1.0, 0.0], "dimensions": 2}
    video = {"predictions": [{"videoEmbeddings": [{"endOffsetSec": 16, "embedding": [0.5]},
                                                  {"startOffsetSec": 16, "endOffsetSec": 30, "embedding": [0.25]}]}]}
    assert mapping.embedding_data(video, MediaKind.VIDEO, provider="google") == {"segments": [
        {"start_s": 0.0, "end_s": 16.0, "embedding": [0.5]}, {"start_s": 16.0, "end_s": 30.0, "embedding": [0.25]}],
        "dimensions": 1}
    # an answer without the embedding asked for is the provider's fault (502), not an empty vector
    for wrong, kind in (({}, None), ({"predictions": []}, None), ({"predictions": [{}]}, None),
                        ({"predictions": [{"textEmbedding": []}]}, None), ({"predictions": [{"textEmbedding": "12"}]}, None),
                        ({"predictions": [{"textEmbedding": [0.1]}]}, MediaKind.IMAGE),
                        ({"predictions": [{"videoEmbeddings": []}]}, MediaKind.VIDEO)):
        with pytest.raises(ProviderError) as caught:
            mapping.embedding_data(wrong, kind, provider="google")
        assert caught.value.details == {"provider": "google", "upstream_status": None}
