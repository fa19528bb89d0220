"""The key API (/v1/organizations/api-keys): a key's whole life over HTTP, each step checked where it counts
(the secret works for inference, a narrowed scope is refused, a revoked or rotated-away key is refused), who
may manage keys, and that nothing crosses organizations."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async

from tenancy.accounts.authentication import auth_cache_clear
from tenancy.accounts.models import ApiKey, Namespace
from tenancy.accounts.services import namespace_create
from tests.conftest import assert_envelope, post_inference, tenant_create

KEYS = "/v1/organizations/api-keys"
ECHO = {"provider": "test", "model": "echo", "inputs": {"prompts": ["hi"]}}


def bearer(secret: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", **extra}


@pytest.fixture
def admin(transactional_db):
    tenant = tenant_create("keys-org", "main", permissions=["admin"])
    namespace_create(organization=tenant.organization, name="other")
    return tenant


async def call(client, method: str, path: str, secret: str, body=None):
    return await client.request(method, path, json.dumps(body) if body is not None else None,
                                content_type="application/json" if body is not None else None, headers=bearer(secret))


async def test_a_key_lives_over_the_api(admin, client):
    created = await call(client, "POST", KEYS, admin.secret, {"name": "ci", "permissions": ["read"],
                                                              "namespaces": ["main", "other"], "rate_limit_rpm": 100})
    assert created.status_code == 201, created.content
    key = created.json()
    secret = key.pop("secret")
    assert secret.startswith("sk_live_") and key["prefix"] == secret[:12] and key["status"] == "active"
    assert (key["name"], key["permissions"], key["all_namespaces"], key["rate_limit_rpm"]) == ("ci", ["read"], False,
                                                                                              100)
    assert len(key["namespaces"]) == 2
    stored = await sync_to_async(ApiKey.objects.get)(id=key["id"])
    assert secret not in json.dumps([stored.secret_hash, stored.prefix, stored.name])  # only its hash is kept
    assert (await post_inference(client, ECHO, bearer(secret, **{"X-Namespace": "other"}))).status_code == 200

    listed = (await call(client, "GET", KEYS, admin.secret)).json()
    assert {k["id"] for k in listed["data"]} == {admin.key_id, key["id"]}
    assert secret not in json.dumps(listed) and all("secret" not in k for k in listed["data"])
    assert (await call(client, "GET", f"{KEYS}/{key['id']}", admin.secret)).json() == key

    narrowed = await call(client, "PATCH", f"{KEYS}/{key['id']}", admin.secret, {"namespaces": ["main"],
                                                                               "name": "ci-main"})
    assert narrowed.status_code == 200 and narrowed.json()["name"] == "ci-main"
    assert_envelope(await post_inference(client, ECHO, bearer(secret, **{"X-Namespace": "other"})), 403,
                    "ForbiddenError")  # this process forgets its cached scope at once
    assert (await post_inference(client, ECHO, bearer(secret, **{"X-Namespace": "main"}))).status_code == 200

    rotated = await call(client, "POST", f"{KEYS}/{key['id']}/rotate", admin.secret)
    assert rotated.status_code == 201
    new_secret = rotated.json()["secret"]
    assert rotated.json()["name"] == "ci-main" and rotated.json()["namespaces"] == narrowed.json()["namespaces"]
    assert_envelope(await post_inference(client, ECHO, bearer(secret, **{"X-Namespace": "main"})), 401,
                    "UnauthorizedError")
    assert (await post_inference(client, ECHO, bearer(new_secret, **{"X-Namespace": "main"}))).status_code == 200

    revoked = await call(client, "POST", f"{KEYS}/{rotated.json()['id']}/revoke", admin.secret)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert_envelope(await post_inference(client, ECHO, bearer(new_secret, **{"X-Namespace": "main"})), 401,
                    "UnauthorizedError")
    assert_envelope(await call(client, "PATCH", f"{KEYS}/{rotated.json()['id']}", admin.secret, {"name": "x"}), 422,
                    "ValidationError")
    statuses = {k["id"]: k["status"] for k in (await call(client, "GET", f"{KEYS}?status=revoked", admin.secret))
                .json()["data"]}
    assert statuses == {key["id"]: "revoked", rotated.json()["id"]: "revoked"}


async def test_only_an_organization_wide_admin_key_manages_keys(admin, client):
    reader = await sync_to_async(tenant_create)("keys-org", "main", permissions=["read", "write"])
    scoped_admin = await sync_to_async(tenant_create)("keys-org", "main", permissions=["admin"], scoped=True)
    for secret in (reader.secret, scoped_admin.secret):
        assert_envelope(await call(client, "GET", KEYS, secret), 403, "ForbiddenError")
        assert_envelope(await call(client, "POST", KEYS, secret, {"permissions": ["admin"]}), 403, "ForbiddenError")
        assert_envelope(await call(client, "POST", f"{KEYS}/{admin.key_id}/revoke", secret), 403, "ForbiddenError")
    assert_envelope(await call(client, "GET", KEYS, "sk_live_" + "n" * 40), 401, "UnauthorizedError")
    assert await sync_to_async(ApiKey.objects.filter(revoked_at__isnull=False).count)() == 0


async def test_nothing_crosses_organizations(admin, client):
    stranger = await sync_to_async(tenant_create)("other-org", "main", permissions=["admin"])
    for method, suffix, body in (("GET", "", None), ("PATCH", "", {"name": "mine"}), ("POST", "/revoke", None),
                                 ("POST", "/rotate", None)):
        response = await call(client, method, f"{KEYS}/{admin.key_id}{suffix}", stranger.secret, body)
        assert_envelope(response, 404, "NotFoundError")
    assert [k["id"] for k in (await call(client, "GET", KEYS, stranger.secret)).json()["data"]] == [stranger.key_id]
    # Another organization's namespace cannot be put in a key's scope: it does not exist for this one.
    foreign = await sync_to_async(lambda: Namespace.objects.get(organization=stranger.organization).id)()
    refused = await call(client, "POST", KEYS, admin.secret, {"namespaces": [foreign]})
    assert assert_envelope(refused, 422, "ValidationError")["error"]["details"]["errors"][0]["field"] == "namespaces"
    auth_cache_clear()
    key = await sync_to_async(ApiKey.objects.get)(id=admin.key_id)
    assert (key.name, key.revoked_at) == ("", None)


@pytest.mark.parametrize("body, field", [
    ({"permissions": []}, "permissions"),
    ({"permissions": ["root"]}, "permissions"),
    ({"namespaces": []}, "namespaces"),
    ({"namespaces": ["nope"]}, "namespaces"),
    ({"expires_at": "2000-01-01T00:00:00Z"}, "expires_at"),
    ({"expires_at": "tomorrow"}, "expires_at"),
    ({"rate_limit_rpm": -1}, "rate_limit_rpm"),
    ({"rate_limit_rpm": 1.5}, "rate_limit_rpm"),
    ({"name": "a\u0000b"}, "name"),
    ({"secret": "sk_live_chosen"}, "secret"),
])
async def test_bad_settings_are_refused_and_create_nothing(admin, client, body, field):
    before = await sync_to_async(ApiKey.objects.count)()
    response = await call(client, "POST", KEYS, admin.secret, body)
    problems = assert_envelope(response, 422, "ValidationError")["error"]["details"]["errors"]
    assert field in [p["field"] for p in problems]
    assert await sync_to_async(ApiKey.objects.count)() == before


async def test_the_routes_are_in_the_openapi_document(client):
    paths = (await client.get("/v1/openapi.json")).json()["paths"]
    assert {KEYS, f"{KEYS}/{{key_id}}", f"{KEYS}/{{key_id}}/revoke", f"{KEYS}/{{key_id}}/rotate"} <= set(paths)
    assert set(paths[KEYS]) == {"get", "post"} and set(paths[f"{KEYS}/{{key_id}}"]) == {"get", "patch"}
