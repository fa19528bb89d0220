"""GET /v1/organizations/usage and GET /v1/analytics/usage/summary: scope, filters, paging, errors."""

from __future__ import annotations

from datetime import timedelta

from asgiref.sync import sync_to_async

from inference.usage.models import UsageRecord
from inference.usage.rollups import usage_rollup, utc_today
from tests.conftest import assert_envelope, ausage_records, post_inference, tenant_create
from tests.inference.usage.factories import days_back, records_make

ECHO = {"provider": "test", "model": "echo", "inputs": {"prompts": ["hi"]}}


def key_headers(tenant) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant.secret}"}


def seed() -> tuple:
    acme = tenant_create("acme-usage", "main")
    second = tenant_create("acme-usage", "second", scoped=True)
    rival = tenant_create("rival-usage", "main")
    today = utc_today()
    for tenant, seed_ in ((acme, 1), (second, 2), (rival, 3)):
        records_make(organization_id=tenant.organization.id, namespace_ids=[tenant.namespace.id],
                     key_ids=[tenant.key_id], days=[*days_back(today, 3), today], per_day=30, seed=seed_)
    return acme, second, rival


async def test_records_are_paged_by_cursor_within_the_keys_scope(transactional_db, client):
    acme, second, rival = await sync_to_async(seed)()
    seen, cursor = [], None
    while True:
        response = await client.get("/v1/organizations/usage?limit=25" + (f"&cursor={cursor}" if cursor else ""),
                                    headers=key_headers(acme))
        assert response.status_code == 200, response.text
        body = response.json()
        seen += body["data"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len({r["id"] for r in seen}) == 240  # both namespaces of acme, none of rival
    assert [r["created_at"] for r in seen] == sorted((r["created_at"] for r in seen), reverse=True)
    assert {r["namespace_id"] for r in seen} == {acme.namespace.id, second.namespace.id}
    # A key scoped to one namespace sees that namespace only, and may not ask for another.
    scoped = (await client.get("/v1/organizations/usage?limit=1000", headers=key_headers(second))).json()["data"]
    assert len(scoped) == 120 and {r["namespace_id"] for r in scoped} == {second.namespace.id}
    assert_envelope(await client.get("/v1/organizations/usage?namespace=main", headers=key_headers(second)),
                    403, "ForbiddenError")
    assert_envelope(await client.get("/v1/organizations/usage?namespace=nope", headers=key_headers(acme)),
                    404, "NotFoundError")


async def test_records_filters(transactional_db, client):
    acme, second, _ = await sync_to_async(seed)()
    today = utc_today()
    query = f"namespace=second&status=502&model=big&start={today - timedelta(days=1)}&end={today}&limit=1000"
    data = (await client.get(f"/v1/organizations/usage?{query}", headers=key_headers(acme))).json()["data"]
    expected = await sync_to_async(UsageRecord.objects.filter(
        namespace=second.namespace, status=502, model="big", created_at__date__gte=today - timedelta(days=1)).count)()
    assert len(data) == expected > 0
    assert {(r["namespace_id"], r["status"], r["model"]) for r in data} == {(second.namespace.id, 502, "big")}
    by_key = (await client.get(f"/v1/organizations/usage?key={second.key_id}&limit=1000",
                               headers=key_headers(acme))).json()["data"]
    assert len(by_key) == 120 and {r["api_key_id"] for r in by_key} == {second.key_id}


async def test_bad_query_parameters_are_422_and_keys_need_read(transactional_db, client):
    acme, _, _ = await sync_to_async(seed)()
    for path in ("/v1/organizations/usage?start=yesterday", "/v1/organizations/usage?limit=0",
                 "/v1/organizations/usage?cursor=bm9wZQ", "/v1/organizations/usage?sort=asc",
                 "/v1/analytics/usage/summary?group_by=day,planet", "/v1/analytics/usage/summary?start=2026-02-30",
                 "/v1/analytics/usage/summary?start=2026-05-02&end=2026-05-01",
                 "/v1/analytics/usage/summary?start=2020-01-01&end=2026-01-01",
                 "/v1/analytics/usage/summary?status=abc", "/v1/analytics/usage/summary?page=0"):
        assert_envelope(await client.get(path, headers=key_headers(acme)), 422, "ValidationError")
    unknown = assert_envelope(await client.get("/v1/organizations/usage?sort=asc", headers=key_headers(acme)),
                              422, "ValidationError")
    assert "namespace" in unknown["error"]["details"]["accepted_keys"]
    assert_envelope(await client.get("/v1/analytics/usage/summary"), 401, "UnauthorizedError")
    writer = await sync_to_async(tenant_create)("acme-usage", "main", permissions=["write"])
    assert_envelope(await client.get("/v1/analytics/usage/summary", headers=key_headers(writer)), 403, "ForbiddenError")


async def test_summary_groups_pages_and_counts_todays_live_requests(transactional_db, client):
    acme, second, rival = await sync_to_async(seed)()
    for _ in range(3):  # today's traffic, through the real endpoint
        assert (await post_inference(client, ECHO, acme.headers())).status_code == 200
    await sync_to_async(usage_rollup)(days=5)
    today = utc_today()
    start = today - timedelta(days=3)
    live = await ausage_records(provider="test", model="echo", request_id__startswith="req_")
    assert len(live) == 3
    url = f"/v1/analytics/usage/summary?start={start}&end={today}"
    overall = (await client.get(url, headers=key_headers(acme))).json()
    assert overall["total"] == 1 and overall["data"][0]["requests"] == 243  # 240 seeded + 3 live
    row = overall["data"][0]
    assert set(row) >= {"requests", "prompt_tokens", "completion_tokens", "total_tokens", "cost_usd", "latency_p50_ms",
                        "latency_p95_ms", "error_rate", "cache_hit_rate"}
    assert 0 < row["error_rate"] < 1 and 0 < row["cache_hit_rate"] < 1
    by_day = (await client.get(url + "&group_by=day&page_size=2", headers=key_headers(acme))).json()
    assert by_day["total"] == 4 and by_day["has_more"] and len(by_day["data"]) == 2
    page2 = (await client.get(url + "&group_by=day&page_size=2&page=2", headers=key_headers(acme))).json()
    days = [r["day"] for r in by_day["data"] + page2["data"]]
    assert days == [str(start + timedelta(days=n)) for n in range(4)] and not page2["has_more"]
    assert page2["data"][-1]["requests"] == 63  # today: raw records (60 seeded, 3 live)
    grouped = (await client.get(url + "&group_by=namespace,model,status", headers=key_headers(second))).json()
    assert {r["namespace_id"] for r in grouped["data"]} == {second.namespace.id}
    assert sum(r["requests"] for r in grouped["data"]) == 120
    assert all(set(r) >= {"provider", "model", "status"} for r in grouped["data"])
