"""Secrets never reach a log (docs/contract.md, tenancy): a full mixed session against the app under uvicorn, as
`make run` serves it, then the server's log and this test's captured logs are searched for every secret the
session used: API keys (created by the service, by the dashboard, rotated, and a bogus one), the password,
the provider credentials (a good one and one the provider refuses, whose 401 quotes it), and the prompts."""

from __future__ import annotations

import re
import secrets

import httpx
import pytest
from django.contrib.auth import get_user_model

from tenancy.accounts.models import Membership
from tests.conftest import tenant_create, uvicorn_start


def word() -> str:
    return secrets.token_hex(8)


def csrf(http: httpx.Client) -> str:
    return http.cookies["csrftoken"]


def sign_in(http: httpx.Client, username: str, password: str) -> None:
    http.get("/accounts/login/")
    response = http.post("/accounts/login/", data={"username": username, "password": password,
                                                   "csrfmiddlewaretoken": csrf(http)})
    assert response.status_code == 302, response.text[:500]


def secret_on_page(response: httpx.Response) -> str:
    assert response.status_code == 201, response.text[:500]
    return re.search(r'value="(sk_live_[A-Za-z0-9]+)"', response.text).group(1)


@pytest.fixture
def session_world(transactional_db, fake_openai_server):
    tenant = tenant_create("secrets-org", "main", permissions=["read", "write", "admin"])
    refused = tenant_create("secrets-org", "refused")
    password = "pw-" + word()
    user = get_user_model().objects.create_user("ops-" + word()[:6], password=password)
    Membership.objects.create(organization=tenant.organization, user=user, role="admin")
    good, bad = "sk-proj-" + word() + word(), "sk-proj-" + word() + word()
    fake_openai_server.reset()
    fake_openai_server.keys.add(good)
    yield {"tenant": tenant, "refused": refused, "user": user, "password": password, "good": good, "bad": bad}
    fake_openai_server.reset()


def test_a_full_session_leaves_no_secret_in_any_log(session_world, fake_openai_server, tmp_path, caplog):
    caplog.set_level("DEBUG")
    world, tenant = session_world, session_world["tenant"]
    prompts = [f"my private question {word()}" for _ in range(6)]
    bogus_key = "sk_live_" + secrets.token_urlsafe(30).replace("-", "a")
    used = {"service key": tenant.secret, "bogus key": bogus_key, "password": world["password"],
            "good credential": world["good"], "refused credential": world["bad"]}
    process, base = uvicorn_start(tmp_path, durable_usage=False, env={
        "OPENAI_BASE_URL": fake_openai_server.base_url, "OPENAI_API_KEY": "", "INFERGATE_PROVIDER_RETRIES": "0"})
    try:
        with httpx.Client(base_url=base, timeout=60) as http:
            api = {"Authorization": f"Bearer {tenant.secret}", "X-Namespace": "main"}
            assert http.put("/v1/namespaces/main/credentials/openai", json={"api_key": world["good"]},
                            headers=api).status_code == 200
            assert http.put("/v1/namespaces/refused/credentials/openai", json={"api_key": world["bad"]},
                            headers=api).status_code == 200
            # inference: the test provider, OpenAI through its fake with the namespace's credential, a stream
            echo = {"provider": "test", "model": "echo"}
            assert http.post("/v1/inference", json={**echo, "inputs": {"prompts": [prompts[0]]}},
                             headers=api).status_code == 200
            openai_body = {"provider": "openai", "model": "gpt-4o-mini", "inputs": {"prompts": [prompts[1]]}}
            assert http.post("/v1/inference", json=openai_body, headers=api).status_code == 200
            with http.stream("POST", "/v1/inference/stream", json={**echo, "inputs": {"prompts": [prompts[2]]}},
                             headers=api) as stream:
                assert stream.status_code == 200 and "event: done" in stream.read().decode()
            chat = {"model": "test/echo", "messages": [{"role": "user", "content": prompts[3]}]}
            assert http.post("/v1/chat/completions", json=chat, headers=api).status_code == 200
            # errors: a bad body carrying a prompt, a bogus key, a credential the provider refuses
            bad_body = {**echo, "inputs": {"prompts": [prompts[4]]}, "parameters": {"nope": prompts[4]}}
            assert http.post("/v1/inference", json=bad_body, headers=api).status_code == 422
            assert http.post("/v1/inference", json=bad_body, headers={**api, "Authorization": f"Bearer {bogus_key}"}
                             ).status_code == 401
            refused = http.post("/v1/inference", json={**openai_body, "inputs": {"prompts": [prompts[5]]}},
                                headers={**api, "X-Namespace": "refused"})
            assert refused.status_code in (502, 503) and world["bad"] not in refused.text
        with httpx.Client(base_url=base, timeout=60, follow_redirects=False) as browser:
            # the dashboard: sign in, create a key (its secret shown once), rotate it, use the new one
            sign_in(browser, world["user"].username, world["password"])
            org = tenant.organization.id
            created = secret_on_page(browser.post(f"/dashboard/{org}/keys/new", data={
                "name": "from-dashboard", "permissions": ["read", "write"], "csrfmiddlewaretoken": csrf(browser)}))
            key_id = re.search(r"/keys/(\d+)/rotate", browser.get(f"/dashboard/{org}/keys").text).group(1)
            rotated = secret_on_page(browser.post(f"/dashboard/{org}/keys/{key_id}/rotate",
                                                  data={"csrfmiddlewaretoken": csrf(browser)},
                                                  headers={"Referer": base}))
            used |= {"dashboard key": created, "rotated key": rotated}
            with httpx.Client(base_url=base, timeout=60) as http:
                response = http.post("/v1/inference", json={**echo, "inputs": {"prompts": ["hi"]}},
                                     headers={"Authorization": f"Bearer {rotated}", "X-Namespace": "main"})
                assert response.status_code == 200, response.text
    finally:
        process.terminate()
        process.wait(15)

    server_log = (tmp_path / "server.log").read_text()
    # The log was written, at INFO: each request's access line.
    assert '/v1/inference HTTP/1.1\\" 200' in server_log and '/v1/inference HTTP/1.1\\" 422' in server_log
    assert fake_openai_server.requests("/v1/chat/completions")  # the provider was called with the credential
    logs = {"server log": server_log, "test log": caplog.text}
    found = [(what, where) for what, value in {**used, **{f"prompt {i}": p for i, p in enumerate(prompts)}}.items()
             for where, text in logs.items() if value in text]
    assert not found, f"secrets in logs: {found}"
    # A key's short prefix (what a log may name) is no secret; its random part is.
    assert not [what for what, value in used.items() if value.startswith("sk_live_")
                and any(value[len("sk_live_"):] in text for text in logs.values())]
