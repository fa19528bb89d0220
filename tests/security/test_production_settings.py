"""Production settings: `manage.py check --deploy` is clean with the documented production
environment, cookies are HttpOnly/SameSite (and Secure with DJANGO_SECURE=1), every page form carries a
CSRF token and a POST without one is refused, and pages carry a Content-Security-Policy without
'unsafe-inline' scripts."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from tenancy.accounts.models import Membership
from tests.conftest import tenant_create

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_SHOWN = ["DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
                  "CSRF_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SAMESITE", "SECURE_HSTS_SECONDS",
                  "SECURE_SSL_REDIRECT", "CONTENT_SECURITY_POLICY"]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    """manage.py in a process of its own, on playground.settings (not the test settings), against the test
    session's database and Redis (so that it starts no embedded server)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "INFERGATE_CSP"))}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**base, "DJANGO_SETTINGS_MODULE": "playground.settings", "REDIS_URL": settings.REDIS_URL,
                               **env})


def production_env() -> dict[str, str]:
    return {"DJANGO_SECURE": "1", "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "gateway.example.com"}


def test_check_deploy_is_clean_with_the_production_environment():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_without_it():  # the check above can fail
    result = manage("check", "--deploy", "--fail-level", "WARNING", DJANGO_SECRET_KEY=secrets.token_urlsafe(50))
    assert result.returncode != 0 and "SESSION_COOKIE_SECURE" in result.stdout + result.stderr


def test_production_refuses_to_start_without_its_own_secret_key():
    result = manage("check", DJANGO_SECURE="1")
    assert result.returncode != 0 and "DJANGO_SECRET_KEY" in result.stderr


def test_production_cookie_and_transport_settings():
    code = ("from django.conf import settings; import json; "
            f"print(json.dumps({{k: getattr(settings, k) for k in {SETTINGS_SHOWN!r}}}))")
    result = manage("shell", "-c", code, **production_env())
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout.strip().splitlines()[-1])
    assert shown["DEBUG"] is False
    assert shown["SESSION_COOKIE_SECURE"] is shown["CSRF_COOKIE_SECURE"] is True
    assert shown["SESSION_COOKIE_HTTPONLY"] is shown["CSRF_COOKIE_HTTPONLY"] is True
    assert shown["SESSION_COOKIE_SAMESITE"] == shown["CSRF_COOKIE_SAMESITE"] == "Lax"
    assert shown["SECURE_HSTS_SECONDS"] >= 31_536_000 and shown["SECURE_SSL_REDIRECT"] is True


FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.S | re.I)


def test_every_post_form_in_the_templates_carries_a_csrf_token():
    forms = [(path.relative_to(ROOT), form) for path in (ROOT / "templates").rglob("*.html")
             for form in FORM.findall(path.read_text()) if re.search(r'method="post"', form, re.I)]
    assert len(forms) >= 10
    missing = [str(path) for path, form in forms if "{% csrf_token %}" not in form]
    assert not missing, missing


@pytest.fixture
def admin_user(transactional_db):
    tenant = tenant_create("csrf-org", "main")
    user = get_user_model().objects.create_user("csrf-admin", password="pw-" + secrets.token_hex(8))
    Membership.objects.create(organization=tenant.organization, user=user, role="admin")
    return tenant, user


def test_a_post_without_the_csrf_token_is_refused(admin_user):
    tenant, user = admin_user
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    for path in ("/accounts/logout/", f"/dashboard/{tenant.organization.id}/keys/new",
                 f"/dashboard/{tenant.organization.id}/keys/{tenant.key_id}/revoke"):
        assert client.post(path, {"name": "x"}).status_code == 403, path
    assert client.post("/v1/inference/stream/tickets", "{}", content_type="application/json").status_code == 403
    assert not tenant.organization.api_keys.filter(revoked_at__isnull=False).exists()


def test_cookies_are_httponly_and_samesite(admin_user):
    _, user = admin_user
    client = Client()
    page = client.get("/accounts/login/")
    response = client.post("/accounts/login/", {"username": user.username, "password": "wrong"})
    assert response.status_code == 200 and page.status_code == 200
    cookies = {**page.cookies, **response.cookies}
    for name in ("csrftoken",):
        assert cookies[name]["httponly"] and cookies[name]["samesite"] == "Lax"
    client.force_login(user)
    session = client.cookies["sessionid"]
    assert settings.SESSION_COOKIE_HTTPONLY and settings.SESSION_COOKIE_SAMESITE == "Lax" and session.value


@pytest.mark.parametrize("path", ["/accounts/login/", "/playground", "/dashboard/", "/v1/docs"])
def test_pages_carry_a_csp_without_inline_scripts(admin_user, path):
    _, user = admin_user
    client = Client()
    client.force_login(user)
    response = client.get(path, follow=True)
    assert response.status_code == 200, (path, response.status_code)
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'" and "'unsafe-inline'" not in policy["default-src"]
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    html = response.content.decode()
    inline = [s for s in re.findall(r"<script\b[^>]*>", html, re.I) if "src=" not in s and "application/json" not in s]
    assert not inline, inline  # a page with an inline script would be broken by this policy
    assert not re.search(r"\son[a-z]+=", html), "inline event handlers are blocked by the policy"
