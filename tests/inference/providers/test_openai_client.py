"""The SDK client per call: one copy per key and timeout, kept (a copy per call cost a thread hop)."""

from __future__ import annotations

import pytest

from inference.providers.openai import client as client_module
from inference.providers.openai.client import sdk_client

BASE = "http://127.0.0.1:9/v1"


async def test_the_same_key_and_timeout_reuse_one_copy_that_sends_that_key():
    first = sdk_client(BASE, "sk-namespace-a", 30.0)
    assert sdk_client(BASE, "sk-namespace-a", 30.0) is first
    assert first.api_key == "sk-namespace-a" and first.timeout == 30.0 and first.max_retries == 0


async def test_another_key_or_timeout_gets_its_own_copy_on_the_shared_pool():
    a = sdk_client(BASE, "sk-namespace-a", 30.0)
    b = sdk_client(BASE, "sk-namespace-b", 30.0)
    slower = sdk_client(BASE, "sk-namespace-a", 60.0)
    assert len({id(a), id(b), id(slower)}) == 3
    assert (b.api_key, slower.timeout) == ("sk-namespace-b", 60.0)
    assert a._client is b._client is slower._client  # one connection pool per base URL


async def test_copies_are_bounded(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(client_module, "MAX_COPIES", 3)
    clients = [sdk_client(BASE, f"sk-key-{i}", 30.0) for i in range(5)]
    assert [c.api_key for c in clients] == [f"sk-key-{i}" for i in range(5)]
    assert sdk_client(BASE, "sk-key-4", 30.0) is clients[4]
    assert sdk_client(BASE, "sk-key-0", 30.0) is not clients[0]  # forgotten when the copies were cleared
