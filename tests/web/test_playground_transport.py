"""The transport the playground uses, against the app under uvicorn: a websocket opened with a session
ticket stays usable however long the page keeps it open (redis-py's default 5 s socket timeout used to
close every socket after 5 s, through the channel layer's blocking read)."""

from __future__ import annotations

import asyncio
import json

import websockets
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.test import Client

from tenancy.accounts.models import Membership
from tests.conftest import wait_for_record


def _ticket(tenant) -> str:
    user = get_user_model().objects.create_user("ws-user", password="pw-not-used")
    Membership.objects.create(organization=tenant.organization, user=user, role=Membership.Role.MEMBER)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    browser.get("/playground")
    minted = browser.post("/v1/inference/stream/tickets", json.dumps({"namespace": "main"}),
                          content_type="application/json", HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value)
    assert minted.status_code == 200, minted.content
    return minted.json()["ticket"]


async def test_a_ticket_socket_still_answers_after_an_idle_minute_fraction(tenant, live_server_url):
    ticket = await sync_to_async(_ticket)(tenant)
    url = live_server_url.replace("http://", "ws://") + f"/v1/inference/stream?ticket={ticket}"
    async with websockets.connect(url) as socket:
        await asyncio.sleep(6.5)  # longer than the channel layer's 5 s blocking read
        await socket.send(json.dumps({"provider": "test", "model": "echo", "inputs": {"prompts": ["still here"]}}))
        events = []
        while not events or events[-1]["type"] not in ("done", "error"):
            events.append(json.loads(await asyncio.wait_for(socket.recv(), 60)))  # a fresh server loads models
    assert events[-1]["type"] == "done", events
    assert events[-1]["response"]["data"]["responses"][0]["text"] == "still here"
    record = await wait_for_record(request_id=events[0]["request_id"])  # the server writes it itself
    assert record.status == 200 and record.api_key_id is None and record.namespace_id == tenant.namespace.id
