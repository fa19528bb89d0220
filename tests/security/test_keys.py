"""API keys (docs/contract.md, tenancy): stored as a SHA-256 hash and a short prefix only, and a revoked key refused by a
running server (uvicorn, its own process) within a second: the auth cache holds a key for
INFERGATE["AUTH_CACHE_SECONDS"] (1 s)."""

from __future__ import annotations

import asyncio
import hashlib
import time

import httpx
from django.conf import settings
from django.forms.models import model_to_dict

from tenancy.accounts.models import ApiKey
from tenancy.accounts.services import api_key_revoke
from tests.conftest import tenant_create

ECHO = {"provider": "test", "model": "echo", "inputs": {"prompts": ["hi"]}}


def test_only_a_hash_and_a_prefix_are_stored(transactional_db):
    tenant = tenant_create("hash-org")
    row = ApiKey.objects.get(id=tenant.key_id)
    assert row.secret_hash == hashlib.sha256(tenant.secret.encode()).hexdigest()
    assert tenant.secret.startswith(row.prefix) and len(row.prefix) <= 12
    random_part = tenant.secret[len("sk_live_"):]
    assert len(random_part) >= 32
    stored = " ".join(str(value) for value in model_to_dict(row).values())
    assert random_part not in stored and random_part[4:] not in stored


def test_a_revoked_key_is_refused_by_a_running_server_within_a_second(live_server_url, transactional_db):
    assert settings.INFERGATE["AUTH_CACHE_SECONDS"] <= 1.0
    tenant = tenant_create("revoke-org")
    with httpx.Client(base_url=live_server_url, timeout=30) as http:
        def call() -> int:
            return http.post("/v1/inference", json=ECHO, headers=tenant.headers()).status_code

        assert call() == 200  # the server now holds the key in its cache
        api_key_revoke(key=ApiKey.objects.get(id=tenant.key_id))
        revoked_at = time.monotonic()
        statuses = []
        while time.monotonic() - revoked_at < 1.0:
            statuses.append((time.monotonic() - revoked_at, call()))
        assert call() == 401  # every request sent a second after the revocation is refused
        refused_after = next(at for at, status in statuses + [(1.0, 401)] if status == 401)
        assert all(status == 401 for at, status in statuses if at >= refused_after), statuses
    assert refused_after <= 1.0


async def test_a_revoked_key_is_refused_on_a_websocket_it_opened(transactional_db):
    from asgiref.sync import sync_to_async

    from playground.asgi import application
    from tests.wsclient import WebsocketClient

    tenant = await sync_to_async(tenant_create)("revoke-ws-org")
    socket = WebsocketClient(application, "/v1/inference/stream", headers=tenant.headers())
    assert await socket.connect()
    await socket.send(ECHO)
    assert (await socket.until("done", "error"))[-1]["type"] == "done"
    await sync_to_async(lambda: api_key_revoke(key=ApiKey.objects.get(id=tenant.key_id)))()
    await asyncio.sleep(settings.INFERGATE["AUTH_CACHE_SECONDS"] + 0.05)
    await socket.send(ECHO)  # the socket is still open; its next request is checked again
    error = (await socket.until("done", "error"))[-1]
    assert error["type"] == "error" and error["error"]["status"] == 401, error
    await socket.close()
