"""Rate limits and budgets in Redis: headers on every answer, 429s with their envelope, atomic under
concurrency and across processes, tokens reserved then settled, and a policy for a Redis outage."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
from asgiref.sync import sync_to_async

from tenancy.accounts.limits import limits_settled
from tenancy.accounts.models import Namespace
from tests.conftest import assert_envelope, ausage_records, post_inference, tenant_create

ECHO = {"provider": "test", "model": "echo", "inputs": {"prompts": ["hello there"]}, "parameters": {"max_tokens": 8}}


async def make_tenant(org: str = "acme", namespace: str = "main", **key_options):
    return await sync_to_async(tenant_create)(org, namespace, **key_options)


async def test_every_answer_carries_the_limit_headers(transactional_db, client):
    tenant = await make_tenant()
    first = await post_inference(client, ECHO, tenant.headers())
    second = await post_inference(client, ECHO, tenant.headers())
    assert first.status_code == second.status_code == 200
    assert first.headers["X-RateLimit-Limit"] == "600"  # the settings' default per key
    assert int(first.headers["X-RateLimit-Remaining"]) == int(second.headers["X-RateLimit-Remaining"]) + 1
    assert 1 <= int(first.headers["X-RateLimit-Reset"]) <= 60
    assert first.headers["X-RateLimit-Limit-Tokens"] == "1000000"
    bad = await post_inference(client, {**ECHO, "inputs": {"text": "x"}}, tenant.headers())
    assert_envelope(bad, 422, "ValidationError")
    assert "X-RateLimit-Limit" in bad.headers  # errors after the key is known carry them too


async def test_key_requests_per_minute_then_429_in_the_envelope(transactional_db, client):
    tenant = await make_tenant(rate_limit_rpm=3)
    statuses = [(await post_inference(client, ECHO, tenant.headers())).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    refused = await post_inference(client, ECHO, tenant.headers())
    body = assert_envelope(refused, 429, "TooManyRequestsError")
    details = body["error"]["details"]
    assert (details["limit"], details["window"], details["which"]) == (3, "1m", "key_requests")
    assert 1 <= details["retry_after"] <= 60 and refused.headers["Retry-After"] == str(details["retry_after"])
    assert refused.headers["X-RateLimit-Limit"] == "3" and refused.headers["X-RateLimit-Remaining"] == "0"
    records = await ausage_records()
    assert [r.status for r in records] == [200, 200, 200, 429]
    assert records[-1].error_type == "TooManyRequestsError" and records[-1].completion_tokens == 0


async def test_concurrent_requests_cannot_overshoot(transactional_db, client):
    tenant = await make_tenant(rate_limit_rpm=20)
    responses = await asyncio.gather(*[post_inference(client, ECHO, tenant.headers()) for _ in range(60)])
    assert sorted(r.status_code for r in responses).count(200) == 20


async def test_limits_hold_across_processes(transactional_db, client, live_server_url):
    """Half the requests go to this process, half to a uvicorn server: one limit for both."""
    tenant = await make_tenant(rate_limit_rpm=10)
    async with httpx.AsyncClient(base_url=live_server_url, timeout=30) as remote:
        local = [post_inference(client, ECHO, tenant.headers()) for _ in range(8)]
        far = [remote.post("/v1/inference", json=ECHO, headers=tenant.headers()) for _ in range(8)]
        responses = await asyncio.gather(*local, *far)
    assert [r.status_code for r in responses].count(200) == 10


async def test_namespace_limit_spans_its_keys(transactional_db, client):
    one = await make_tenant("acme", "shared")
    other = await make_tenant("acme", "shared")
    await sync_to_async(Namespace.objects.filter(id=one.namespace.id).update)(rate_limit_rpm=2)
    await asyncio.sleep(1.1)  # namespaces are cached for a second per process
    assert (await post_inference(client, ECHO, one.headers())).status_code == 200
    assert (await post_inference(client, ECHO, other.headers())).status_code == 200
    refused = await post_inference(client, ECHO, one.headers())
    assert assert_envelope(refused, 429, "TooManyRequestsError")["error"]["details"]["which"] == "namespace_requests"


async def test_tokens_are_reserved_then_settled_to_what_was_used(transactional_db, client):
    tenant = await make_tenant(rate_limit_tpm=100)
    too_big = await post_inference(client, {**ECHO, "parameters": {"max_tokens": 200}}, tenant.headers())
    assert assert_envelope(too_big, 429, "TooManyRequestsError")["error"]["details"]["which"] == "key_tokens"
    # "hello there": 3 estimated prompt tokens + max_tokens 8 reserved; the echo uses 2 + 2.
    first = await post_inference(client, ECHO, tenant.headers())
    assert first.headers["X-RateLimit-Remaining-Tokens"] == str(100 - 11)
    await limits_settled()
    second = await post_inference(client, ECHO, tenant.headers())
    assert second.headers["X-RateLimit-Remaining-Tokens"] == str(100 - 4 - 11)


async def test_monthly_budget_of_a_namespace(transactional_db, client):
    tenant = await make_tenant("acme", "budgeted")
    await sync_to_async(Namespace.objects.filter(id=tenant.namespace.id).update)(monthly_budget_usd=Decimal("5"))
    await asyncio.sleep(1.1)
    priced = {"provider": "test", "model": "echo-priced", "inputs": {"prompts": ["hi"]}, "parameters": {"max_tokens": 1}}
    # a dollar a token: 1 estimated prompt token + 1 reserved = $2 a request; the echo spends 1 + 1
    for _ in range(2):
        assert (await post_inference(client, priced, tenant.headers())).status_code == 200
        await limits_settled()
    refused = await post_inference(client, priced, tenant.headers())
    details = assert_envelope(refused, 429, "TooManyRequestsError")["error"]["details"]
    assert (details["which"], details["window"], details["unit"]) == ("namespace_budget", "month", "micro-USD")
    spent = sum(r.cost_usd for r in await ausage_records(status=200))
    assert spent == Decimal("4")


async def test_redis_down_fails_open_by_default_and_closed_on_request(transactional_db, client, settings):
    tenant = await make_tenant(rate_limit_rpm=1)
    working_redis, settings.REDIS_URL = settings.REDIS_URL, "redis://127.0.0.1:1/0"
    for _ in range(3):  # the limit of 1 cannot be checked: admitted, no limit headers
        response = await post_inference(client, ECHO, tenant.headers())
        assert response.status_code == 200 and "X-RateLimit-Limit" not in response.headers
    settings.INFERGATE = {**settings.INFERGATE, "LIMITS_ON_REDIS_ERROR": "closed"}
    assert_envelope(await post_inference(client, ECHO, tenant.headers()), 503, "ServiceUnavailableError")
    settings.REDIS_URL = working_redis
    # With the usage stream out of reach too, the in-process writer kept every record.
    assert [r.status for r in await ausage_records()] == [200, 200, 200, 503]
