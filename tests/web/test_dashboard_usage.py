"""The dashboard's usage page and CSV export over HTTP: what is shown, filtered, exported, and to whom."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from inference.usage.models import UsageRecord
from tenancy.accounts.models import Membership, Organization
from tenancy.accounts.services import api_key_create, namespace_create

# The export streams from an async iterator (as uvicorn serves it); Django's sync test client gathers it.
pytestmark = pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume asynchronous iterators")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def record(org, namespace, key, *, status=200, model="echo", tokens=10, minutes_ago=1, **extra) -> UsageRecord:
    fields = {"cost_usd": Decimal("0.001") * tokens, **extra}
    return UsageRecord.objects.create(
        request_id=f"req-{UsageRecord.objects.count()}", organization=org, namespace=namespace, api_key=key,
        provider="test", model=model, modality="chat", status=status, prompt_tokens=tokens // 2,
        completion_tokens=tokens - tokens // 2, total_tokens=tokens, latency_ms=20.0,
        created_at=timezone.now() - timedelta(minutes=minutes_ago), **fields)


@pytest.fixture
def world(db):
    users = get_user_model().objects
    acme, globex = Organization.objects.create(name="acme"), Organization.objects.create(name="globex")
    admin, member = users.create_user("ada"), users.create_user("bob")
    Membership.objects.create(organization=acme, user=admin, role="admin")
    Membership.objects.create(organization=acme, user=member, role="member")
    main, vault = namespace_create(organization=acme, name="main"), namespace_create(organization=globex, name="vault")
    key = api_key_create(organization=acme, name="=HYPERLINK(\"http://evil\")").key
    foreign = api_key_create(organization=globex, name="globex-key").key
    for i in range(3):
        record(acme, main, key, minutes_ago=i + 1)
    record(acme, main, key, status=429, error_type="TooManyRequestsError", tokens=0, minutes_ago=5)
    record(acme, main, key, model="echo-priced", tokens=4, minutes_ago=6)
    record(globex, vault, foreign, model="globex-model", minutes_ago=2)
    return {"acme": acme, "globex": globex, "admin": signed_in(admin), "member": signed_in(member), "key": key}


def export(client, org, query="") -> list[list[str]]:
    response = client.get(f"/dashboard/{org.id}/usage/export.csv{query}")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="usage-acme-')
    return list(csv.reader(io.StringIO(b"".join(response).decode())))


def test_the_page_shows_the_organizations_totals_and_records(world):
    page = world["admin"].get(f"/dashboard/{world['acme'].id}/usage")
    assert page.status_code == 200
    content = page.content.decode()
    assert '<div class="label">Requests</div><div class="value">5</div>' in content
    assert "TooManyRequestsError" in content and "test/echo-priced" in content
    assert "globex" not in content  # another organization's model, key and namespace
    assert 'id="usage-days"' in content


def test_filters_narrow_the_totals_and_the_table(world):
    acme = world["acme"]
    page = world["admin"].get(f"/dashboard/{acme.id}/usage?status=429").content.decode()
    assert '<div class="label">Requests</div><div class="value">1</div>' in page
    assert '<div class="label">Error rate</div><div class="value">100.0%</div>' in page
    page = world["admin"].get(f"/dashboard/{acme.id}/usage?model=test/echo-priced").content.decode()
    assert '<div class="label">Requests</div><div class="value">1</div>' in page
    past = (timezone.now() - timedelta(days=30)).date()
    page = world["admin"].get(f"/dashboard/{acme.id}/usage?start={past}&end={past}").content.decode()
    assert "No requests match these filters." in page


def test_bad_filters_are_refused(world):
    acme = world["acme"]
    response = world["admin"].get(f"/dashboard/{acme.id}/usage?start=2026-02-10&end=2026-02-01")
    assert response.status_code == 400 and b"The first day comes after the last." in response.content
    assert world["admin"].get(f"/dashboard/{acme.id}/usage?status=999").status_code == 400
    assert world["admin"].get(f"/dashboard/{acme.id}/usage/export.csv?start=2020-01-01&end=2026-01-01").status_code == 400


def test_export_holds_the_filtered_records_newest_first(world):
    rows = export(world["admin"], world["acme"])
    assert rows[0][:3] == ["created_at", "request_id", "namespace"] and len(rows) == 6
    assert [row[6] for row in rows[1:]] == ["echo", "echo", "echo", "echo", "echo-priced"]
    assert {row[2] for row in rows[1:]} == {"main"}
    # A key named like a formula is exported as text, not as a formula.
    assert rows[1][4].startswith("'=HYPERLINK")
    only_errors = export(world["admin"], world["acme"], "?status=429")
    assert len(only_errors) == 2 and only_errors[1][9:11] == ["429", "TooManyRequestsError"]


def test_cached_reasoning_and_unpriced_requests_are_shown_and_exported(world):
    acme = world["acme"]
    main = acme.namespaces.get()
    record(acme, main, world["key"], model="gpt-9", tokens=30, cache_read_tokens=8, reasoning_tokens=5,
           cost_usd=None, price_known=False, minutes_ago=0)
    content = world["admin"].get(f"/dashboard/{acme.id}/usage").content.decode()
    assert "(8 cached)" in content and "(5 reasoning)" in content and "+ 1 unpriced request" in content
    assert 'title="No price table knows this model">unknown</span>' in content
    rows = export(world["admin"], acme)
    header, newest = rows[0], dict(zip(rows[0], rows[1]))
    assert header[14:17] == ["cache_read_tokens", "cache_write_tokens", "reasoning_tokens"]
    assert (newest["model"], newest["cache_read_tokens"], newest["reasoning_tokens"], newest["cost_usd"]) == \
        ("gpt-9", "8", "5", "")


def test_members_read_usage_and_other_organizations_see_none(world):
    assert world["member"].get(f"/dashboard/{world['acme'].id}/usage").status_code == 200
    assert len(export(world["member"], world["acme"])) == 6
    assert world["admin"].get(f"/dashboard/{world['globex'].id}/usage").status_code == 404
    assert world["admin"].get(f"/dashboard/{world['globex'].id}/usage/export.csv").status_code == 404
    globex_ns = world["globex"].namespaces.get().id
    # A foreign namespace as a filter matches nothing of the admin's own organization.
    response = world["admin"].get(f"/dashboard/{world['acme'].id}/usage?namespace={globex_ns}")
    assert response.status_code == 400


def test_records_page_by_keyset(world):
    acme = world["acme"]
    for i in range(30):
        record(acme, acme.namespaces.get(), world["key"], minutes_ago=10 + i)
    first = world["admin"].get(f"/dashboard/{acme.id}/usage").content.decode()
    assert first.count('<tr>\n      <td class="nowrap"><time') == 25 and "cursor=" in first
    cursor = first.split("cursor=")[1].split('"')[0]
    second = world["admin"].get(f"/dashboard/{acme.id}/usage?cursor={cursor}").content.decode()
    assert second.count('<tr>\n      <td class="nowrap"><time') == 10 and "Older" not in second
    garbled = world["admin"].get(f"/dashboard/{acme.id}/usage?cursor=garbage")
    assert garbled.status_code == 200  # an unknown cursor starts from the newest
