"""The namespace's ``anthropic`` credential: set through the write-only API, used ahead of
ANTHROPIC_API_KEY, never shown back, and confined to its namespace."""

from asgiref.sync import sync_to_async

from tests.conftest import assert_envelope, post_inference, tenant_create
from tests.fakes.anthropic_server import GOOD_KEY

CHAT = {"provider": "anthropic", "model": "claude-haiku-4-5", "inputs": {"prompts": ["hi"]}}
NAMESPACE_KEY = "sk-ant-api03-namespace-own-key-abcdef123456"


def path(tenant, provider="anthropic"):
    return f"/v1/namespaces/{tenant.namespace.name}/credentials/{provider}"


async def test_the_namespace_key_wins_and_stays_in_its_namespace(transactional_db, client, fake_anthropic,
                                                                 monkeypatch):
    admin = await sync_to_async(tenant_create)("acme", "main", permissions=["admin"])
    other = await sync_to_async(tenant_create)("acme", "other", permissions=["admin"])
    fake_anthropic.keys.add(NAMESPACE_KEY)
    put = await client.put(path(admin), {"api_key": NAMESPACE_KEY}, content_type="application/json",
                           headers=admin.headers())
    assert put.status_code == 200, put.content
    assert put.json()["fields"] == ["api_key"] and NAMESPACE_KEY not in put.text
    listing = (await client.get(f"/v1/namespaces/{admin.namespace.name}/credentials", headers=admin.headers())).json()
    assert {i["provider"]: i["set"] for i in listing["data"]}["anthropic"] is True
    assert NAMESPACE_KEY not in str(listing)

    assert (await post_inference(client, CHAT, admin.headers())).status_code == 200
    assert fake_anthropic.requests()[-1].headers["authorization"] == f"Bearer {NAMESPACE_KEY}"
    assert (await post_inference(client, CHAT, other.headers())).status_code == 200  # the environment's key
    assert fake_anthropic.requests()[-1].headers["authorization"] == f"Bearer {GOOD_KEY}"

    monkeypatch.delenv("ANTHROPIC_API_KEY")
    assert (await post_inference(client, CHAT, admin.headers())).status_code == 200
    body = assert_envelope(await post_inference(client, CHAT, other.headers()), 503,
                           "InferenceServiceUnavailableError")
    assert body["error"]["details"]["missing_credential"] == "ANTHROPIC_API_KEY"
    assert NAMESPACE_KEY not in str(body)
