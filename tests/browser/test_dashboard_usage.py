"""The usage page in Chromium: charts drawn by uPlot from usage that real requests left, filters, the
recent requests table and the CSV export."""

from __future__ import annotations

import csv
import io
import time
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from inference.usage.models import UsageRecord
from inference.usage.rollups import usage_rollup_day, utc_today
from tenancy.accounts.models import Membership, Organization
from tenancy.accounts.services import api_key_create, namespace_create
from tests.browser.conftest import screenshot, session_sign_in


@pytest.fixture
def acme(transactional_db):
    acme = Organization.objects.create(name="acme")
    namespace_create(organization=acme, name="main")
    user = get_user_model().objects.create_user("ada", "ada@example.com", "pw")
    Membership.objects.create(organization=acme, user=user, role="admin")
    return acme, user


def wait_for_records(organization, count: int) -> None:
    deadline = time.monotonic() + 15
    while UsageRecord.objects.filter(organization=organization).count() < count:
        assert time.monotonic() < deadline, "the server did not write its usage records"
        time.sleep(0.1)


def test_charts_table_filters_and_csv_from_real_requests(page, context, acme):
    organization, user = acme
    page.set_default_timeout(10_000)
    secret = api_key_create(organization=organization, name="web-app").secret
    headers = {"Authorization": f"Bearer {secret}", "X-Namespace": "main"}
    with httpx.Client(base_url=context.live_server_url, headers=headers, timeout=30) as http:
        for i in range(6):
            body = {"provider": "test", "model": "echo", "inputs": {"prompts": [f"prompt number {i}"]}}
            assert http.post("/v1/inference", json=body).status_code == 200
        priced = {"provider": "test", "model": "echo-priced", "inputs": {"prompts": ["a dollar a token"]}}
        assert http.post("/v1/inference", json=priced).status_code == 200
        refused = {"provider": "test", "model": "no-such-model", "inputs": {"prompts": ["x"]}}
        assert http.post("/v1/inference", json=refused).status_code == 400
    wait_for_records(organization, 8)

    session_sign_in(context, user)
    page.goto(f"/dashboard/{organization.id}/usage")
    page.wait_for_selector("[data-chart=rates][data-rendered=true]")
    tiles = page.locator(".tiles").inner_text().lower()
    assert "requests\n8\n" in tiles and "error rate\n12.5%" in tiles and "cost\n$8.00" in tiles
    assert page.locator("#charts .uplot canvas").count() == 5
    today_requests = page.evaluate("window.dashboardCharts.requests.data[1].slice(-1)[0]")
    today_cost = page.evaluate("window.dashboardCharts.cost.data[1].slice(-1)[0]")
    assert today_requests == 8 and today_cost > 1  # echo-priced costs a dollar a token
    assert page.locator("ol[aria-label='Top models'] li").first.inner_text().startswith("test/echo")
    assert "web-app" in page.locator("ol[aria-label='Top keys']").inner_text()
    table = page.get_by_role("table", name="Recent requests")
    assert table.locator("tbody tr").count() == 8
    assert "BadRequestError" in table.inner_text()
    screenshot(page, "dashboard-usage")

    page.get_by_label("Status").select_option("400")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**status=400**")
    page.wait_for_selector("[data-chart=rates][data-rendered=true]")
    assert page.get_by_role("table", name="Recent requests").locator("tbody tr").count() == 1
    assert "error rate\n100.0%" in page.locator(".tiles").inner_text().lower()
    screenshot(page, "dashboard-usage-filtered")

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert len(rows) == 1 and rows[0]["status"] == "400" and rows[0]["error_type"] == "BadRequestError"
    assert rows[0]["model"] == "no-such-model" and rows[0]["namespace"] == "main"

    page.get_by_role("link", name="Reset").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert len(rows) == 8 and {r["api_key"] for r in rows} == {"web-app (" + secret[:12] + "…)"}
    assert sorted(r["model"] for r in rows) == ["echo"] * 6 + ["echo-priced", "no-such-model"]
    assert sum(int(r["total_tokens"]) for r in rows if r["model"] == "echo") > 0
    assert context.console_errors == []


def test_a_month_of_history_is_read_from_rollups(page, context, acme):
    """Thirty past days of records, rolled up by the same job the beat runs, then drawn: the page reads the
    sealed days from rollups (the records of those days could be gone) and today from raw records."""
    organization, user = acme
    page.set_default_timeout(10_000)
    namespace = organization.namespaces.get()
    keys = [api_key_create(organization=organization, name=name).key for name in ("web-app", "batch-jobs", "mobile")]
    today = utc_today()
    records = []
    for back in range(1, 31):
        day = timezone.now() - timedelta(days=back)
        for i in range(10 + (back * 7) % 23):
            model = ("gpt-4o-mini", "claude-3-5-haiku", "smollm2-135m-instruct")[i % 3]
            status = 200 if i % 11 else (429 if back % 2 else 502)
            records.append(UsageRecord(
                request_id=f"hist-{back}-{i}", organization=organization, namespace=namespace, api_key=keys[i % 3],
                provider={"gpt-4o-mini": "openai", "claude-3-5-haiku": "anthropic"}.get(model, "local"), model=model,
                modality="chat", status=status, error_type="" if status == 200 else "TooManyRequestsError"
                if status == 429 else "ProviderError", prompt_tokens=40 + i, completion_tokens=80 + 3 * i,
                total_tokens=120 + 4 * i, cost_usd=Decimal("0.00012") * (i + 1), latency_ms=80.0 + 37 * (i % 9),
                cached=i % 4 == 0, cache_decision="hit" if i % 4 == 0 else "miss", created_at=day))
    UsageRecord.objects.bulk_create(records)
    for back in range(1, 31):
        usage_rollup_day(day=today - timedelta(days=back))

    session_sign_in(context, user)
    start = today - timedelta(days=29)
    page.goto(f"/dashboard/{organization.id}/usage?start={start}&end={today}")
    page.wait_for_selector("[data-chart=rates][data-rendered=true]")
    drawn = page.evaluate("window.dashboardCharts.requests.data[1]")
    assert len(drawn) == 30 and sum(drawn) == sum(1 for r in records if r.created_at.date() >= start)
    screenshot(page, "dashboard-usage-month")
