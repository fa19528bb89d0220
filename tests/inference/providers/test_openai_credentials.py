"""Per-namespace provider credentials: write-only API, encrypted at rest, rotatable keys, used by the
openai adapter ahead of the environment, and never shown back."""

from asgiref.sync import sync_to_async
from cryptography.fernet import Fernet

from tenancy.credentials.models import ProviderCredential
from tenancy.credentials.selectors import credential_cache_clear
from tenancy.credentials.services import credentials_reencrypt
from tests.conftest import assert_envelope, post_inference, tenant_create
from tests.fakes.openai_server import GOOD_KEY

CHAT = {"provider": "openai", "model": "gpt-4o-mini", "inputs": {"prompts": ["hi"]}}
NAMESPACE_KEY = "sk-namespace-own-key-abcdef123456"


@sync_to_async
def admin_tenant():
    return tenant_create("acme", "main", permissions=["admin"])


@sync_to_async
def stored(provider="openai"):
    return list(ProviderCredential.objects.filter(provider=provider).values("ciphertext", "key_id", "fields"))


def path(tenant, provider=""):
    return f"/v1/namespaces/{tenant.namespace.name}/credentials" + (f"/{provider}" if provider else "")


async def test_set_list_use_and_delete(transactional_db, client, fake_openai, monkeypatch):
    admin = await admin_tenant()
    fake_openai.keys.add(NAMESPACE_KEY)
    put = await client.put(path(admin, "openai"), {"api_key": NAMESPACE_KEY}, content_type="application/json",
                           headers=admin.headers())
    assert put.status_code == 200, put.content
    assert put.json()["provider"] == "openai" and put.json()["fields"] == ["api_key"]
    assert NAMESPACE_KEY not in put.text
    listing = (await client.get(path(admin), headers=admin.headers())).json()
    assert NAMESPACE_KEY not in str(listing)
    items = {item["provider"]: item for item in listing["data"]}
    assert items["openai"]["set"] is True and items["fakecompat"]["set"] is False
    assert "local" not in items and "llamacpp" not in items  # they take no key
    (row,) = await stored()
    assert NAMESPACE_KEY not in row["ciphertext"] and row["fields"] == ["api_key"]

    # the namespace's key wins over the environment's
    assert (await post_inference(client, CHAT, admin.headers())).status_code == 200
    assert fake_openai.requests()[-1].headers["authorization"] == f"Bearer {NAMESPACE_KEY}"

    delete = await client.delete(path(admin, "openai"), headers=admin.headers())
    assert delete.status_code == 204
    assert_envelope(await client.delete(path(admin, "openai"), headers=admin.headers()), 404, "NotFoundError")
    assert (await post_inference(client, CHAT, admin.headers())).status_code == 200
    assert fake_openai.requests()[-1].headers["authorization"] == f"Bearer {GOOD_KEY}"
    monkeypatch.delenv("OPENAI_API_KEY")
    assert_envelope(await post_inference(client, CHAT, admin.headers()), 503, "InferenceServiceUnavailableError")


async def test_credentials_are_per_namespace(transactional_db, client, fake_openai, monkeypatch):
    admin = await admin_tenant()
    other = await sync_to_async(tenant_create)("acme", "other", permissions=["admin"])
    monkeypatch.delenv("OPENAI_API_KEY")
    fake_openai.keys.add(NAMESPACE_KEY)
    await client.put(path(admin, "openai"), {"api_key": NAMESPACE_KEY}, content_type="application/json",
                     headers=admin.headers())
    assert (await post_inference(client, CHAT, admin.headers())).status_code == 200
    assert_envelope(await post_inference(client, CHAT, other.headers()), 503, "InferenceServiceUnavailableError")
    stranger = await sync_to_async(tenant_create)("globex", "main", permissions=["admin"])
    assert_envelope(await client.get(f"/v1/namespaces/{admin.namespace.id}/credentials", headers=stranger.headers()),
                    404, "NotFoundError")


