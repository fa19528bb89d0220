"""Fixtures for the OpenAI adapter tests: the wire-format fake (one per session) and settings that
point the ``openai`` and ``fakecompat`` providers at it, with fast retries and a short timeout."""

from __future__ import annotations

import pytest

from playground.credentials.selectors import credential_cache_clear
from tests.fakes.openai_server import GOOD_KEY, FakeOpenAI


@pytest.fixture(scope="session")
def fake_openai_server():
    server = FakeOpenAI()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake_openai(fake_openai_server, settings, monkeypatch):
    fake_openai_server.reset()
    compatible = {**settings.INFERGATE["OPENAI_COMPATIBLE"]}
    compatible["fakecompat"] = {**compatible["fakecompat"], "base_url": fake_openai_server.base_url}
    settings.INFERGATE = {**settings.INFERGATE, "OPENAI_BASE_URL": fake_openai_server.base_url,
                          "OPENAI_COMPATIBLE": compatible, "PROVIDER_TIMEOUT_SECONDS": 1.0,
                          "PROVIDER_RETRY_BASE_SECONDS": 0.01, "PROVIDER_RETRIES": 2}
    monkeypatch.setenv("OPENAI_API_KEY", GOOD_KEY)
    monkeypatch.setenv("FAKECOMPAT_API_KEY", GOOD_KEY)
    credential_cache_clear()
    yield fake_openai_server
    credential_cache_clear()
