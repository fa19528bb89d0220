"""The playground's page and JSON views (session auth), its history, and the boundary it relies on:
/v1/inference never accepts a session cookie, so a cross-site page cannot run inference as the user."""

from __future__ import annotations

import json
import re

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.test import Client

from inference.usage.models import UsageRecord
from playground.web.models import PlaygroundRun
from playground.web.workbench.runs import RUN_MEDIA_CHARS, RUNS_KEPT, media_strip, run_target
from tenancy.accounts.models import Membership
from tests.conftest import assert_envelope, tenant_create

BODY = {"provider": "test", "model": "echo", "inputs": {"prompts": ["hi"]}}


def member_of(tenant, name: str = "ada", role: str = Membership.Role.MEMBER):
    user = get_user_model().objects.create_user(name, password="pw-not-used")
    if tenant is not None:
        Membership.objects.create(organization=tenant.organization, user=user, role=role)
    return user


@pytest.fixture
def web(tenant) -> Client:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(member_of(tenant))
    browser.get("/playground")  # sets the CSRF cookie, as the page does
    return browser


def post(browser: Client, path: str, payload) -> object:
    return browser.post(path, json.dumps(payload), content_type="application/json",
                        HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value)


def test_the_page_needs_a_session_and_lists_only_the_members_namespaces(tenant):
    anonymous = Client()
    assert anonymous.get("/playground").status_code == 302  # to the sign-in form
    assert anonymous.get("/playground/models?namespace=main").status_code == 401
    tenant_create("other-org", "secret-ns")
    browser = Client()
    browser.force_login(member_of(tenant))
    page = browser.get("/playground")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="pg-namespace"' in html and "acme / main" in html and "secret-ns" not in html
    # every asset is served from here (not "cdn" anywhere: the page's random CSRF token may spell it)
    assert not re.search(r'(src|href)="(https?:)?//', html) and "https://" not in html


def test_a_user_without_an_organization_is_told_so(transactional_db):
    browser = Client()
    browser.force_login(member_of(None, "loner"))
    page = browser.get("/playground")
    assert page.status_code == 200 and "not a member of any organization" in page.content.decode()


def test_a_member_of_two_organizations_addresses_namespaces_of_the_same_name_by_id(tenant):
    other = tenant_create("other-org", "main")
    user = member_of(tenant)
    Membership.objects.create(organization=other.organization, user=user)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    assert "other-org / main" in browser.get("/playground").content.decode()
    browser.get("/playground")
    for namespace in (tenant.namespace, other.namespace):
        kept = post(browser, "/playground/runs", {"namespace": namespace.id, "request_id": f"in-{namespace.id}",
                                                  "body": BODY})
        assert kept.status_code == 200, kept.content
        runs = browser.get(f"/playground/runs?namespace={namespace.id}").json()["data"]
        assert [r["request_id"] for r in runs] == [f"in-{namespace.id}"]


def test_models_are_the_catalog_of_the_namespace_and_other_organizations_are_not_found(web, tenant):
    listed = web.get("/playground/models?namespace=main").json()["data"]
    by_id = {item["id"]: item for item in listed}
    assert by_id["test/echo"]["configured"] is True and by_id["test/echo"]["parameters"]
    assert by_id["openai/gpt-4o-mini"]["configured"] is False  # no credentials: greyed out by the page
    other = tenant_create("other-org", "theirs")
    assert_envelope(web.get(f"/playground/models?namespace={other.namespace.id}"), 404, "NotFoundError")
    assert_envelope(web.get("/playground/models"), 422, "ValidationError")


def test_runs_are_kept_and_listed_with_their_usage_record(web, tenant):
    kept = post(web, "/playground/runs", {"namespace": "main", "request_id": "req-1", "body": BODY})
    assert kept.status_code == 200, kept.content
    refused = post(web, "/playground/runs", {"namespace": tenant.namespace.id, "body": BODY,
                                             "refused": {"status": 422, "type": "ValidationError"}})
    assert refused.status_code == 200, refused.content
    UsageRecord.objects.create(request_id="req-1", organization=tenant.organization, namespace=tenant.namespace,
                               provider="test", model="echo", status=200, latency_ms=12.5, total_tokens=3,
                               cost_usd="0.00000300")
    other = tenant_create("other-org", "theirs")  # a record of the same id elsewhere is never joined
    UsageRecord.objects.create(request_id="req-1", organization=other.organization, namespace=other.namespace,
                               status=500)
    runs = web.get("/playground/runs?namespace=main").json()["data"]
    assert [r["request_id"] for r in runs] == ["", "req-1"]
    assert runs[0]["usage"]["status"] == 422 and runs[0]["usage"]["error_type"] == "ValidationError"
    assert runs[1]["target"] == "test/echo" and runs[1]["body"] == BODY
    assert runs[1]["usage"] == {"status": 200, "error_type": "", "latency_ms": 12.5, "tokens": 3,
                                "cost_usd": 0.000003, "cached": False}
    # A model no price table knows: its cost is unknown, not free.
    post(web, "/playground/runs", {"namespace": "main", "request_id": "req-2", "body": BODY})
    UsageRecord.objects.create(request_id="req-2", organization=tenant.organization, namespace=tenant.namespace,
                               provider="openai", model="gpt-9", status=200, cost_usd=None, price_known=False)
    newest = web.get("/playground/runs?namespace=main").json()["data"][0]
    assert newest["request_id"] == "req-2" and newest["usage"]["cost_usd"] is None


