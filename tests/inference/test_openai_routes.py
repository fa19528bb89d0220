"""The OpenAI-compatible routes, driven by the official ``openai`` SDK against the app under uvicorn.

The server here is the live server of tests/conftest.py with one difference: its ``openai`` provider points
at the wire-format fake (tests/fakes), so that the transcription route and vision can run through a real
provider adapter. Local models answer chat and embeddings.
"""

from __future__ import annotations

import base64
import json
import shutil
import struct
import subprocess
import time

import httpx
import numpy as np
import openai
import pytest
from asgiref.sync import sync_to_async

from inference.usage.models import UsageRecord
from tests.conftest import tenant_create, uvicorn_start, wait_for_record
from tests.fakes.openai_server import GOOD_KEY

CHAT = "local/smollm2-135m-instruct"
EMBEDDER = "local/all-minilm-l6-v2"
MESSAGES = [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Name a fruit."}]


def wav(seconds: float = 0.2, rate: int = 8000) -> bytes:
    frames = b"\x00\x00" * int(seconds * rate)
    return (b"RIFF" + struct.pack("<I", 36 + len(frames)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate,
            rate * 2, 2, 16) + b"data" + struct.pack("<I", len(frames)) + frames)


@pytest.fixture(scope="module")
def server_url(django_db_setup, fake_openai_server, tmp_path_factory):
    """The app under uvicorn (tests/conftest.py), with the ``openai`` provider at the fake; it writes its
    usage records itself, for the tests that poll the database."""
    env = {"OPENAI_BASE_URL": fake_openai_server.base_url, "OPENAI_API_KEY": GOOD_KEY}
    process, base = uvicorn_start(tmp_path_factory.mktemp("uvicorn-openai"), durable_usage=False, env=env)
    yield base
    process.terminate()
    process.wait(15)


@pytest.fixture(autouse=True)
def _server_writes_settled(request):
    """Before the database is emptied after a test: wait until the server process has written the usage
    records of the test's requests (it writes in batches), so that its inserts do not race the flush."""
    if "transactional_db" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("transactional_db")
    yield
    deadline, seen, quiet_since = time.monotonic() + 5, -1, time.monotonic()
    while time.monotonic() < deadline:
        count = UsageRecord.objects.count()
        if count != seen:
            seen, quiet_since = count, time.monotonic()
        elif time.monotonic() - quiet_since > 0.3:
            return
        time.sleep(0.05)


@pytest.fixture
async def scoped(transactional_db):
    """A tenant whose key is scoped to its one namespace: no X-Namespace needed."""
    return await sync_to_async(tenant_create)("oai", "main", scoped=True)


def sdk(server_url: str, secret: str, **headers: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{server_url}/v1", api_key=secret, max_retries=0, timeout=120,
                              default_headers=headers or None)


@pytest.fixture
async def client(server_url, scoped):
    async with sdk(server_url, scoped.secret) as api:
        yield api


# -- chat ------------------------------------------------------------------------------------------

async def test_chat_completion_on_the_local_model_with_the_keys_only_namespace(client, scoped):
    completion = await client.chat.completions.create(
        model=CHAT, messages=MESSAGES, temperature=0, max_tokens=24, extra_headers={"X-Request-ID": "oai-chat-1"})
    assert completion.object == "chat.completion" and completion.id == "chatcmpl-oai-chat-1"
    assert completion.model == CHAT and len(completion.choices) == 1
    choice = completion.choices[0]
    assert choice.message.role == "assistant" and choice.message.content.strip()
    assert choice.finish_reason in ("stop", "length")
    usage = completion.usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    record = await wait_for_record(request_id="oai-chat-1")
    assert (record.status, record.namespace_id, record.provider, record.model, record.modality) == (
        200, scoped.namespace.id, "local", "smollm2-135m-instruct", "chat")
    assert (record.prompt_tokens, record.completion_tokens) == (usage.prompt_tokens, usage.completion_tokens)


async def test_streamed_chat_assembles_the_greedy_answer_and_ends_with_usage(client):
    plain = await client.chat.completions.create(model=CHAT, messages=MESSAGES, temperature=0, max_tokens=24)
    stream = await client.chat.completions.create(
        model=CHAT, messages=MESSAGES, temperature=0, max_tokens=24, stream=True,
        stream_options={"include_usage": True}, extra_headers={"X-Request-ID": "oai-stream-1"})
    chunks = [chunk async for chunk in stream]
    assert all(c.object == "chat.completion.chunk" and c.id == "chatcmpl-oai-stream-1" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == [plain.choices[0].finish_reason]
    *body, last = chunks
    assert last.choices == [] and last.usage is not None and all(c.usage is None for c in body)
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (
        plain.usage.prompt_tokens, plain.usage.completion_tokens)
    record = await wait_for_record(request_id="oai-stream-1")
    assert record.status == 200 and record.completion_tokens == last.usage.completion_tokens


async def test_stream_without_include_usage_has_no_usage_and_ends_with_done(server_url, scoped):
    body = {"model": CHAT, "messages": MESSAGES, "max_tokens": 4, "stream": True}
    async with httpx.AsyncClient(timeout=60) as http:
        response = await http.post(f"{server_url}/v1/chat/completions", json=body,
                                   headers={"Authorization": f"Bearer {scoped.secret}"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    assert any(name.startswith("x-ratelimit-limit") for name in response.headers)
    lines = [line for line in response.text.split("\n\n") if line]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    assert all("usage" not in chunk for chunk in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] in ("stop", "length")


async def test_a_client_that_leaves_mid_stream_stops_the_generation_and_is_recorded(server_url, scoped):
    body = {"model": CHAT, "messages": [{"role": "user", "content": "Write a long story about a dragon."}],
            "max_tokens": 400, "stream": True}
    async with httpx.AsyncClient(timeout=60) as http:
        async with http.stream("POST", f"{server_url}/v1/chat/completions", json=body,
                               headers={"Authorization": f"Bearer {scoped.secret}", "X-Request-ID": "oai-cut-1"}) as r:
            async for line in r.aiter_lines():
                chunk = json.loads(line.removeprefix("data: ")) if line.startswith("data: {") else {}
                if any(choice["delta"].get("content") for choice in chunk.get("choices", [])):
                    break  # the first generated text
    record = await wait_for_record(request_id="oai-cut-1")
    assert (record.status, record.error_type) == (499, "Cancelled") and 1 <= record.completion_tokens < 400


async def test_vision_parts_and_json_schema_reach_the_provider(server_url, scoped, fake_openai_server):
    fake_openai_server.reset()
    png = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32).decode()
    async with sdk(server_url, scoped.secret) as api:
        completion = await api.chat.completions.create(
            model="openai/gpt-4o-mini", max_completion_tokens=50, seed=3,
            messages=[{"role": "developer", "content": "Be terse."},
                      {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                                   {"type": "image_url", "image_url": {"url": png}}]}],
            response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": {"type": "object"}}})
    assert completion.choices[0].message.content == "echo: What is this? [1 images]"
    assert completion.model == "openai/gpt-4o-mini"
    (sent,) = fake_openai_server.requests("/v1/chat/completions")
    assert sent.body["messages"][0] == {"role": "system", "content": "Be terse."}
    assert sent.body["messages"][1]["content"][1] == {"type": "image_url", "image_url": {"url": png}}
    assert sent.body["max_completion_tokens"] == 50 and sent.body["seed"] == 3
    assert sent.body["response_format"]["json_schema"]["schema"] == {"type": "object"}


async def test_semantic_cache_headers_are_taken_and_reported(client):
    raw = await client.chat.completions.with_raw_response.create(
        model=CHAT, messages=MESSAGES, max_tokens=4, extra_headers={"X-Semantic-Cache": "true",
                                                                     "X-Cache-Delta": "0.05"})
    assert raw.headers["x-semantic-cache"] == "miss"  # the first ask of this prompt: generated, not served from the cache
    assert any(name.startswith("x-ratelimit-limit") for name in raw.headers)  # the native limits' headers
    plain = await client.chat.completions.with_raw_response.create(model=CHAT, messages=MESSAGES, max_tokens=4)
    assert "x-semantic-cache" not in plain.headers
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        await client.chat.completions.create(model=CHAT, messages=MESSAGES, extra_headers={"X-Cache-Delta": "2"})
    assert caught.value.status_code == 422 and caught.value.body["param"] == "X-Cache-Delta"


# -- embeddings ------------------------------------------------------------------------------------

async def test_embeddings_as_floats_and_as_base64_little_endian_float32(client, scoped):
    texts = ["machine learning", "a red apple"]
    floats = await client.embeddings.create(model=EMBEDDER, input=texts, encoding_format="float",
                                            extra_headers={"X-Request-ID": "oai-embed-1"})
    assert floats.object == "list" and floats.model == EMBEDDER
    assert [item.index for item in floats.data] == [0, 1]
    assert all(len(item.embedding) == 384 for item in floats.data)
    assert floats.usage.prompt_tokens > 0 and floats.usage.total_tokens == floats.usage.prompt_tokens
    encoded = await client.embeddings.create(model=EMBEDDER, input=texts, encoding_format="base64")
    for as_float, as_base64 in zip(floats.data, encoded.data):
        assert isinstance(as_base64.embedding, str)
        decoded = np.frombuffer(base64.b64decode(as_base64.embedding), dtype="<f4")
        assert decoded.shape == (384,)
        np.testing.assert_allclose(decoded, as_float.embedding, rtol=0, atol=1e-6)
    # The SDK's default: it asks for base64 and decodes it itself.
    default = await client.embeddings.create(model=EMBEDDER, input=texts[0])
    assert len(default.data) == 1
    np.testing.assert_allclose(default.data[0].embedding, floats.data[0].embedding, rtol=0, atol=1e-6)
    record = await wait_for_record(request_id="oai-embed-1")
    assert (record.status, record.modality, record.namespace_id) == (200, "text_embedding", scoped.namespace.id)


async def test_embedding_dimensions_reach_the_provider(client, fake_openai_server):
    fake_openai_server.reset()
    result = await client.embeddings.create(model="openai/text-embedding-3-small", input="hi", dimensions=8,
                                            encoding_format="float")
    assert len(result.data[0].embedding) == 8
    assert fake_openai_server.requests("/v1/embeddings")[0].body["dimensions"] == 8


# -- transcription ---------------------------------------------------------------------------------

async def test_transcription_upload_in_each_response_format(client, fake_openai_server):
    fake_openai_server.reset()
    audio = wav()
    heard = f"heard {len(audio)} bytes of wav"
    result = await client.audio.transcriptions.create(model="openai/whisper-1", file=("clip.wav", audio, "audio/wav"),
                                                      language="en", extra_headers={"X-Request-ID": "oai-asr-1"})
    assert result.text == heard
    text = await client.audio.transcriptions.create(model="openai/whisper-1", file=("clip.wav", audio),
                                                    response_format="text")
    assert text == heard
    verbose = await client.audio.transcriptions.create(model="openai/whisper-1", file=("clip.wav", audio),
                                                       response_format="verbose_json", temperature=0)
    assert (verbose.text, verbose.language, verbose.duration) == (heard, "english", 1.5)
    assert [(s.start, s.end, s.text) for s in verbose.segments] == [(0.0, 1.5, heard)]
    uploads = fake_openai_server.requests("/v1/audio/transcriptions")
    assert [u.body["files"]["file"][2] for u in uploads] == [audio] * 3
    assert uploads[0].body["fields"]["language"] == "en" and uploads[2].body["fields"]["temperature"] == "0.0"
    record = await wait_for_record(request_id="oai-asr-1")
    assert (record.status, record.modality, record.model) == (200, "transcription", "whisper-1")


async def test_transcription_on_the_local_whisper_model_when_installed(client, tmp_path):
    """Local transcription  answers the same route once it is registered; skipped until then."""
    if "local/whisper-tiny-en" not in [model.id async for model in client.models.list()]:
        pytest.skip("local/whisper-tiny-en is not registered in this tree yet ")
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng (the speech generator) is not installed")
    path = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(path), "The quick brown fox jumps over the lazy dog."],
                   check=True, capture_output=True)
    verbose = await client.audio.transcriptions.create(
        model="local/whisper-tiny-en", file=("speech.wav", path.read_bytes()), response_format="verbose_json",
        extra_headers={"X-Request-ID": "oai-asr-local"})
    assert "lazy dog" in verbose.text.lower() and verbose.language == "en" and verbose.duration > 2
    assert verbose.segments and verbose.segments[0].start == 0.0
    record = await wait_for_record(request_id="oai-asr-local")
    assert (record.status, record.provider, record.model) == (200, "local", "whisper-tiny-en")


async def test_transcription_refusals(client):
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        await client.audio.transcriptions.create(model="openai/whisper-1", file=("a.wav", wav()),
                                                 response_format="srt")
    assert caught.value.body["param"] == "response_format"
    with pytest.raises(openai.UnprocessableEntityError) as caught:  # not audio: the native endpoint's 422
        await client.audio.transcriptions.create(model="openai/whisper-1", file=("a.wav", b"not audio"))
    assert caught.value.body["param"] == "file"
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        await client.audio.transcriptions.create(model="openai/whisper-1", file=("a.wav", wav()),
                                                 extra_body={"chunking_strategy": "auto"})
    assert caught.value.body["param"] == "chunking_strategy"


@pytest.mark.parametrize("content_type, body, status", [
    ("multipart/form-data", b"--x\r\n", 400),  # no boundary parameter
    ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data; name=model\r\n\r\nm\r\n", 400),
    ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data; name=model\r\n\r\n"
                                        b"openai/whisper-1\r\n--x--\r\n", 422),  # no file
    ("application/json", b'{"model": "openai/whisper-1"}', 415),
])
async def test_malformed_uploads(server_url, scoped, content_type, body, status):
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(f"{server_url}/v1/audio/transcriptions", content=body,
                                   headers={"Authorization": f"Bearer {scoped.secret}", "Content-Type": content_type})
    assert response.status_code == status and set(response.json()["error"]) == {"message", "type", "param", "code"}


