"""The openai adapter's media through the safe fetcher, against the wire-format fake: image and audio URLs
are fetched by Infergate (allow-list, limits, sniffed type) and sent as bytes, unless the namespace lets
OpenAI fetch image URLs itself; transcription is priced per audio minute (whisper-1) or per audio token."""

from __future__ import annotations

import base64
import struct
from decimal import Decimal

import pytest

from core.errors import BadRequestError, PayloadTooLargeError, ValidationError
from inference.media.images import image_inputs_parse
from inference.providers.openai.catalog import PRICE_VERSION
from tests.conftest import assert_envelope, ausage_records, post_inference
from tests.inference.media.media_server import MediaServer

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 40
CHAT = {"provider": "openai", "model": "gpt-4o-mini"}


def wav(seconds: float = 0.2, rate: int = 8000) -> bytes:
    frames = b"\x00\x00" * int(seconds * rate)
    return (b"RIFF" + struct.pack("<I", 36 + len(frames)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate,
            rate * 2, 2, 16) + b"data" + struct.pack("<I", len(frames)) + frames)


@pytest.fixture(scope="module")
def media_server():
    files = {"/pixel": (PNG, "application/octet-stream"), "/photo.jpg": (JPEG, "image/jpeg"),
             "/words.png": (b"words, not pixels", "image/png"), "/speech.wav": (wav(), "audio/wav"),
             "/clip.avi": (b"RIFF\x00\x00\x00\x00AVI LIST" + b"\x00" * 40, "audio/wav")}
    with MediaServer(files) as server:
        yield server


@pytest.fixture
def served(media_server):
    media_server.requests.clear()
    return media_server


def media(settings, **values) -> None:
    settings.INFERGATE = {**settings.INFERGATE, "MEDIA": {**settings.INFERGATE["MEDIA"], **values}}


def vision(*images, **inputs) -> dict:
    return {**CHAT, "inputs": {"prompts": ["What is this?"], **({"images": list(images)} if images else {}), **inputs}}


def sent_image_urls(fake_openai) -> list[str]:
    (sent,) = fake_openai.requests("/v1/chat/completions")
    return [part["image_url"]["url"] for part in sent.body["messages"][-1]["content"] if part["type"] == "image_url"]


# -- images ----------------------------------------------------------------------------------------

async def test_image_urls_are_fetched_and_sent_as_data_urls_of_their_sniffed_type(tenant, client, fake_openai,
                                                                                  served, settings):
    media(settings, ALLOW={tenant.namespace.id: ["127.0.0.1"]})
    body = vision(served.url("/photo.jpg"), {"image_base64": base64.b64encode(PNG).decode()},
                  image_url=served.url("/pixel"))
    response = await post_inference(client, body, tenant.headers())
    assert response.status_code == 200, response.content
    assert sent_image_urls(fake_openai) == [
        "data:image/png;base64," + base64.b64encode(PNG).decode(),  # served as octet-stream: sniffed
        "data:image/jpeg;base64," + base64.b64encode(JPEG).decode(),
        "data:image/png;base64," + base64.b64encode(PNG).decode()]
    assert sorted(path for path, _ in served.requests) == ["/photo.jpg", "/pixel"]


async def test_a_namespace_may_let_openai_fetch_its_image_urls(tenant, client, fake_openai, served, settings):
    media(settings, PASS_URLS=[tenant.namespace.id])
    url = served.url("/photo.jpg")  # loopback and not allow-listed: we would refuse to fetch it ourselves
    response = await post_inference(client, vision(url, base64.b64encode(PNG).decode()), tenant.headers())
    assert response.status_code == 200, response.content
    assert sent_image_urls(fake_openai) == [url, "data:image/png;base64," + base64.b64encode(PNG).decode()]
    assert served.requests == []


