"""Hostile bodies on the streaming route (POST /v1/inference/stream) and the OpenAI-compatible routes, and
the sizes tests/inference/test_bad_bodies.py does not reach on POST /v1/inference (its table covers the
plain endpoint's shapes and types). Each gets its documented status in the route's error format, leaves
exactly one usage record saying so, and changes nothing else."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from django.conf import settings

from tests.conftest import assert_envelope, ausage_records
from tests.inference.test_bad_bodies import tenancy_counts

JSON = "application/json"
MAX_BATCH = settings.INFERGATE["MAX_BATCH"]
MAX_PROMPT_CHARS = settings.INFERGATE["MAX_PROMPT_CHARS"]
MAX_BODY_BYTES = settings.INFERGATE["MAX_BODY_BYTES"]
DEEP = 100_000

NATIVE_CHAT = {"provider": "test", "model": "echo"}
NATIVE_EMBED = {"provider": "local", "model": "all-minilm-l6-v2"}
OPENAI_CHAT = "test/echo"
OPENAI_EMBED = "local/all-minilm-l6-v2"


def native(inputs: Any, target: dict[str, Any] = NATIVE_CHAT, **fields: Any) -> bytes:
    return json.dumps({**target, "inputs": inputs, **fields}).encode()


def chat(messages: Any, **fields: Any) -> bytes:
    return json.dumps({"model": OPENAI_CHAT, "messages": messages, **fields}).encode()


def embed(input_: Any, **fields: Any) -> bytes:
    return json.dumps({"model": OPENAI_EMBED, "input": input_, **fields}).encode()


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def padded_to_limit(prefix: bytes, suffix: bytes) -> bytes:
    """A JSON body of exactly MAX_BODY_BYTES: the most a client may send."""
    return prefix + b"a" * (MAX_BODY_BYTES - len(prefix) - len(suffix)) + suffix


def row(id: str, path: str, body: bytes, status: int, error_type: str, content_type: str = JSON):
    return pytest.param(path, body, content_type, status, error_type, id=id)


STREAM, CHAT, EMBED, INFER = "/v1/inference/stream", "/v1/chat/completions", "/v1/embeddings", "/v1/inference"

ROWS = [
    # -- POST /v1/inference: sizes (the shapes are in tests/inference/test_bad_bodies.py) ----------
    row("infer-prompt-filling-the-body-limit", INFER, padded_to_limit(b'{"provider": "test", "model": "echo", '
        b'"inputs": {"prompts": ["', b'"]}}'), 422, "ValidationError"),
    row("infer-200k-prompts", INFER, native({"prompts": ["hi"] * 200_000}), 422, "ValidationError"),
    row("infer-200k-texts", INFER, native({"texts": ["hi"] * 200_000}, NATIVE_EMBED), 422, "ValidationError"),
    row("infer-200k-messages", INFER, native({"messages": user("hi") * 200_000}), 422, "ValidationError"),
    row("infer-deep-nesting-in-parameters", INFER, b'{"provider": "test", "model": "echo", "inputs": '
        b'{"prompts": ["hi"]}, "parameters": {"a": ' + b'{"a": ' * DEEP + b"1" + b"}" * DEEP + b"}}",
        400, "BadRequestError"),
    row("infer-one-key-200k-times", INFER, b'{"provider": "test", "model": "echo", "inputs": {"prompts": ["hi"]}, '
        + b", ".join(b'"k%d": 1' % i for i in range(200_000)) + b"}", 422, "ValidationError"),
    row("infer-body-declared-over-limit", INFER, b"{" + b" " * (MAX_BODY_BYTES + 1) + b"}", 413,
        "PayloadTooLargeError"),
    # -- POST /v1/inference/stream: refused before the stream starts, like POST /v1/inference ------
    row("stream-over-limit", STREAM, b'{"pad": "' + b"a" * MAX_BODY_BYTES + b'"}', 413, "PayloadTooLargeError"),
    row("stream-deep-nesting", STREAM, b'{"inputs": ' + b"[" * DEEP + b"]" * DEEP + b"}", 400, "BadRequestError"),
    row("stream-invalid-utf8", STREAM, b'{"provider": "t\xffst", "model": "echo", "inputs": {}}', 400,
        "BadRequestError"),
    row("stream-nul-in-prompt", STREAM, native({"prompts": ["a\u0000b"]}), 422, "ValidationError"),
    row("stream-raw-nul-byte", STREAM, b'{"provider": "test", "model": "echo", "inputs": {"prompts": ["a\x00b"]}}',
        400, "BadRequestError"),
    row("stream-prompts-over-batch", STREAM, native({"prompts": ["hi"] * (MAX_BATCH + 1)}), 422, "ValidationError"),
    row("stream-200k-prompts", STREAM, native({"prompts": ["hi"] * 200_000}), 422, "ValidationError"),
    row("stream-prompt-over-max-chars", STREAM, native({"prompts": ["a" * (MAX_PROMPT_CHARS + 1)]}), 422,
        "ValidationError"),
    row("stream-max-tokens-as-string", STREAM, native({"prompts": ["hi"]}, parameters={"max_tokens": "16"}), 422,
        "ValidationError"),
    row("stream-cache-delta-as-string", STREAM, native({"prompts": ["hi"]}, cache_delta="0.1"), 422,
        "ValidationError"),
    row("stream-text-plain", STREAM, native({"prompts": ["hi"]}), 415, "UnsupportedMediaTypeError", "text/plain"),
    row("stream-multipart", STREAM, b"--x\r\n\r\n--x--", 415, "UnsupportedMediaTypeError",
        "multipart/form-data; boundary=x"),
    row("stream-top-level-array", STREAM, b"[1, 2, 3]", 422, "ValidationError"),
    # -- POST /v1/chat/completions -------------------------------------------------------------------
    row("chat-over-limit", CHAT, b'{"pad": "' + b"a" * MAX_BODY_BYTES + b'"}', 413, "PayloadTooLargeError"),
    row("chat-content-filling-the-body-limit", CHAT, padded_to_limit(
        b'{"model": "test/echo", "messages": [{"role": "user", "content": "', b'"}]}'), 422, "ValidationError"),
    row("chat-deep-nesting", CHAT, b'{"model": "test/echo", "messages": ' + b"[" * DEEP + b"]" * DEEP + b"}", 400,
        "BadRequestError"),
    row("chat-invalid-utf8", CHAT, b'{"model": "test/echo", "messages": [{"role": "user", "content": "\xc3\x28"}]}',
        400, "BadRequestError"),
    row("chat-nul-in-content", CHAT, chat(user("a\u0000b")), 422, "ValidationError"),
    row("chat-lone-surrogate", CHAT, chat(user("a\ud800b")), 422, "ValidationError"),
    row("chat-200k-messages", CHAT, chat(user("hi") * 200_000), 422, "ValidationError"),
    row("chat-content-over-max-chars", CHAT, chat(user("a" * (MAX_PROMPT_CHARS + 1))), 422, "ValidationError"),
    row("chat-temperature-as-string", CHAT, chat(user("hi"), temperature="0.5"), 422, "ValidationError"),
    row("chat-max-tokens-as-string", CHAT, chat(user("hi"), max_tokens="16"), 422, "ValidationError"),
    row("chat-max-tokens-huge", CHAT, chat(user("hi"), max_tokens=10**400), 422, "ValidationError"),
    row("chat-nan", CHAT, chat(user("hi"))[:-1] + b', "temperature": NaN}', 400, "BadRequestError"),
    row("chat-form-encoded", CHAT, b"model=test/echo", 415, "UnsupportedMediaTypeError",
        "application/x-www-form-urlencoded"),
    row("chat-no-content-type", CHAT, chat(user("hi")), 415, "UnsupportedMediaTypeError", ""),
    row("chat-empty-body", CHAT, b"", 400, "BadRequestError"),
    row("chat-top-level-string", CHAT, b'"hi"', 422, "ValidationError"),
    # -- POST /v1/embeddings -----------------------------------------------------------------------
    row("embed-over-limit", EMBED, b'{"pad": "' + b"a" * MAX_BODY_BYTES + b'"}', 413, "PayloadTooLargeError"),
    row("embed-200k-inputs", EMBED, embed(["hi"] * 200_000), 422, "ValidationError"),
    row("embed-inputs-over-batch", EMBED, embed(["hi"] * (MAX_BATCH + 1)), 422, "ValidationError"),
    row("embed-input-over-max-chars", EMBED, embed("a" * (MAX_PROMPT_CHARS + 1)), 422, "ValidationError"),
    row("embed-nul-in-input", EMBED, embed(["ok", "a\u0000b"]), 422, "ValidationError"),
    row("embed-deep-nesting", EMBED, b'{"model": "local/all-minilm-l6-v2", "input": ' + b"[" * DEEP + b"]" * DEEP
        + b"}", 400, "BadRequestError"),
    row("embed-invalid-utf8", EMBED, b'{"model": "local/all-minilm-l6-v2", "input": "\xff\xfe"}', 400,
        "BadRequestError"),
    row("embed-dimensions-as-string", EMBED, embed("hi", dimensions="384"), 422, "ValidationError"),
    row("embed-text-plain", EMBED, embed("hi"), 415, "UnsupportedMediaTypeError", "text/plain"),
]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def assert_refused(response, path: str, status: int, error_type: str) -> None:
    if path in (CHAT, EMBED):  # OpenAI's error object, the native type as `code`
        assert response.status_code == status, response.content[:300]
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and error["message"]
        assert error["code"] == _snake(error_type)
    else:
        assert_envelope(response, status, error_type)


@pytest.mark.parametrize("path, body, content_type, status, error_type", ROWS)
async def test_hostile_body(tenant, client, path, body, content_type, status, error_type):
    request_id = f"hostile-{uuid.uuid4().hex}"
    records_before, tenancy_before = len(await ausage_records()), await tenancy_counts()

    headers = tenant.headers(**{"X-Request-ID": request_id, "Content-Type": content_type})
    response = await client.post(path, body, headers=headers)

    assert_refused(response, path, status, error_type)
    assert response.headers["X-Request-ID"] == request_id
    assert len(response.content) < 4096  # the error names the problem; it does not echo the body back
    assert tenant.secret.encode() not in response.content
    records = await ausage_records()
    assert len(records) == records_before + 1
    (record,) = [r for r in records if r.request_id == request_id]
    assert (record.status, record.error_type) == (status, error_type)
    assert (record.namespace_id, record.api_key_id) == (tenant.namespace.id, tenant.key_id)
    assert (record.total_tokens, record.cost_usd, record.cached) == (0, 0, False)
    assert await tenancy_counts() == tenancy_before


@pytest.mark.parametrize("path", [INFER, STREAM, CHAT, EMBED])
async def test_hostile_body_with_a_bad_key_is_refused_on_the_key(transactional_db, client, path):
    body = b'{"pad": "' + b"a" * MAX_BODY_BYTES + b'"}'
    response = await client.post(path, body, headers={"Content-Type": JSON, "Authorization": "Bearer sk_live_nope1234",
                                                      "X-Request-ID": "hostile-401"})
    assert response.status_code == 401, response.content[:300]
    (record,) = await ausage_records()  # recorded as the key's failure, under no key and no namespace
    assert (record.request_id, record.status, record.api_key_id, record.namespace_id) == ("hostile-401", 401, None, None)


def test_the_table_has_distinct_rows():
    assert len({p.id for p in ROWS}) == len(ROWS) >= 40