# -- models ----------------------------------------------------------------------------------------

async def test_models_list_parses_in_the_sdk_without_x_namespace(client):
    models = [model async for model in client.models.list()]
    ids = {model.id for model in models}
    assert {CHAT, EMBEDDER, "openai/gpt-4o-mini"} <= ids
    assert any(model.id.startswith("plugin/") for model in models)
    assert all(model.object == "model" and isinstance(model.owned_by, str) for model in models)


async def test_models_retrieve_by_id_or_by_the_providers_own_id_without_x_namespace(client):
    model = await client.models.retrieve(CHAT)
    assert (model.id, model.object, model.owned_by) == (CHAT, "model", "local")
    assert (await client.models.retrieve("smollm2-135m-instruct")).id == CHAT  # as the provider knows it
    assert (await client.models.retrieve("gpt-4o-mini")).id == "openai/gpt-4o-mini"
    with pytest.raises(openai.NotFoundError) as caught:
        await client.models.retrieve("local/no-such-model")
    assert caught.value.status_code == 404


# -- errors ----------------------------------------------------------------------------------------

def assert_openai_error(error: openai.APIStatusError, status: int, type_: str, code: str) -> dict:
    assert error.status_code == status
    body = error.response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    assert (body["error"]["type"], body["error"]["code"]) == (type_, code) and body["error"]["message"]
    return body["error"]


