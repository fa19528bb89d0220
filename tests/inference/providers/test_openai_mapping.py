"""The openai adapter's pure mapping functions, with documented payloads and the SDK's own exception
types: no HTTP."""

import base64
from types import SimpleNamespace

import httpx2
import openai
import pytest

from core.errors import BadRequestError, ProviderError, TimeoutError, TooManyRequestsError, ValidationError
from inference.media.images import ProviderImage
from inference.media.load import LoadedMedia
from inference.providers.openai import mapping
from inference.providers.openai.client import backoff_seconds
from inference.providers.openai.errors import error_map, retry_after_seconds, retryable, scrub
from inference.types import InferenceCall, MediaKind, Message, Modality, Usage

REQUEST = httpx2.Request("POST", "https://api.openai.com/v1/chat/completions")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8


def status_error(cls, status, body=None, headers=None):
    response = httpx2.Response(status, headers=headers or {}, request=REQUEST)
    return cls("upstream said no", response=response, body=body)


@pytest.mark.parametrize("cls,status,ours,ours_status", [
    (openai.AuthenticationError, 401, ProviderError, 502),
    (openai.PermissionDeniedError, 403, ProviderError, 502),
    (openai.RateLimitError, 429, TooManyRequestsError, 429),
    (openai.BadRequestError, 400, BadRequestError, 400),
    (openai.NotFoundError, 404, BadRequestError, 400),
    (openai.UnprocessableEntityError, 422, BadRequestError, 400),
    (openai.InternalServerError, 500, ProviderError, 502),
    (openai.InternalServerError, 503, ProviderError, 502),
])
def test_status_errors_map_to_the_design_table(cls, status, ours, ours_status):
    error = error_map(status_error(cls, status, {"error": {"message": "m", "code": "c"}}), provider="openai")
    assert isinstance(error, ours) and error.status == ours_status
    assert error.details["upstream_status"] == status and error.details["provider"] == "openai"


def test_timeouts_connection_errors_and_what_is_retried():
    timeout = openai.APITimeoutError(request=REQUEST)
    error = error_map(timeout, provider="openai", timeout_s=60.0)
    assert isinstance(error, TimeoutError) and error.status == 504 and "60 s" in error.message
    connection = openai.APIConnectionError(request=REQUEST)
    assert error_map(connection, provider="openai").status == 502
    assert retryable(connection) and not retryable(timeout)
    assert retryable(status_error(openai.InternalServerError, 502))
    assert retryable(status_error(openai.ConflictError, 409))
    assert not retryable(status_error(openai.RateLimitError, 429))
    assert not retryable(status_error(openai.AuthenticationError, 401))


def test_rate_limit_carries_retry_after_in_seconds():
    error = error_map(status_error(openai.RateLimitError, 429, headers={"retry-after-ms": "1500"}), provider="openai")
    assert error.headers == {"Retry-After": "2"} and error.details["retry_after"] == 2
    assert retry_after_seconds({"retry-after": "12"}) == 12
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480) == 10
    assert retry_after_seconds({}) is None
    assert error_map(status_error(openai.RateLimitError, 429), provider="openai").headers == {}


def test_content_policy_codes_are_refusals():
    body = {"error": {"message": "Your request was rejected as a result of our safety system.", "type":
                      "invalid_request_error", "param": None, "code": "content_policy_violation"}}
    error = error_map(status_error(openai.BadRequestError, 400, body), provider="openai")
    assert isinstance(error, BadRequestError) and error.details["refused"] is True
    assert "safety system" in error.message


def test_keys_are_scrubbed_from_upstream_messages():
    secret = "sk-proj-abcdefghijklmnop"
    body = {"error": {"message": f"Incorrect API key provided: {secret}. Also sk-abc***xyz1234.", "code": "x"}}
    error = error_map(status_error(openai.BadRequestError, 400, body), provider="openai", secret=secret)
    assert secret not in error.message and "sk-abc" not in error.message
    assert scrub("key my-custom-token here", secret="my-custom-token") == "key [redacted] here"


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    assert backoff_seconds(0, 0.5, rng=lambda: 0.0) == 0.25
    assert backoff_seconds(0, 0.5, rng=lambda: 1.0) == 0.5
    assert backoff_seconds(2, 0.5, rng=lambda: 1.0) == 2.0
    assert backoff_seconds(10, 0.5, rng=lambda: 1.0) == 8.0


