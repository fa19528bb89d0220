"""Per-namespace provider timeout: set through PATCH /v1/namespaces/{ns}, it reaches the adapter through
the call (no module state), so two namespaces of one organization wait differently for the same slow
upstream; a call with no answer in time is a 504 naming the timeout."""

from asgiref.sync import sync_to_async

from tests.conftest import assert_envelope, ausage_records, post_inference, tenant_create
from tests.fakes.openai_server import Scripted

CHAT = {"provider": "openai", "model": "gpt-4o-mini", "inputs": {"prompts": ["hi"]}}


@sync_to_async
def tenants():
    return (tenant_create("acme", "patient", permissions=["admin"]),
            tenant_create("acme", "hasty", permissions=["admin"]))


async def timeout_set(client, tenant, seconds):
    return await client.patch(f"/v1/namespaces/{tenant.namespace.name}", {"provider_timeout_seconds": seconds},
                              content_type="application/json", headers=tenant.headers())


async def test_each_namespace_waits_its_own_timeout(transactional_db, client, fake_openai):
    patient, hasty = await tenants()
    answer = await timeout_set(client, hasty, 0.3)
    assert answer.status_code == 200, answer.content
    assert answer.json()["provider_timeout_seconds"] == 0.3

    fake_openai.script(Scripted(delay_s=0.6))  # the fixture's default timeout is 1 s
    assert (await post_inference(client, CHAT, patient.headers())).status_code == 200

    fake_openai.script(Scripted(delay_s=0.6))
    body = assert_envelope(await post_inference(client, CHAT, hasty.headers()), 504, "TimeoutError")
    assert body["error"]["details"] == {"provider": "openai", "timeout_s": 0.3}
    assert "0.3 s" in body["error"]["message"]
    assert len(fake_openai.requests()) == 2  # a timeout is not retried

    records = await ausage_records()
    assert [(r.namespace_id, r.status) for r in records] == [(patient.namespace.id, 200), (hasty.namespace.id, 504)]


async def test_a_longer_namespace_timeout_lets_a_slow_answer_through(transactional_db, client, fake_openai):
    patient, _ = await tenants()
    assert (await timeout_set(client, patient, 2)).status_code == 200
    fake_openai.script(Scripted(delay_s=1.3))  # over the 1 s default, under the namespace's 2 s
    assert (await post_inference(client, CHAT, patient.headers())).status_code == 200
    assert (await timeout_set(client, patient, None)).json()["provider_timeout_seconds"] is None
    fake_openai.script(Scripted(delay_s=1.3))
    assert_envelope(await post_inference(client, CHAT, patient.headers()), 504, "TimeoutError")


async def test_bad_timeouts_are_422_and_change_nothing(transactional_db, client):
    patient, _ = await tenants()
    for bad in (0, -1, 601, "10", True):
        body = assert_envelope(await timeout_set(client, patient, bad), 422, "ValidationError")
        assert body["error"]["details"]["errors"][0]["field"] == "provider_timeout_seconds"
    got = await client.get(f"/v1/namespaces/{patient.namespace.name}", headers=patient.headers())
    assert got.json()["provider_timeout_seconds"] is None


async def test_setting_a_timeout_needs_admin(transactional_db, client):
    reader = await sync_to_async(tenant_create)("acme", "main", permissions=["read"])
    body = assert_envelope(await timeout_set(client, reader, 5), 403, "ForbiddenError")
    assert body["error"]["details"] == {"required_permission": "admin"}
    assert (await client.get(f"/v1/namespaces/{reader.namespace.name}", headers=reader.headers())).status_code == 200