async def test_bad_key_is_an_authentication_error_and_is_recorded(server_url, transactional_db):
    async with sdk(server_url, "sk_live_" + "x" * 40) as api:
        with pytest.raises(openai.AuthenticationError) as caught:
            await api.chat.completions.create(model=CHAT, messages=MESSAGES,
                                              extra_headers={"X-Request-ID": "oai-badkey-1"})
        assert_openai_error(caught.value, 401, "authentication_error", "unauthorized_error")
        with pytest.raises(openai.AuthenticationError):
            await api.embeddings.create(model=EMBEDDER, input="x")
    record = await wait_for_record(request_id="oai-badkey-1")
    assert (record.status, record.error_type) == (401, "UnauthorizedError")


async def test_unknown_models(client):
    with pytest.raises(openai.BadRequestError) as caught:  # the native 400 for an unknown provider model
        await client.chat.completions.create(model="local/no-such-model", messages=MESSAGES)
    error = assert_openai_error(caught.value, 400, "invalid_request_error", "model_not_found")
    assert error["param"] == "model"
    with pytest.raises(openai.NotFoundError) as caught:  # the native 404 for an unknown plugin
        await client.embeddings.create(model="no_such_plugin_1_0_0", input="x")
    assert_openai_error(caught.value, 404, "not_found_error", "model_not_found")
    with pytest.raises(openai.BadRequestError):  # refused before the stream starts: status and JSON
        await client.chat.completions.create(model="nope/x", messages=MESSAGES, stream=True)


