"""Fixtures for the OpenAI adapter tests: the wire-format fake (one per session) and settings that
point the ``openai`` and ``fakecompat`` providers at it, with fast retries and a short timeout."""

from __future__ import annotations

import pytest

from tests.fakes.fixtures import fake_in_use, fake_serving
from tests.fakes.openai_server import GOOD_KEY, FakeOpenAI


@pytest.fixture(scope="session")
def fake_openai_server():
    yield from fake_serving(FakeOpenAI())


@pytest.fixture
def fake_openai(fake_openai_server, settings, monkeypatch):
    compatible = {**settings.INFERGATE["OPENAI_COMPATIBLE"]}
    compatible["fakecompat"] = {**compatible["fakecompat"], "base_url": fake_openai_server.base_url}
    yield from fake_in_use(fake_openai_server, settings=settings, monkeypatch=monkeypatch,
                           infergate={"OPENAI_BASE_URL": fake_openai_server.base_url, "OPENAI_COMPATIBLE": compatible},
                           environment={"OPENAI_API_KEY": GOOD_KEY, "FAKECOMPAT_API_KEY": GOOD_KEY})