async def test_image_refusals_are_envelopes_and_openai_is_never_called(tenant, client, fake_openai, served, settings):
    body = assert_envelope(await post_inference(client, vision(image_url=served.url("/pixel")), tenant.headers()),
                           400, "BadRequestError")
    assert body["error"]["details"] == {"field": "inputs.image_url", "host": "127.0.0.1",
                                        "reason": "forbidden_address"}
    media(settings, ALLOW={tenant.namespace.id: ["127.0.0.1"]})
    body = assert_envelope(await post_inference(client, vision(served.url("/words.png")), tenant.headers()),
                           422, "ValidationError")
    assert body["error"]["details"]["errors"][0]["field"] == "inputs.images[0]"
    media(settings, MAX_BYTES={"image": 20})
    assert_envelope(await post_inference(client, vision(image_url=served.url("/pixel")), tenant.headers()),
                    413, "PayloadTooLargeError")
    assert fake_openai.requests() == []
    assert [(r.status, r.modality) for r in await ausage_records()] == [
        (400, "vision"), (422, "vision"), (413, "vision")]


def test_image_inputs_are_checked_before_anything_is_fetched(settings):
    encoded = base64.b64encode(PNG).decode()
    found = image_inputs_parse({"image_url": "https://x.test/a.png", "image_base64": f"data:image/png;base64,{encoded}",
                                "images": [encoded, {"image_url": "http://x.test/b"}, "https://x.test/c"]})
    assert [(m.field, m.url, m.data) for m in found] == [
        ("inputs.image_url", "https://x.test/a.png", None), ("inputs.image_base64", None, PNG),
        ("inputs.images[0]", None, PNG), ("inputs.images[1].image_url", "http://x.test/b", None),
        ("inputs.images[2]", "https://x.test/c", None)]
    with pytest.raises(BadRequestError):
        image_inputs_parse({"image_base64": "@@@"})
    with pytest.raises(ValidationError):
        image_inputs_parse({"images": [{"image_url": "x", "image_base64": encoded}]})
    with pytest.raises(ValidationError):
        image_inputs_parse({"images": ["https://x.test/a"] * 17})
    with pytest.raises(ValidationError):
        image_inputs_parse({"image_url": "file:///etc/passwd"})
    media(settings, MAX_BYTES={"image": 10})
    with pytest.raises(PayloadTooLargeError):
        image_inputs_parse({"image_base64": encoded})


# -- audio -----------------------------------------------------------------------------------------

async def test_whisper_transcribes_an_audio_url_and_is_priced_per_minute(tenant, client, fake_openai, served,
                                                                          settings):
    media(settings, ALLOW={tenant.namespace.id: ["127.0.0.1"]})
    response = await post_inference(client, {"provider": "openai", "model": "whisper-1",
                                             "inputs": {"audio_url": served.url("/speech.wav")}}, tenant.headers())
    assert response.status_code == 200, response.content
    (sent,) = fake_openai.requests("/v1/audio/transcriptions")
    assert sent.body["files"]["file"] == ("audio.wav", "audio/wav", wav())
    assert response.json()["data"]["text"] == f"heard {len(wav())} bytes of wav"
    assert response.json()["tokens_used"] == {"prompt": 0, "completion": 0, "total": 0}
    (record,) = await ausage_records()
    # The fake bills 2 s (usage.seconds), genai-prices has whisper-1 at $0.36 an hour: $0.006 a minute.
    assert record.cost_usd == Decimal("0.0002") and record.price_version == PRICE_VERSION


async def test_gpt_4o_transcribe_prices_its_prompt_as_audio_tokens(tenant, client, fake_openai, served, settings):
    media(settings, ALLOW={tenant.namespace.id: ["127.0.0.1"]})
    response = await post_inference(client, {"provider": "openai", "model": "gpt-4o-transcribe",
                                             "inputs": {"audio_url": served.url("/speech.wav")}}, tenant.headers())
    assert response.json()["tokens_used"] == {"prompt": 12, "completion": 5, "total": 17}
    (record,) = await ausage_records()
    assert record.cost_usd == Decimal("0.000122")  # 12 audio tokens at $6/M, 5 at $10/M


