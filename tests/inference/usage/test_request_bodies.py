"""Request bodies kept for a namespace that turns logging on: off by default, stored by the Celery worker after the
answer (media replaced by references), read back by an admin key of that namespace only, expired after the
namespace's retention. Real PostgreSQL, Redis and a Celery worker."""

import asyncio
import json
import time
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from inference.usage.bodies import media_scrubbed, request_bodies_expire
from inference.usage.models import RequestBody
from tests.conftest import assert_envelope, post_inference, tenant_create
from tests.sse import sse_events

CHAT = {"provider": "test", "model": "echo", "inputs": {"messages": [{"role": "user", "content": "keep me"}]},
        "parameters": {"temperature": 0}}


@sync_to_async
def admin():
    return tenant_create("acme", "main", permissions=["read", "write", "admin"])


async def logged(client, tenant, request_id: str, timeout: float = 20.0):
    """The logged body, once the worker has stored it."""
    deadline = time.monotonic() + timeout
    while True:
        answer = await client.get(f"/v1/namespaces/main/requests/{request_id}", headers=tenant.headers())
        if answer.status_code == 200:
            return answer.json()
        assert answer.status_code == 404 and time.monotonic() < deadline, answer.content
        await asyncio.sleep(0.2)


async def turn_on(client, tenant, **settings):
    answer = await client.patch("/v1/namespaces/main/request-log", json.dumps({"enabled": True, **settings}),
                                content_type="application/json", headers=tenant.headers())
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_media_is_replaced_by_its_hash_and_size():
    picture = "iVBORw0KGgo" + "A" * 5000
    scrubbed = media_scrubbed({"inputs": {"image_base64": picture, "prompts": ["short text stays"]},
                               "messages": [{"content": [{"type": "image_url", "image_url": {
                                   "url": "data:image/png;base64," + picture}}]}],
                               "source": {"type": "base64", "data": picture}, "note": "x" * 300})
    assert scrubbed["inputs"]["image_base64"] == {"omitted": "media", "bytes": len(picture), "sha256": scrubbed[
        "inputs"]["image_base64"]["sha256"]}
    assert scrubbed["inputs"]["prompts"] == ["short text stays"]
    assert scrubbed["messages"][0]["content"][0]["image_url"]["url"]["omitted"] == "media"
    assert scrubbed["source"]["data"]["omitted"] == "media"
    assert scrubbed["note"] == "x" * 300  # long text is not media


async def test_off_by_default_then_kept_and_read_back_by_an_admin_only(transactional_db, client, worker):
    tenant = await admin()
    shown = await client.get("/v1/namespaces/main/request-log", headers=tenant.headers())
    assert shown.json()["enabled"] is False and shown.json()["retention_days"] == 7
    before = await post_inference(client, CHAT, tenant.headers(**{"X-Request-ID": "before-logging"}))
    assert before.status_code == 200
    assert (await turn_on(client, tenant, retention_days=3)) == {"namespace": tenant.namespace.id, "enabled": True,
                                                                 "retention_days": 3}
    after = await post_inference(client, CHAT, tenant.headers(**{"X-Request-ID": "after-logging"}))
    found = await logged(client, tenant, "after-logging")
    assert found["body"] == CHAT and found["status"] == 200 and found["endpoint"] == "inference"
    assert found["response"]["data"] == after.json()["data"]
    assert (await client.get("/v1/namespaces/main/requests/before-logging",
                             headers=tenant.headers())).status_code == 404
    reader = await sync_to_async(tenant_create)("acme", "main", permissions=["read"])
    assert_envelope(await client.get("/v1/namespaces/main/requests/after-logging", headers=reader.headers()), 403,
                    "ForbiddenError")
    other = await sync_to_async(tenant_create)("globex", "main", permissions=["read", "admin"])
    assert_envelope(await client.get("/v1/namespaces/main/requests/after-logging", headers=other.headers()), 404,
                    "NotFoundError")


async def test_a_failed_call_a_stream_and_a_saved_prompt_are_logged_as_sent(transactional_db, client, worker):
    tenant = await admin()
    await turn_on(client, tenant)
    failing = {**CHAT, "model": "fail-502"}
    assert (await post_inference(client, failing, tenant.headers(**{"X-Request-ID": "failed"}))).status_code == 502
    found = await logged(client, tenant, "failed")
    assert found["status"] == 502 and found["response"]["error"]["type"] == "ProviderError"
    await sse_events(client, tenant, {**CHAT, "inputs": {"prompts": ["streamed"]}})
    records = await sync_to_async(lambda: list(RequestBody.objects.filter(namespace_id=tenant.namespace.id)))()
    deadline = time.monotonic() + 20
    while not any(r.body.get("inputs", {}).get("prompts") == ["streamed"] for r in records):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.2)
        records = await sync_to_async(lambda: list(RequestBody.objects.filter(namespace_id=tenant.namespace.id)))()
    streamed = next(r for r in records if r.body.get("inputs", {}).get("prompts") == ["streamed"])
    assert streamed.response["data"]["responses"][0]["text"] == "streamed"
    saved = await client.post("/v1/namespaces/main/prompts", json.dumps({
        "name": "hello", "target": "test/echo", "messages": [{"role": "user", "content": "Hi {{who}}"}]}),
        content_type="application/json", headers=tenant.headers())
    assert saved.status_code == 201, saved.content
    call = {"prompt": {"id": "hello", "variables": {"who": "there"}}}
    assert (await post_inference(client, call, tenant.headers(**{"X-Request-ID": "prompted"}))).status_code == 200
    assert (await logged(client, tenant, "prompted"))["body"] == call  # the call as sent: it opens the prompt again


async def test_bad_settings_are_a_422_that_changes_nothing_and_need_admin(transactional_db, client):
    tenant = await admin()
    for body in ({"enabled": "yes"}, {"retention_days": 0}, {"retention_days": 91}, {"keep": True}, {}):
        answer = await client.patch("/v1/namespaces/main/request-log", json.dumps(body),
                                    content_type="application/json", headers=tenant.headers())
        assert_envelope(answer, 422, "ValidationError")
    assert (await client.get("/v1/namespaces/main/request-log", headers=tenant.headers())).json()["enabled"] is False
    reader = await sync_to_async(tenant_create)("acme", "main", permissions=["read"])
    answer = await client.patch("/v1/namespaces/main/request-log", json.dumps({"enabled": True}),
                                content_type="application/json", headers=reader.headers())
    assert_envelope(answer, 403, "ForbiddenError")


@pytest.mark.django_db
def test_bodies_past_their_namespaces_retention_are_deleted():
    from inference.usage.bodies import request_log_settings_update

    tenant = tenant_create("acme", "main")
    request_log_settings_update(namespace_id=tenant.namespace.id, changes={"enabled": True, "retention_days": 2})
    now = timezone.now()
    for request_id, age in (("fresh", 1), ("old", 3)):
        import uuid

        RequestBody.objects.create(id=uuid.uuid4(), namespace=tenant.namespace, request_id=request_id, body={},
                                   created_at=now - timedelta(days=age))
    assert request_bodies_expire() == 1
    assert list(RequestBody.objects.values_list("request_id", flat=True)) == ["fresh"]
