"""The API keys page in Chromium: create a key, copy its secret, call the API with it from curl, revoke it
and see the API refuse it."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from django.contrib.auth import get_user_model

from tenancy.accounts.models import ApiKey, Membership, Organization
from tenancy.accounts.services import namespace_create, secret_hash
from tests.browser.conftest import screenshot, session_sign_in


@pytest.fixture
def admin(transactional_db):
    acme = Organization.objects.create(name="acme")
    namespace_create(organization=acme, name="main")
    namespace_create(organization=acme, name="staging")
    user = get_user_model().objects.create_user("ada", "ada@example.com", "pw")
    Membership.objects.create(organization=acme, user=user, role="admin")
    return user


def curl_inference(base_url: str, secret: str, namespace: str = "main") -> tuple[int, dict]:
    body = json.dumps({"provider": "test", "model": "echo", "inputs": {"prompts": ["hello from curl"]}})
    out = subprocess.run(
        ["curl", "-sS", "-w", "\n%{http_code}", f"{base_url}/v1/inference", "-H", f"Authorization: Bearer {secret}",
         "-H", f"X-Namespace: {namespace}", "-H", "Content-Type: application/json", "-d", body],
        capture_output=True, text=True, timeout=30, check=True).stdout
    payload, status = out.rsplit("\n", 1)
    return int(status), json.loads(payload)


def test_create_copy_use_and_revoke_a_key(page, context, admin):
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    session_sign_in(context, admin)
    page.goto("/dashboard")
    page.get_by_role("heading", name="API keys").wait_for()
    screenshot(page, "dashboard-keys-empty")

    page.get_by_role("link", name="+ New key").click()
    page.get_by_label("Name").fill("billing-service")
    page.get_by_label("admin").uncheck()
    page.get_by_label("main", exact=True).check()
    page.get_by_label("Requests per minute").fill("120")
    screenshot(page, "dashboard-key-new")
    page.get_by_role("button", name="Create key").click()

    page.get_by_role("heading", name="Key created: billing-service").wait_for()
    secret = page.get_by_label("Secret").input_value()
    assert secret.startswith("sk_live_")
    page.get_by_role("button", name="Copy").click()
    page.get_by_text("Copied to the clipboard.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    screenshot(page, "dashboard-key-created")
    key = ApiKey.objects.get(secret_hash=secret_hash(secret))
    assert (key.name, key.permissions, key.rate_limit_rpm) == ("billing-service", ["read", "write"], 120)

    status, body = curl_inference(context.live_server_url, secret)
    assert status == 200 and body["data"]["responses"][0]["text"] == "hello from curl"
    status, body = curl_inference(context.live_server_url, secret, namespace="staging")
    assert status == 403 and body["error"]["type"] == "ForbiddenError"  # scoped to main

    page.goto("/dashboard")  # the secret is never shown again
    row = page.locator("tr", has_text="billing-service")
    assert secret not in page.content() and key.prefix in row.inner_text()
    assert "active" in row.inner_text()
    row.get_by_role("button", name="Revoke").click()
    dialog = page.get_by_role("dialog", name="Revoke “billing-service”?")
    dialog.wait_for()
    screenshot(page, "dashboard-key-revoke-confirm")
    dialog.get_by_role("button", name="Cancel").click()
    assert ApiKey.objects.get(pk=key.pk).status == "active"
    row.get_by_role("button", name="Revoke").click()
    dialog.get_by_role("button", name="Revoke key").click()
    page.get_by_text("is revoked: requests with it now get 401").wait_for()
    assert "revoked" in page.locator("tr", has_text="billing-service").inner_text()
    screenshot(page, "dashboard-key-revoked")

    deadline = time.monotonic() + 5  # revocation reaches every worker within AUTH_CACHE_SECONDS (1 s)
    while (result := curl_inference(context.live_server_url, secret))[0] != 401 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert result[0] == 401 and result[1]["error"]["message"] == "This API key has been revoked"
    assert context.console_errors == []


def test_rotate_replaces_the_secret(page, context, admin):
    session_sign_in(context, admin)
    page.goto("/dashboard")
    page.get_by_role("link", name="+ New key").click()
    page.get_by_label("Name").fill("ci")
    page.get_by_role("button", name="Create key").click()
    old_secret = page.get_by_label("Secret").input_value()
    page.get_by_role("link", name="Done").click()
    page.locator("tr", has_text="ci").get_by_role("button", name="Rotate").click()
    page.get_by_role("dialog").get_by_role("button", name="Rotate key").click()
    page.get_by_role("heading", name="Key rotated: ci").wait_for()
    new_secret = page.get_by_label("Secret").input_value()
    assert new_secret != old_secret
    screenshot(page, "dashboard-key-rotated")
    assert curl_inference(context.live_server_url, new_secret)[0] == 200
    page.goto("/dashboard/%d/keys?status=revoked" % admin.organizations.get().id)
    assert page.locator("tbody tr").count() == 1
    screenshot(page, "dashboard-keys-revoked-filter")


def test_a_member_sees_keys_but_no_way_to_change_them(page, context, admin):
    acme = admin.organizations.get()
    member = get_user_model().objects.create_user("bob", "bob@example.com", "pw")
    Membership.objects.create(organization=acme, user=member, role="member")
    from tenancy.accounts.services import api_key_create

    api_key_create(organization=acme, name="shared-service")
    session_sign_in(context, member)
    page.goto("/dashboard")
    page.get_by_text("You are a member of acme: you can look").wait_for()
    assert "shared-service" in page.get_by_role("table", name="API keys").inner_text()
    assert page.get_by_role("link", name="+ New key").count() == 0
    assert page.get_by_role("button", name="Revoke").count() == 0
    screenshot(page, "dashboard-keys-member")
    assert page.goto(f"/dashboard/{acme.id}/keys/new").status == 403