async def test_audio_url_refusals(tenant, client, fake_openai, served, settings):
    target = {"provider": "openai", "model": "whisper-1"}
    body = assert_envelope(await post_inference(client, {**target, "inputs": {"audio_url": served.url("/speech.wav")}},
                                                tenant.headers()), 400, "BadRequestError")
    assert body["error"]["details"]["reason"] == "forbidden_address" and served.requests == []
    media(settings, ALLOW={tenant.namespace.id: ["127.0.0.1"]})
    body = assert_envelope(await post_inference(client, {**target, "inputs": {"audio_url": served.url("/clip.avi")}},
                                                tenant.headers()), 422, "ValidationError")
    assert body["error"]["details"]["errors"][0]["field"] == "inputs.audio_url"
    assert fake_openai.requests() == []


# -- token counts where the server reports none ----------------------------------------------------

def test_counts_are_cl100k_base_loaded_from_the_installed_file():
    from inference.providers.tokens import chat_tokens, text_tokens
    from inference.types import Message

    assert text_tokens("hello world, how are you?") == 7  # [15339, 1917, 11, 1268, 527, 499, 30]
    # OpenAI's accounting: 3 per message plus role and content, 3 to prime the reply.
    conversation = (Message("system", "Be brief."), Message("user", "hello world"))
    assert chat_tokens(conversation) == (3 + 1 + 3) + (3 + 1 + 2) + 3


async def test_a_compatible_server_without_usage_is_counted_with_tiktoken(tenant, client, fake_openai):
    from tests.fakes.openai_server import Scripted

    fake_openai.script(Scripted(body={
        "id": "c", "object": "chat.completion", "created": 1, "model": "compat-chat",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": "hello world, how are you?", "refusal": None}}]}),
        Scripted(body={"object": "list", "model": "compat-embed",
                       "data": [{"object": "embedding", "index": 0, "embedding": [0.5] * 8}]}))
    chat = await post_inference(client, {"provider": "fakecompat", "model": "compat-chat",
                                         "inputs": {"prompts": ["hello world"]}}, tenant.headers())
    assert chat.status_code == 200, chat.content
    assert chat.json()["tokens_used"] == {"prompt": 3 + 1 + 2 + 3, "completion": 7, "total": 16}
    embedded = await post_inference(client, {"provider": "fakecompat", "model": "compat-embed",
                                             "inputs": {"text": "hello world, how are you?"}}, tenant.headers())
    assert embedded.status_code == 200, embedded.content
    assert embedded.json()["tokens_used"] == {"prompt": 7, "completion": 0, "total": 7}


async def test_a_stream_without_a_usage_chunk_is_counted_too(tenant, client, fake_openai, monkeypatch):
    import json as json_

    from tests.fakes.openai_server import FakeOpenAI
    from tests.sse import parse_sse

    original = FakeOpenAI._chat_stream  # the fake, told to behave like a server that ignores include_usage
    monkeypatch.setattr(FakeOpenAI, "_chat_stream", staticmethod(
        lambda body, answer, prompt_tokens: original({**body, "stream_options": {}}, answer, prompt_tokens)))
    response = await client.post("/v1/inference/stream", json_.dumps(
        {"provider": "fakecompat", "model": "compat-chat", "inputs": {"prompts": ["hello world"]}}),
        content_type="application/json", headers={**tenant.headers(), "Accept": "text/event-stream"})
    events = parse_sse(response.text)
    done = events[-1]["response"]
    assert done["data"]["responses"][0]["text"] == "echo: hello world"
    # "echo: hello world" is 4 cl100k tokens; the prompt 3 + 1 + 2 + 3 as above.
    assert done["tokens_used"] == {"prompt": 9, "completion": 4, "total": 13}
    (record,) = await ausage_records()
    assert record.total_tokens == 13


async def test_the_catalog_shows_the_price_per_audio_minute(tenant, client, fake_openai):
    listing = (await client.get("/v1/models", headers=tenant.headers())).json()["data"]
    prices = {item["id"]: item.get("price") for item in listing}
    assert prices["openai/whisper-1"] == {"currency": "USD", "known": True, "prompt_per_million": 0.0,
                                          "completion_per_million": 0.0,
                                          "per_audio_minute": 0.006}
    assert "per_audio_minute" not in prices["openai/gpt-4o-transcribe"]
