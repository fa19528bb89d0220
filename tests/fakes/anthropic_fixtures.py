"""Fixtures for the Anthropic adapter tests: the wire-format fake (one per session) and settings that
point the ``anthropic`` provider at it, with fast retries and a short timeout."""

from __future__ import annotations

import pytest

from playground.credentials.selectors import credential_cache_clear
from tests.fakes.anthropic_server import GOOD_KEY, FakeAnthropic


@pytest.fixture(scope="session")
def fake_anthropic_server():
    server = FakeAnthropic()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake_anthropic(fake_anthropic_server, settings, monkeypatch):
    fake_anthropic_server.reset()
    settings.INFERGATE = {**settings.INFERGATE, "ANTHROPIC_BASE_URL": fake_anthropic_server.base_url,
                          "PROVIDER_TIMEOUT_SECONDS": 1.0, "PROVIDER_RETRY_BASE_SECONDS": 0.01,
                          "PROVIDER_RETRIES": 2}
    monkeypatch.setenv("ANTHROPIC_API_KEY", GOOD_KEY)
    for name in ("ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "ANTHROPIC_CUSTOM_HEADERS"):
        monkeypatch.delenv(name, raising=False)  # the SDK would read them
    credential_cache_clear()
    yield fake_anthropic_server
    credential_cache_clear()