def test_runs_are_private_to_their_user(web, tenant):
    assert post(web, "/playground/runs", {"namespace": "main", "request_id": "req-1", "body": BODY}).status_code == 200
    colleague = Client()
    colleague.force_login(member_of(tenant, "grace"))
    assert colleague.get("/playground/runs?namespace=main").json()["data"] == []
    outsider = Client()
    outsider.force_login(member_of(tenant_create("other-org", "main"), "eve"))
    assert outsider.get("/playground/runs?namespace=main").json()["data"] == []  # their own "main"
    assert_envelope(outsider.get(f"/playground/runs?namespace={tenant.namespace.id}"), 404, "NotFoundError")


def test_bad_runs_are_refused_and_change_nothing(web):
    for payload in ({"namespace": "main", "body": BODY},  # no request id and not refused
                    {"namespace": "main", "request_id": "r", "body": ["not", "an", "object"]},
                    {"namespace": "main", "request_id": "r", "body": BODY, "refused": {"status": "x"}}):
        assert_envelope(post(web, "/playground/runs", payload), 422, "ValidationError")
    assert_envelope(post(web, "/playground/runs", {"namespace": "nope", "request_id": "r", "body": BODY}),
                    404, "NotFoundError")
    without_csrf = web.post("/playground/runs", json.dumps({"namespace": "main", "request_id": "r", "body": BODY}),
                            content_type="application/json")
    assert_envelope(without_csrf, 403, "ForbiddenError")  # the page's script reads JSON, not Django's HTML page
    assert not PlaygroundRun.objects.exists()
    # A form post from a page keeps Django's page.
    assert "text/html" in web.post("/playground/runs", {"namespace": "main"})["Content-Type"]


def test_history_keeps_a_bounded_number_of_runs(web, monkeypatch):
    for i in range(3):
        post(web, "/playground/runs", {"namespace": "main", "request_id": f"r{i}", "body": BODY})
    assert PlaygroundRun.objects.count() == 3 <= RUNS_KEPT
    monkeypatch.setattr("playground.web.workbench.runs.RUNS_KEPT", 2)
    post(web, "/playground/runs", {"namespace": "main", "request_id": "r3", "body": BODY})
    assert sorted(PlaygroundRun.objects.values_list("request_id", flat=True)) == ["r2", "r3"]


def test_big_inline_media_are_not_kept_in_history():
    big = "A" * (RUN_MEDIA_CHARS + 1)
    body = {"provider": "local", "model": "whisper-tiny-en", "inputs": {"audio_base64": big, "text": "x"}}
    kept, omitted = media_strip(body)
    assert omitted and kept["inputs"] == {"text": "x"} and body["inputs"]["audio_base64"] == big
    assert media_strip({"inputs": {"image_url": "https://example.com/a.png"}}) == (
        {"inputs": {"image_url": "https://example.com/a.png"}}, False)


def test_run_targets_name_models_plugins_and_feature_uris():
    assert run_target({"provider": "local", "model": "m"}) == "local/m"
    assert run_target({"inference_name": "p_1_0_0"}) == "plugin/p_1_0_0"
    assert run_target({"feature_uri": "mixpeek://x@v1/y"}) == "mixpeek://x@v1/y"


# -- the boundary the page relies on ----------------------------------------------------------------

def _session_cookies(tenant) -> dict[str, str]:
    browser = Client()
    browser.force_login(member_of(tenant, "cross"))
    browser.get("/playground")
    return {"Cookie": f"sessionid={browser.cookies['sessionid'].value}; csrftoken={browser.cookies['csrftoken'].value}"}


async def test_a_cross_site_request_with_the_session_cookie_but_no_ticket_is_refused(tenant, client):
    cookies = await sync_to_async(_session_cookies)(tenant)
    # What a cross-site form or fetch could send: the browser attaches the cookies, but no key, no ticket.
    inference = await client.post("/v1/inference", json.dumps(BODY), content_type="application/json",
                                  headers={**cookies, "X-Namespace": "main", "Origin": "https://evil.example"})
    assert_envelope(inference, 401, "UnauthorizedError")
    # A ticket needs the CSRF token, which a cross-site page cannot read.
    ticket = await client.post("/v1/inference/stream/tickets", json.dumps({"namespace": "main"}),
                               content_type="application/json", headers={**cookies, "Origin": "https://evil.example"})
    assert ticket.status_code == 403
    assert await UsageRecord.objects.filter(status=200).acount() == 0