async def test_bad_bodies(client, server_url, scoped):
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        await client.chat.completions.create(model=CHAT, messages=[], extra_headers={"X-Request-ID": "oai-422-1"})
    error = assert_openai_error(caught.value, 422, "invalid_request_error", "validation_error")
    assert error["param"] == "messages"
    with pytest.raises(openai.UnprocessableEntityError) as caught:  # checked against the model, as natively
        await client.chat.completions.create(model=CHAT, messages=MESSAGES, temperature=5)
    assert caught.value.body["param"] == "temperature"
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        await client.chat.completions.create(model=CHAT, messages=MESSAGES, frequency_penalty=1.0)
    assert caught.value.body["param"] == "frequency_penalty"
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        await client.chat.completions.create(model=CHAT, messages=[{"role": "tool", "content": "x"}])
    assert caught.value.body["param"] == "messages[0].tool_call_id"  # a tool result answers a call
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        await client.chat.completions.create(model=CHAT, messages=[{"role": "robot", "content": "x"}])
    assert caught.value.body["param"] == "messages[0].role"
    with pytest.raises(openai.UnprocessableEntityError) as caught:  # the local model takes no schema
        await client.chat.completions.create(model=CHAT, messages=MESSAGES, response_format={"type": "json_object"})
    assert caught.value.body["param"] == "response_format"
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        await client.embeddings.create(model=EMBEDDER, input=[[1, 2, 3]])
    assert caught.value.body["param"] == "input"
    async with httpx.AsyncClient(timeout=30) as http:
        malformed = await http.post(f"{server_url}/v1/chat/completions", content=b"{nope",
                                    headers={"Authorization": f"Bearer {scoped.secret}",
                                             "Content-Type": "application/json"})
        wrong_method = await http.get(f"{server_url}/v1/embeddings")
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "bad_request_error"
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]["type"] == "invalid_request_error"
    record = await wait_for_record(request_id="oai-422-1")
    assert (record.status, record.error_type, record.namespace_id) == (422, "ValidationError", scoped.namespace.id)


