"""audio_url through POST /v1/inference: fetched safely, then transcribed; refusals in the envelope."""

from __future__ import annotations

from tests.conftest import assert_envelope, ausage_records, post_inference
from tests.inference.conftest import words

TARGET = {"provider": "local", "model": "whisper-tiny-en"}


async def test_an_allow_listed_url_is_fetched_and_transcribed(tenant, client, served, media_settings):
    media_settings(ALLOW={tenant.namespace.id: ["127.0.0.1"]})
    response = await post_inference(client, {**TARGET, "inputs": {"audio_url": served.url("/speech.wav")}},
                                    tenant.headers())
    assert response.status_code == 200, response.content
    assert {"quick", "fox", "lazy", "dog"} <= words(response.json()["data"]["text"])


async def test_refusals_are_envelopes_that_never_name_the_resolved_address(tenant, client, served, connections,
                                                                           media_settings):
    media_settings(ALLOW={}, MAX_BYTES={"audio": 50_000})
    body = assert_envelope(await post_inference(client, {**TARGET, "inputs": {
        "audio_url": served.url("/speech.wav", host="localhost")}}, tenant.headers()), 400, "BadRequestError")
    assert body["error"]["details"] == {"field": "inputs.audio_url", "host": "localhost",
                                        "reason": "forbidden_address"}
    assert "127.0.0.1" not in str(body) and "::1" not in str(body)
    # (the endpoint itself talks to Redis on loopback: only connections to the media server count)
    assert served.requests == [] and [c for c in connections if c[1] == served.port] == []
    media_settings(ALLOW={tenant.namespace.id: ["127.0.0.0/8"]})
    assert_envelope(await post_inference(client, {**TARGET, "inputs": {"audio_url": served.url("/chunked")}},
                                         tenant.headers()), 413, "PayloadTooLargeError")
    body = assert_envelope(await post_inference(client, {**TARGET, "inputs": {"audio_url": served.url("/lies.wav")}},
                                                tenant.headers()), 422, "ValidationError")
    assert body["error"]["details"]["errors"][0]["field"] == "inputs.audio_url"
    records = await ausage_records()
    assert [(r.status, r.error_type) for r in records] == [
        (400, "BadRequestError"), (413, "PayloadTooLargeError"), (422, "ValidationError")]
