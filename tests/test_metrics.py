"""GET /metrics: Prometheus text summed over processes, labelled by route, target and status, with limiter
and cache decisions, provider errors and the depths of the usage stream and Celery queue; optional token."""

from __future__ import annotations

import httpx
from asgiref.sync import sync_to_async
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families

from core.metrics import request_labels, request_observe
from inference.usage.records import UsageEntry
from tests.conftest import post_inference, tenant_create

PROMPT = "the-secret-recipe-is-cardamom"
ECHO = {"provider": "test", "model": "echo", "inputs": {"prompts": [PROMPT]}}


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(snapshot: dict, name: str, **labels: str) -> float:
    return snapshot.get((name, frozenset(labels.items())), 0.0)


async def scrape(client) -> tuple[str, dict]:
    response = await client.get("/metrics")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain")
    return response.text, samples(response.text)


def test_labels_name_the_target_only_once_resolved():
    resolved = UsageEntry(request_id="r", status=200, provider="openai", model="gpt-4o", modality="text_generation")
    unknown = UsageEntry(request_id="r", status=400, provider="openai", model="a-model-nobody-has-" + "x" * 50)
    assert request_labels(resolved) == ("inference", "openai", "gpt-4o", "200")
    assert request_labels(unknown) == ("inference", "", "", "400")
    # Any id of an open provider is forwarded: one no price table knows is not a label of its own.
    forwarded = UsageEntry(request_id="r", status=404, provider="openai", model="gpt-" + "x" * 50, modality="chat",
                           price_known=False)
    assert request_labels(forwarded) == ("inference", "openai", "(unpriced)", "404")


async def test_requests_limits_and_depths_are_counted(transactional_db, client):
    tenant = await sync_to_async(tenant_create)("metrics", "main", rate_limit_rpm=2)
    _, before = await scrape(client)
    statuses = [(await post_inference(client, ECHO, tenant.headers())).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    bad = await post_inference(client, {**ECHO, "model": "no-such-model"}, tenant.headers())
    assert bad.status_code in (400, 429)
    text, after = await scrape(client)
    route = {"route": "/v1/inference", "provider": "test", "model": "echo"}
    assert value(after, "infergate_requests_total", **route, status="200") - value(
        before, "infergate_requests_total", **route, status="200") == 2
    assert value(after, "infergate_request_duration_seconds_count", **route, status="200") - value(
        before, "infergate_request_duration_seconds_count", **route, status="200") == 2
    assert value(after, "infergate_limiter_decisions_total", decision="limited") - value(
        before, "infergate_limiter_decisions_total", decision="limited") >= 2
    assert value(after, "infergate_limiter_decisions_total", decision="admitted") - value(
        before, "infergate_limiter_decisions_total", decision="admitted") == 2
    assert ("infergate_usage_stream_depth", frozenset()) in after
    assert value(after, "infergate_celery_queue_depth", queue="celery") >= 0
    assert PROMPT not in text and tenant.secret not in text and "no-such-model" not in text


async def test_cache_decisions_and_provider_errors_come_from_usage_entries(transactional_db, client):
    _, before = await scrape(client)
    request_observe(UsageEntry(request_id="c", status=200, provider="openai", model="gpt-4o", modality="chat",
                               cache_decision="hit", cached=True))
    request_observe(UsageEntry(request_id="e", status=504, provider="openai", model="gpt-4o", modality="chat",
                               error_type="TimeoutError"))
    _, after = await scrape(client)
    assert value(after, "infergate_cache_decisions_total", decision="hit") - value(
        before, "infergate_cache_decisions_total", decision="hit") == 1
    assert value(after, "infergate_provider_errors_total", provider="openai", error_type="TimeoutError") - value(
        before, "infergate_provider_errors_total", provider="openai", error_type="TimeoutError") == 1


async def test_another_processs_requests_are_in_the_sum(transactional_db, client, live_server_url):
    tenant = await sync_to_async(tenant_create)("metrics-mp", "main")
    _, before = await scrape(client)
    async with httpx.AsyncClient(base_url=live_server_url, timeout=30) as http:  # the session's uvicorn process
        for _ in range(3):
            assert (await http.post("/v1/inference", json=ECHO, headers=tenant.headers())).status_code == 200
    _, after = await scrape(client)  # this process's view includes the server process's counts
    labels = {"route": "/v1/inference", "provider": "test", "model": "echo", "status": "200"}
    assert value(after, "infergate_requests_total", **labels) - value(before, "infergate_requests_total", **labels) == 3


async def test_a_metrics_token_guards_the_route(transactional_db, client):
    with override_settings(INFERGATE={**__import__("django.conf").conf.settings.INFERGATE, "METRICS_TOKEN": "t0k"}):
        denied = await client.get("/metrics")
        assert denied.status_code == 401 and denied.json()["error"]["type"] == "UnauthorizedError"
        assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
        assert (await client.get("/metrics", headers={"Authorization": "Bearer t0k"})).status_code == 200