async def test_namespace_header_or_the_keys_only_namespace(server_url, transactional_db):
    wide = await sync_to_async(tenant_create)("oai-wide", "main")  # a key for every namespace
    async with sdk(server_url, wide.secret) as api:
        with pytest.raises(openai.BadRequestError) as caught:
            await api.embeddings.create(model=EMBEDDER, input="x")
        error = assert_openai_error(caught.value, 400, "invalid_request_error", "bad_request_error")
        assert error["param"] == "X-Namespace" and "X-Namespace" in error["message"]
    async with sdk(server_url, wide.secret, **{"X-Namespace": "main"}) as api:
        assert len((await api.embeddings.create(model=EMBEDDER, input="x")).data) == 1
        assert EMBEDDER in [model.id async for model in api.models.list()]
    async with sdk(server_url, wide.secret, **{"X-Namespace": "elsewhere"}) as api:
        with pytest.raises(openai.NotFoundError):
            await api.embeddings.create(model=EMBEDDER, input="x")
    narrow = await sync_to_async(tenant_create)("oai-wide", "main", scoped=True)
    await sync_to_async(tenant_create)("oai-wide", "other")
    async with sdk(server_url, narrow.secret, **{"X-Namespace": "other"}) as api:  # not this key's namespace
        with pytest.raises(openai.PermissionDeniedError) as caught:
            await api.embeddings.create(model=EMBEDDER, input="x")
        assert_openai_error(caught.value, 403, "permission_error", "forbidden_error")


async def test_the_openapi_examples_work(server_url, scoped):
    async with httpx.AsyncClient(timeout=60) as http:
        paths = (await http.get(f"{server_url}/v1/openapi.json")).json()["paths"]
        for path in ("/v1/chat/completions", "/v1/embeddings"):
            example = paths[path]["post"]["requestBody"]["content"]["application/json"]["example"]
            response = await http.post(f"{server_url}{path}", json=example,
                                       headers={"Authorization": f"Bearer {scoped.secret}"})
            assert response.status_code == 200, response.text
    assert {"/v1/audio/transcriptions", "/v1/models"} <= set(paths)
