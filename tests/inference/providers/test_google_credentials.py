"""Per-namespace google credentials: an API key, or a Vertex AI service account with project and
location; used ahead of the environment, never shown back, and reflected in the catalog's ``configured``."""

import json

from asgiref.sync import sync_to_async

from tenancy.credentials.models import ProviderCredential
from tests.conftest import assert_envelope, post_inference, tenant_create
from tests.fakes.google_server import LOCATION, PROJECT

CHAT = {"provider": "gemini", "model": "gemini-2.0-flash", "inputs": {"prompts": ["hi"]}}
EMBED = {"provider": "google", "model": "multimodalembedding", "inputs": {"text": "a cat"}}
NAMESPACE_KEY = "AIzaSyNAMESPACE-own-key-abcdef123456"


@sync_to_async
def admin_tenant(namespace="main"):
    return tenant_create("acme", namespace, permissions=["admin"])


def path(tenant, provider="google"):
    return f"/v1/namespaces/{tenant.namespace.name}/credentials/{provider}"


async def configured(client, tenant) -> dict[str, bool]:
    listing = (await client.get("/v1/models", headers=tenant.headers())).json()["data"]
    return {item["id"]: item["configured"] for item in listing if item["id"].startswith("google/")}


async def test_a_namespace_key_wins_over_the_environment(transactional_db, client, fake_google, monkeypatch):
    admin = await admin_tenant()
    fake_google.keys.add(NAMESPACE_KEY)
    put = await client.put(path(admin), {"api_key": NAMESPACE_KEY}, content_type="application/json",
                           headers=admin.headers())
    assert put.status_code == 200, put.content
    assert put.json()["fields"] == ["api_key"] and NAMESPACE_KEY not in put.text
    assert (await post_inference(client, CHAT, admin.headers())).status_code == 200
    assert fake_google.requests()[-1].headers["x-goog-api-key"] == NAMESPACE_KEY
    monkeypatch.delenv("GOOGLE_API_KEY")
    other = await admin_tenant("other")
    assert_envelope(await post_inference(client, CHAT, other.headers()), 503, "InferenceServiceUnavailableError")
    flags = await configured(client, admin)
    assert flags["google/gemini-2.0-flash"] is True and flags["google/multimodalembedding"] is False
    assert set((await configured(client, other)).values()) == {False}
    listing = {m["id"]: m for m in (await client.get("/v1/models", headers=admin.headers())).json()["data"]}
    flash, embedding = listing["google/gemini-2.5-flash"], listing["google/multimodalembedding"]
    assert flash["modalities"] == ["chat", "vision"] and flash["can_stream"] is True
    assert flash["price"] == {"currency": "USD", "known": True, "prompt_per_million": 0.3, "completion_per_million": 2.5,
                              "cache_read_per_million": 0.03}
    assert embedding["modalities"] == ["multimodal_embedding"] and embedding["dimensions"] == 1408
    assert embedding["input_keys"] == ["image_base64", "image_url", "text", "video_base64", "video_url"]
    assert [p["name"] for p in embedding["parameters"]] == ["dimension", "interval_s"]
    assert not any(item.startswith("gemini/") for item in listing)  # the alias is a name, not a provider


async def test_a_namespace_service_account_serves_gemini_and_embeddings(transactional_db, client, fake_google,
                                                                       service_account, monkeypatch):
    monkeypatch.delenv("GOOGLE_API_KEY")
    admin = await admin_tenant()
    assert set((await configured(client, admin)).values()) == {False}
    # the key file's text, pasted as it is (newlines and all), with a project and a location
    text = json.dumps(service_account, indent=2)
    put = await client.put(path(admin), {"service_account_json": text, "project": PROJECT, "location": LOCATION},
                           content_type="application/json", headers=admin.headers())
    assert put.status_code == 200, put.content
    assert put.json()["fields"] == ["location", "project", "service_account_json"]
    assert "PRIVATE KEY" not in put.text
    listing = (await client.get(f"/v1/namespaces/{admin.namespace.name}/credentials", headers=admin.headers()))
    assert "PRIVATE KEY" not in listing.text and service_account["client_email"] not in listing.text
    (ciphertext,) = await sync_to_async(lambda: list(ProviderCredential.objects.values_list("ciphertext", flat=True)))()
    assert "PRIVATE KEY" not in ciphertext
    assert set((await configured(client, admin)).values()) == {True}

    chat = await post_inference(client, CHAT, admin.headers())
    assert chat.status_code == 200, chat.content
    embedding = await post_inference(client, EMBED, admin.headers())
    assert embedding.status_code == 200, embedding.content
    paths = [r.path for r in fake_google.requests()]
    assert paths[0].startswith(f"/v1beta1/projects/{PROJECT}/locations/{LOCATION}/") and "predict" in paths[1]

    # a project the account has no access to: the provider's 403 is our 502
    await client.put(path(admin), {"service_account_json": service_account, "project": "someone-else"},
                     content_type="application/json", headers=admin.headers())
    body = assert_envelope(await post_inference(client, EMBED, admin.headers()), 502, "ProviderError")
    assert body["error"]["details"]["upstream_status"] == 403


async def test_a_namespace_service_account_cannot_send_the_server_elsewhere(transactional_db, client,
                                                                                  fake_google, service_account,
                                                                                  monkeypatch):
    """Its key file names where the signed JWT goes, its location is part of a host name: a tenant must not
    make the server post anywhere."""
    monkeypatch.delenv("GOOGLE_API_KEY")
    admin = await admin_tenant()
    elsewhere = {**service_account, "token_uri": f"{fake_google.base_url}/internal/token"}
    put = await client.put(path(admin), {"service_account_json": elsewhere}, content_type="application/json",
                           headers=admin.headers())
    assert put.status_code == 200
    for body in (CHAT, EMBED):
        refused = assert_envelope(await post_inference(client, body, admin.headers()), 503,
                                  "InferenceServiceUnavailableError")
        assert "token_uri" in refused["error"]["message"] and "PRIVATE KEY" not in str(refused)
    assert fake_google.received == []
    assert set((await configured(client, admin)).values()) == {False}
    # nor choose the host through the location, or the path through the project
    for fields in ({"location": "evil.example/x#"}, {"project": "../../other"}):
        await client.put(path(admin), {"service_account_json": service_account, **fields},
                         content_type="application/json", headers=admin.headers())
        refused = assert_envelope(await post_inference(client, EMBED, admin.headers()), 503,
                                  "InferenceServiceUnavailableError")
        assert "evil" not in refused["error"]["message"]
    assert fake_google.received == []


async def test_fields_are_checked_without_quoting_them(transactional_db, client, fake_google):
    admin = await admin_tenant()
    for fields in ({"service_account_json": "{not json -----BEGIN PRIVATE KEY-----"},
                   {"service_account_json": ["-----BEGIN PRIVATE KEY-----"]},
                   {"api_key": NAMESPACE_KEY, "token": NAMESPACE_KEY}):
        response = await client.put(path(admin), fields, content_type="application/json", headers=admin.headers())
        body = assert_envelope(response, 422, "ValidationError")
        assert "PRIVATE KEY" not in response.text and NAMESPACE_KEY not in response.text
        assert body["error"]["details"]["accepted_keys"] == ["api_key", "service_account_json", "project", "location"]
    # other providers keep their one field
    refused = await client.put(path(admin, "openai"), {"project": "p"}, content_type="application/json",
                               headers=admin.headers())
    assert assert_envelope(refused, 422, "ValidationError")["error"]["details"]["accepted_keys"] == ["api_key"]
    assert await sync_to_async(ProviderCredential.objects.count)() == 0