def test_images_are_data_urls_of_their_sniffed_type_unless_passed_through():
    png = LoadedMedia(kind=MediaKind.IMAGE, data=PNG, mime="image/png")
    assert mapping.image_part_url(ProviderImage(loaded=png)) == "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert mapping.image_part_url(ProviderImage(url="https://x.test/a.jpg")) == "https://x.test/a.jpg"


def test_images_go_with_the_last_user_message():
    conversation = (Message("system", "s"), Message("user", "first"), Message("assistant", "a"),
                    Message("user", "second"))
    messages = mapping.chat_messages(conversation, ["https://x.test/a"])
    assert messages[1] == {"role": "user", "content": "first"}
    assert messages[3]["content"] == [{"type": "text", "text": "second"},
                                      {"type": "image_url", "image_url": {"url": "https://x.test/a"}}]


def test_chat_options_and_response_format():
    options = mapping.chat_options({"temperature": 0, "max_tokens": 5, "schema": {"type": "object"}}, "max_tokens")
    assert options == {"temperature": 0, "max_tokens": 5, "response_format": {
        "type": "json_schema", "json_schema": {"name": "response", "schema": {"type": "object"}, "strict": False}}}


def completion(content, finish_reason="stop", refusal=None):
    return {"choices": [{"message": {"content": content, "refusal": refusal}, "finish_reason": finish_reason}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4}}


def test_chat_answers_structured_and_refused():
    assert mapping.chat_answer(completion('{"a": 1}'), provider="openai", structured=True) == {
        "text": '{"a": 1}', "finish_reason": "stop", "structured": {"a": 1}}
    cut = mapping.chat_answer(completion('{"a": ', "length"), provider="openai", structured=True)
    assert cut["structured"] is None and cut["finish_reason"] == "length"
    with pytest.raises(BadRequestError):
        mapping.chat_answer(completion(None, refusal="no"), provider="openai", structured=False)
    with pytest.raises(BadRequestError):
        mapping.chat_answer(completion("", "content_filter"), provider="openai", structured=False)


def test_usage_fields_of_each_endpoint():
    usage = Usage()
    mapping.usage_add(usage, SimpleNamespace(prompt_tokens=3, completion_tokens=4))
    mapping.usage_add(usage, SimpleNamespace(type="tokens", input_tokens=10, output_tokens=2))
    mapping.usage_add(usage, SimpleNamespace(type="duration", seconds=3))
    mapping.usage_add(usage, None)
    assert (usage.prompt, usage.completion) == (13, 6)


def test_audio_is_named_after_its_sniffed_format_and_others_are_422():
    def upload(mime):
        return mapping.audio_upload(LoadedMedia(kind=MediaKind.AUDIO, data=b"x", mime=mime), "inputs.audio_url")

    assert [upload(m)[0] for m in ("audio/wav", "audio/mpeg", "audio/mp4", "video/webm")] == [
        "audio.wav", "audio.mp3", "audio.m4a", "audio.webm"]
    with pytest.raises(ValidationError) as refused:
        upload("video/x-msvideo")
    assert refused.value.problems[0]["field"] == "inputs.audio_url"


def test_transcription_seconds_from_the_usage_else_the_duration():
    assert mapping.transcription_seconds(SimpleNamespace(usage=SimpleNamespace(type="duration", seconds=3),
                                                         duration=2.5)) == 3
    assert mapping.transcription_seconds(SimpleNamespace(usage=None, duration=2.5)) == 2.5
    assert mapping.transcription_seconds(SimpleNamespace(text="x")) == 0


def test_embedding_data_single_and_batch_in_index_order():
    response = {"data": [{"index": 1, "embedding": [0.0, 1.0]}, {"index": 0, "embedding": [1.0, 0.0]}]}
    batch = InferenceCall(modality=Modality.TEXT_EMBEDDING, inputs={}, parameters={}, texts=("a", "b"), single=False)
    assert mapping.embedding_data(response, batch) == {"embeddings": [[1.0, 0.0], [0.0, 1.0]], "dimensions": 2}