async def test_writes_need_admin_and_valid_fields(tenant, client, fake_openai):
    assert_envelope(await client.get(path(tenant)), 401, "UnauthorizedError")
    assert_envelope(await client.put(path(tenant, "openai"), {"api_key": "sk-x-123456789"},
                                     content_type="application/json", headers=tenant.headers()), 403, "ForbiddenError")
    admin = await admin_tenant()
    secret = "sk-secret-in-a-wrong-field-999"
    body = assert_envelope(await client.put(path(admin, "openai"), {"apikey": secret}, content_type="application/json",
                                            headers=admin.headers()), 422, "ValidationError")
    assert secret not in str(body)
    assert_envelope(await client.put(path(admin, "openai"), {"api_key": ""}, content_type="application/json",
                                     headers=admin.headers()), 422, "ValidationError")
    assert_envelope(await client.put(path(admin, "local"), {"api_key": "sk-x-123456789"},
                                     content_type="application/json", headers=admin.headers()), 404, "NotFoundError")
    assert await stored() == []


async def test_key_rotation_keeps_credentials_readable(transactional_db, client, fake_openai, settings, monkeypatch):
    admin = await admin_tenant()
    monkeypatch.delenv("OPENAI_API_KEY")
    fake_openai.keys.add(NAMESPACE_KEY)
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.INFERGATE = {**settings.INFERGATE, "CREDENTIALS_KEYS": [old]}
    await client.put(path(admin, "openai"), {"api_key": NAMESPACE_KEY}, content_type="application/json",
                     headers=admin.headers())
    (before,) = await stored()
    settings.INFERGATE = {**settings.INFERGATE, "CREDENTIALS_KEYS": [new, old]}  # new key first: rotation begins
    credential_cache_clear()
    assert (await post_inference(client, CHAT, admin.headers())).status_code == 200
    assert await sync_to_async(credentials_reencrypt)() == 1
    (after,) = await stored()
    assert after["key_id"] != before["key_id"] and after["ciphertext"] != before["ciphertext"]
    settings.INFERGATE = {**settings.INFERGATE, "CREDENTIALS_KEYS": [new]}  # the old key is gone
    credential_cache_clear()
    assert (await post_inference(client, CHAT, admin.headers())).status_code == 200
    assert fake_openai.requests()[-1].headers["authorization"] == f"Bearer {NAMESPACE_KEY}"
    settings.INFERGATE = {**settings.INFERGATE, "CREDENTIALS_KEYS": [old]}  # a key that cannot read it
    credential_cache_clear()
    body = assert_envelope(await post_inference(client, CHAT, admin.headers()), 503, "InferenceServiceUnavailableError")
    assert NAMESPACE_KEY not in str(body)


def test_django_admin_sets_credentials_write_only(admin_client):
    admin = tenant_create("acme", "main", permissions=["admin"])
    secret = "sk-typed-into-the-admin-42424242"
    response = admin_client.post("/admin/credentials/providercredential/add/",
                                 {"namespace": admin.namespace.id, "provider": "openai", "api_key": secret})
    assert response.status_code == 302, response.content[:2000]
    credential = ProviderCredential.objects.get(provider="openai")
    assert secret not in credential.ciphertext and credential.fields == ["api_key"]
    page = admin_client.get(f"/admin/credentials/providercredential/{credential.pk}/change/")
    assert page.status_code == 200 and secret not in page.content.decode()
    assert secret not in admin_client.get("/admin/credentials/providercredential/").content.decode()
    refused = admin_client.post("/admin/credentials/providercredential/add/",
                                {"namespace": admin.namespace.id, "provider": "local", "api_key": secret})
    assert refused.status_code == 200 and b"takes no credentials" in refused.content


async def test_models_list_says_whether_a_namespace_can_call_each_model(transactional_db, client, fake_openai,
                                                                       monkeypatch):
    admin = await admin_tenant()
    monkeypatch.delenv("OPENAI_API_KEY")

    async def configured() -> dict[str, bool]:
        listing = (await client.get("/v1/models", headers=admin.headers())).json()["data"]
        return {item["id"]: item["configured"] for item in listing if item.get("kind") == "model"}

    before = await configured()
    assert before["openai/gpt-4o-mini"] is False and before["local/all-minilm-l6-v2"] is True
    put = await client.put(path(admin, "openai"), {"api_key": NAMESPACE_KEY}, content_type="application/json",
                           headers=admin.headers())
    assert put.status_code == 200
    assert (await configured())["openai/gpt-4o-mini"] is True
