"""The issue's fallback example through both real SDKs: when openai/gpt-4o-mini keeps failing with 5xx,
the namespace's routing sends the request on to anthropic/claude-haiku-4-5, and the answer and its usage
record name the target that answered."""

from asgiref.sync import sync_to_async

from tests.conftest import ausage_records, post_inference, tenant_create
from tests.fakes.openai_server import Scripted, error_body


async def test_openai_5xx_falls_back_to_claude(transactional_db, client, fake_openai, fake_anthropic):
    admin = await sync_to_async(tenant_create)("acme", "main", permissions=["admin"])
    routing = {"fallbacks": {"openai/gpt-4o-mini": ["anthropic/claude-haiku-4-5"]}}
    patched = await client.patch(f"/v1/namespaces/{admin.namespace.name}", {"routing": routing},
                                 content_type="application/json", headers=admin.headers())
    assert patched.status_code == 200, patched.content
    fake_openai.script(*[Scripted(status=503, body=error_body("The server is overloaded", "server_error"))] * 3)
    body = {"provider": "openai", "model": "gpt-4o-mini", "inputs": {"prompts": ["Name a colour."]}}
    response = await post_inference(client, body, admin.headers())
    assert response.status_code == 200, response.content
    result = response.json()
    assert (result["provider"], result["model"]) == ("anthropic", "claude-haiku-4-5")
    assert result["data"]["responses"] == [{"text": "echo: Name a colour.", "finish_reason": "stop"}]
    assert response.headers["X-Infergate-Attempts"] == ("openai/gpt-4o-mini;status=502, "
                                                        "anthropic/claude-haiku-4-5;status=200")
    assert len(fake_openai.requests()) == 3 and len(fake_anthropic.requests()) == 1
    (record,) = await ausage_records()
    assert (record.provider, record.model, record.status) == ("anthropic", "claude-haiku-4-5", 200)
    assert float(record.cost_usd) == round((3 * 1.0 + 4 * 5.0) / 1e6, 8)
