"""A provider that hangs, resets the connection, answers 200 with malformed or wrongly shaped JSON, stops
half-way or sends a garbage status line (tests/fakes/misbehaving_server.py, reached through the real `openai`
SDK): the client gets the documented 504 or 502, never a 500, on the plain and the streaming route and the
OpenAI-compatible one, for chat and embeddings; every request leaves exactly one usage record with that status."""

from __future__ import annotations

import json
import uuid

import pytest

from tenancy.credentials.selectors import credential_cache_clear
from tests.conftest import assert_envelope, ausage_records
from tests.fakes.misbehaving_server import BEHAVIOURS, MisbehavingServer

TIMEOUT_S = 1.0
EXPECTED = {"hang": (504, "TimeoutError")} | {b: (502, "ProviderError") for b in BEHAVIOURS if b != "hang"}
BODY = {"provider": "openai", "model": "gpt-4o-mini", "inputs": {"prompts": ["hello"]}}


@pytest.fixture(scope="module")
def misbehaving():
    server = MisbehavingServer().start()
    yield server
    server.stop()


@pytest.fixture
def provider(misbehaving, settings, monkeypatch):
    settings.INFERGATE = {**settings.INFERGATE, "OPENAI_BASE_URL": misbehaving.base_url,
                          "PROVIDER_TIMEOUT_SECONDS": TIMEOUT_S, "PROVIDER_RETRIES": 1,
                          "PROVIDER_RETRY_BASE_SECONDS": 0.01}
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-misbehaving-0000000000")
    credential_cache_clear()
    yield misbehaving
    credential_cache_clear()


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
async def test_a_misbehaving_provider_is_a_documented_error(tenant, client, provider, behaviour):
    provider.behaviour = behaviour
    status, error_type = EXPECTED[behaviour]
    ids = {route: f"fault-{behaviour}-{route}-{uuid.uuid4().hex[:8]}" for route in ("plain", "sse", "openai")}

    plain = await client.post("/v1/inference", json.dumps(BODY), content_type="application/json",
                              headers=tenant.headers(**{"X-Request-ID": ids["plain"]}))
    body = assert_envelope(plain, status, error_type)
    assert body["error"]["details"]["provider"] == "openai"

    stream = await client.post("/v1/inference/stream", json.dumps(BODY), content_type="application/json",
                               headers=tenant.headers(**{"X-Request-ID": ids["sse"]}))
    assert stream.status_code == 200 and "event: error" in stream.text, stream.text[:500]
    error_event = json.loads(stream.text.split("event: error\ndata: ", 1)[1].split("\n", 1)[0])
    assert error_event["error"]["status"] == status and error_event["error"]["error"]["type"] == error_type

    chat = await client.post("/v1/chat/completions", json.dumps(
        {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}),
        content_type="application/json", headers=tenant.headers(**{"X-Request-ID": ids["openai"]}))
    assert chat.status_code == status and chat.json()["error"]["type"] == "server_error", chat.text[:300]

    embedding = await client.post("/v1/inference", json.dumps(
        {"provider": "openai", "model": "text-embedding-3-small", "inputs": {"text": "hello"}}),
        content_type="application/json", headers=tenant.headers(**{"X-Request-ID": ids.setdefault(
            "embedding", f"fault-{behaviour}-embedding-{uuid.uuid4().hex[:8]}")}))
    assert_envelope(embedding, status, error_type)

    records = {r.request_id: r for r in await ausage_records()}
    assert set(records) == set(ids.values())  # one each, nothing more
    assert {(r.status, r.error_type) for r in records.values()} == {(status, error_type)}
