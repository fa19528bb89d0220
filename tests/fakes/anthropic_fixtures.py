"""Fixtures for the Anthropic adapter tests: the wire-format fake (one per session) and settings that
point the ``anthropic`` provider at it, with fast retries and a short timeout."""

from __future__ import annotations

import pytest

from tests.fakes.anthropic_server import GOOD_KEY, FakeAnthropic
from tests.fakes.fixtures import fake_in_use, fake_serving


@pytest.fixture(scope="session")
def fake_anthropic_server():
    yield from fake_serving(FakeAnthropic())


@pytest.fixture
def fake_anthropic(fake_anthropic_server, settings, monkeypatch):
    yield from fake_in_use(fake_anthropic_server, settings=settings, monkeypatch=monkeypatch,
                           infergate={"ANTHROPIC_BASE_URL": fake_anthropic_server.base_url},
                           environment={"ANTHROPIC_API_KEY": GOOD_KEY},
                           # the SDK would read them
                           unset=("ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "ANTHROPIC_CUSTOM_HEADERS"))
