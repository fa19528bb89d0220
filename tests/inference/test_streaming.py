"""Streaming over the websocket (/v1/inference/stream) and Server-Sent Events (POST /v1/inference/stream)."""

from __future__ import annotations

import json
import time

import httpx
import pytest
import websockets
from asgiref.sync import sync_to_async

from playground.asgi import application
from tests.conftest import assert_envelope, ausage_records, post_inference, tenant_create, wait_for_record
from tests.sse import parse_sse, texts_from_deltas
from tests.wsclient import WebsocketClient

CHAT = {"provider": "local", "model": "smollm2-135m-instruct"}
PATH = "/v1/inference/stream"


def chat(*prompts: str, **parameters) -> dict:
    return {**CHAT, "inputs": {"prompts": list(prompts)}, "parameters": {"temperature": 0, **parameters}}


@pytest.fixture
async def socket(tenant):
    ws = WebsocketClient(application, PATH, tenant.headers())
    assert await ws.connect()
    yield ws
    await ws.close()


async def test_events_in_order_and_deltas_equal_the_final_text(tenant, socket, client):
    body = chat("Hi there", "Name a fruit.", max_tokens=24)
    await socket.send(body)
    events = await socket.until("done", "error")
    kinds = [e["type"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done" and set(kinds[1:-1]) == {"delta"}, kinds
    assert events[0]["provider"] == "local" and events[0]["model"] == "smollm2-135m-instruct"
    response = events[-1]["response"]
    assert set(response) == {"data", "provider", "model", "latency_ms", "tokens_used", "cached"}
    answers = response["data"]["responses"]
    assert texts_from_deltas(events) == {i: a["text"] for i, a in enumerate(answers)}
    assert all(a["text"] and a["finish_reason"] in {"stop", "length"} for a in answers)
    # The same greedy request, not streamed, gives the same answers and the same token counts.
    plain = (await post_inference(client, body, tenant.headers())).json()
    assert plain["data"] == response["data"] and plain["tokens_used"] == response["tokens_used"]
    streamed, _ = await ausage_records()
    assert (streamed.status, streamed.prompt_tokens, streamed.completion_tokens) == (
        200, response["tokens_used"]["prompt"], response["tokens_used"]["completion"])
    assert streamed.request_id == events[0]["request_id"]


async def test_a_non_streaming_target_answers_with_start_and_done(socket):
    await socket.send({"provider": "local", "model": "all-minilm-l6-v2", "inputs": {"texts": ["a", "b"]}})
    start, done = await socket.until("done", "error")
    assert (start["type"], done["type"]) == ("start", "done")
    assert len(done["response"]["data"]["embeddings"]) == 2


async def test_requests_run_one_after_another_on_one_socket(socket):
    for prompt in ("One", "Two", "Three"):
        await socket.send(chat(prompt, max_tokens=4))
        assert (await socket.until("done", "error"))[-1]["type"] == "done"
    assert len(await ausage_records(status=200)) == 3


async def test_cancel_stops_generation_records_what_was_generated_and_frees_the_model(socket):
    await socket.send(chat("Count from one to one hundred in words.", max_tokens=400))
    events = await socket.until("delta")
    await socket.send({"type": "cancel"})
    rest = await socket.until("error")
    assert rest[-1]["error"]["status"] == 499 and rest[-1]["error"]["error"]["type"] == "Cancelled"
    generated = len([e for e in events + rest if e["type"] == "delta"])
    # The model is free again at once: the next request on the same socket is answered.
    started = time.perf_counter()
    await socket.send(chat("Hi", max_tokens=4))
    assert (await socket.until("done", "error"))[-1]["type"] == "done"
    assert time.perf_counter() - started < 10
    cancelled = (await ausage_records(status=499))[0]
    assert cancelled.error_type == "Cancelled" and cancelled.prompt_tokens > 0
    assert generated <= cancelled.completion_tokens < 400


async def test_disconnect_mid_stream_records_usage_and_frees_the_model(tenant, socket, client):
    await socket.send(chat("Write a long story about a dragon.", max_tokens=400))
    await socket.until("delta")
    await socket.close()
    started = time.perf_counter()
    response = await post_inference(client, chat("Hi", max_tokens=4), tenant.headers())
    assert response.status_code == 200 and time.perf_counter() - started < 10
    (cut,) = await ausage_records(status=499)
    assert cut.completion_tokens >= 1 and cut.completion_tokens < 400


async def test_a_second_request_while_one_runs_is_refused(socket):
    await socket.send(chat("Tell me about the sea.", max_tokens=64))
    await socket.until("start")
    await socket.send(chat("Another", max_tokens=4))
    events = await socket.until("error")
    assert events[-1]["error"]["status"] == 400
    assert (await socket.until("done"))[-1]["type"] == "done"


@pytest.mark.parametrize("body, status, error_type", [
    ("{not json", 400, "BadRequestError"),
    ({"provider": "local", "model": "smollm2-135m-instruct", "inputs": {"text": "x"}}, 422, "ValidationError"),
    ({"provider": "nope", "model": "x", "inputs": {}}, 400, "BadRequestError"),
    ({**chat("x"), "extra": 1}, 422, "ValidationError"),
])
async def test_a_bad_body_gets_an_error_event_and_the_socket_stays_open(socket, body, status, error_type):
    await socket.send(body)
    (event,) = await socket.until("error")
    assert event["error"]["status"] == status and event["error"]["error"]["type"] == error_type
    await socket.send(chat("Hi", max_tokens=2))
    assert (await socket.until("done", "error"))[-1]["type"] == "done"
    assert [r.status for r in await ausage_records()] == [status, 200]


@pytest.mark.parametrize("headers, close_code", [
    ({}, 4401),
    ({"Authorization": "Bearer sk_live_unknownunknownunknown"}, 4401),
    ("no-namespace", 4400),
    ("other-namespace", 4404),
])
async def test_a_bad_key_is_refused_before_any_work(tenant, headers, close_code):
    if headers == "no-namespace":
        headers = {"Authorization": f"Bearer {tenant.secret}"}
    elif headers == "other-namespace":
        headers = tenant.headers("does-not-exist")
    ws = WebsocketClient(application, PATH, headers)
    await ws.connect()
    event = await ws.receive()
    assert event["type"] == "error" and event["error"]["status"] == close_code - 4000
    assert await ws.receive() is None and ws.close_code == close_code
    assert tenant.secret not in json.dumps(event)


async def test_other_websocket_paths_are_refused(transactional_db):
    ws = WebsocketClient(application, "/v1/elsewhere")
    assert not await ws.connect()


# -- tickets for browser sessions -------------------------------------------------------------------

def _session_user(tenant, role: str) -> tuple[str, str]:
    """A signed-in user (Membership with ``role`` in the tenant's organization): session and CSRF cookies."""
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    from tenancy.accounts.models import Membership

    user = get_user_model().objects.create_user(f"user-{role}", password="pw-not-used")
    if role != "outsider":
        Membership.objects.create(organization=tenant.organization, user=user, role=role)
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    return session.session_key, "c" * 32


async def _mint(client, tenant, role: str, namespace: str):
    session_key, csrf = await sync_to_async(_session_user)(tenant, role)
    return await client.post(f"{PATH}/tickets", json.dumps({"namespace": namespace}), content_type="application/json",
                             headers={"Cookie": f"sessionid={session_key}; csrftoken={csrf}", "X-CSRFToken": csrf})


async def test_a_session_ticket_opens_the_socket_without_an_api_key(tenant, client):
    minted = await _mint(client, tenant, "member", tenant.namespace.name)
    assert minted.status_code == 200, minted.content
    ticket = minted.json()["ticket"]
    ws = WebsocketClient(application, PATH, query=f"ticket={ticket}")
    assert await ws.connect()
    await ws.send(chat("Hi", max_tokens=3))
    assert (await ws.until("done", "error"))[-1]["type"] == "done"
    await ws.close()
    (record,) = await ausage_records()
    assert record.namespace_id == tenant.namespace.id and record.api_key_id is None and record.status == 200


async def test_tickets_need_membership_a_session_and_a_valid_signature(tenant, client):
    assert_envelope(await _mint(client, tenant, "outsider", tenant.namespace.name), 404, "NotFoundError")
    anonymous = await client.post(f"{PATH}/tickets", json.dumps({"namespace": "main"}),
                                  content_type="application/json")
    assert anonymous.status_code == 403  # no CSRF token and no session: refused before anything
    ticket = (await _mint(client, tenant, "admin", tenant.namespace.id)).json()["ticket"]
    for forged in (ticket[:-2] + "xx", "garbage"):
        ws = WebsocketClient(application, PATH, query=f"ticket={forged}")
        await ws.connect()
        assert (await ws.receive())["error"]["error"]["type"] == "UnauthorizedError"
        assert await ws.receive() is None and ws.close_code == 4401


# -- Server-Sent Events -----------------------------------------------------------------------------

async def test_sse_streams_the_same_events(tenant, client):
    response = await client.post(PATH, json.dumps(chat("Name a colour.", max_tokens=12)),
                                 content_type="application/json",
                                 headers={**tenant.headers(), "Accept": "text/event-stream"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    assert events[0]["type"] == "start" and events[-1]["type"] == "done"
    assert texts_from_deltas(events)[0] == events[-1]["response"]["data"]["responses"][0]["text"]
    assert response.headers["X-Request-ID"] == events[0]["request_id"]


async def test_sse_refusals_before_the_stream_keep_their_status(tenant, client):
    bad_key = await client.post(PATH, json.dumps(chat("x")), content_type="application/json",
                                headers={"Authorization": "Bearer sk_live_nopenopenope"})
    assert_envelope(bad_key, 401, "UnauthorizedError")
    bad_body = await client.post(PATH, "{", content_type="application/json", headers=tenant.headers())
    assert_envelope(bad_body, 400, "BadRequestError")
    assert [r.status for r in await ausage_records()] == [401, 400]


# -- through the real server that `make run` uses ---------------------------------------------------



async def test_real_server_websocket_and_sse(transactional_db, live_server_url):
    tenant = await sync_to_async(tenant_create)("live", "main")
    ws_url = live_server_url.replace("http://", "ws://") + PATH
    async with websockets.connect(ws_url, additional_headers=tenant.headers()) as ws:
        # The client offers permessage-deflate; the server (web_command) declines it: per-socket zlib state
        # made the gateway's heap grow in the soak (bench/results/2026-11-24-gateway-soak.md).
        assert "permessage-deflate" in ws.request.headers["Sec-WebSocket-Extensions"]
        assert "Sec-WebSocket-Extensions" not in ws.response.headers
        await ws.send(json.dumps(chat("Name an animal.", max_tokens=10)))
        events = []
        while not events or events[-1]["type"] not in ("done", "error"):
            events.append(json.loads(await ws.recv()))
    assert events[-1]["type"] == "done"
    assert texts_from_deltas(events)[0] == events[-1]["response"]["data"]["responses"][0]["text"]

    async with httpx.AsyncClient(base_url=live_server_url, timeout=60) as http:
        async with http.stream("POST", PATH, json=chat("Name a city.", max_tokens=10),
                               headers={**tenant.headers(), "Accept": "text/event-stream"}) as response:
            raw = "".join([chunk async for chunk in response.aiter_text()])
    assert parse_sse(raw)[-1]["type"] == "done"


async def test_real_server_sse_disconnect_stops_generation_and_records_usage(transactional_db, live_server_url):
    tenant = await sync_to_async(tenant_create)("live", "cut")
    async with httpx.AsyncClient(base_url=live_server_url, timeout=60) as http:
        async with http.stream("POST", PATH, json=chat("Write a long story about the sea.", max_tokens=500),
                               headers={**tenant.headers(), "X-Request-ID": "sse-cut-1"}) as response:
            async for chunk in response.aiter_text():
                if "event: delta" in chunk:
                    break
    record = await wait_for_record(request_id="sse-cut-1")
    assert record.status == 499 and 1 <= record.completion_tokens < 500


# -- progress of tasks over the channel layer (Redis) ------------------------------------------------

async def test_progress_reaches_subscribed_sockets_of_the_same_namespace_only(tenant, socket):
    from asgiref.sync import async_to_sync

    from inference.progress import task_progress_publish

    other = await sync_to_async(tenant_create)("other-org", "main")
    stranger = WebsocketClient(application, PATH, other.headers())
    assert await stranger.connect()
    for ws in (socket, stranger):
        await ws.send({"type": "subscribe", "task_id": "job-1"})
        assert (await ws.receive()) == {"type": "subscribed", "task_id": "job-1"}

    def celery_like_publish() -> None:  # a sync caller in another thread, as a Celery task would be
        async_to_sync(task_progress_publish)(namespace_id=tenant.namespace.id, task_id="job-1",
                                             event={"progress": 0.5, "status": "running"})

    await sync_to_async(celery_like_publish, thread_sensitive=False)()
    assert await socket.receive(timeout=10) == {"type": "progress", "progress": 0.5, "status": "running",
                                                "task_id": "job-1"}
    assert await stranger.nothing(timeout=1)
    await stranger.close()


async def test_subscribe_needs_a_sane_task_id(socket):
    await socket.send({"type": "subscribe", "task_id": "../../etc"})
    event = await socket.receive()
    assert event["type"] == "error" and event["error"]["status"] == 422


# -- rate limits on both transports -------------------------------------------------------------------

async def test_rate_limit_hit_on_the_websocket_and_over_sse(transactional_db, client):
    tenant = await sync_to_async(tenant_create)("limited", "main", rate_limit_rpm=1)
    ws = WebsocketClient(application, PATH, tenant.headers())
    assert await ws.connect()
    await ws.send(chat("Hi", max_tokens=2))
    assert (await ws.until("done", "error"))[-1]["type"] == "done"
    await ws.send(chat("Again", max_tokens=2))
    (refused,) = await ws.until("error")
    assert refused["error"]["status"] == 429 and refused["error"]["error"]["details"]["which"] == "key_requests"
    await ws.close()
    over_sse = await client.post(PATH, json.dumps(chat("Once more", max_tokens=2)), content_type="application/json",
                                 headers=tenant.headers())
    assert_envelope(over_sse, 429, "TooManyRequestsError")
    assert over_sse.headers["Retry-After"] and over_sse.headers["X-RateLimit-Remaining"] == "0"
    assert [r.status for r in await ausage_records()] == [200, 429, 429]
