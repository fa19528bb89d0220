"""A namespace's model aliases (a name of its own for a target and default parameters) and GET /v1/models as a
catalog of what can be called: Infergate's tested models, what genai-prices describes, the models the namespace
used, its aliases, with ``configured`` per namespace."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from openai import AsyncOpenAI

from tests.conftest import assert_envelope, ausage_records, post_inference, tenant_create

ALIASES = {"fast": {"target": "openai/gpt-5-mini", "parameters": {"reasoning_effort": "low", "max_tokens": 50}},
           "careful": {"target": "gemini/gemini-2.5-pro"}}


@pytest.fixture
async def tenant(transactional_db):
    """An admin key: it sets the namespace's aliases and uses them."""
    return await sync_to_async(tenant_create)("acme", "main", permissions=["admin", "read", "write"])


async def aliases_set(client, tenant, aliases):
    return await client.patch(f"/v1/namespaces/{tenant.namespace.name}", {"routing": {"aliases": aliases}},
                              content_type="application/json", headers=tenant.headers())


def upstream_limit(body: dict) -> int | None:
    return body.get("max_completion_tokens", body.get("max_tokens"))


async def test_an_alias_names_a_target_with_default_parameters(tenant, client, fake_openai):
    stored = await aliases_set(client, tenant, ALIASES)
    assert stored.status_code == 200, stored.content
    assert stored.json()["routing"]["aliases"]["careful"] == {"target": "google/gemini-2.5-pro", "parameters": {}}

    answered = await post_inference(client, {"model": "fast", "inputs": {"prompts": ["hi"]}}, tenant.headers())
    assert answered.status_code == 200, answered.content
    assert (answered.json()["provider"], answered.json()["model"]) == ("openai", "gpt-5-mini")
    sent = fake_openai.requests()[-1].body
    assert (sent["model"], sent["reasoning_effort"], upstream_limit(sent)) == ("gpt-5-mini", "low", 50)

    # The request's own parameters win over the alias's.
    await post_inference(client, {"model": "fast", "inputs": {"prompts": ["hi"]},
                                  "parameters": {"reasoning_effort": "high"}}, tenant.headers())
    sent = fake_openai.requests()[-1].body
    assert (sent["reasoning_effort"], upstream_limit(sent)) == ("high", 50)

    # The OpenAI SDK names it as a model.
    sdk = AsyncOpenAI(api_key=tenant.secret, base_url="http://testserver/v1", http_client=client.http,
                      default_headers={"X-Namespace": tenant.namespace.name}, max_retries=0)
    completion = await sdk.chat.completions.create(model="fast", messages=[{"role": "user", "content": "a b"}])
    assert completion.model == "openai/gpt-5-mini" and completion.choices[0].message.content == "echo: a b"
    assert [r.model for r in await ausage_records()] == ["gpt-5-mini"] * 3


async def test_bad_aliases_are_refused_and_change_nothing(tenant, client):
    for aliases, field in [({"a/b": {"target": "openai/gpt-5"}}, "routing.aliases"),
                           ({"x": {"target": "nowhere/model"}}, "routing.aliases.x.target"),
                           ({"x": {"target": "openai/gpt-5", "parameters": []}}, "routing.aliases.x.parameters"),
                           ({"x": {"target": "openai/gpt-5", "extra": 1}}, "routing.aliases.x"),
                           ({"x": "openai/gpt-5"}, "routing.aliases.x"),
                           ([], "routing.aliases")]:
        body = assert_envelope(await aliases_set(client, tenant, aliases), 422, "ValidationError")
        assert field in [e["field"] for e in body["error"]["details"]["errors"]], (aliases, body)
    got = await client.get(f"/v1/namespaces/{tenant.namespace.name}", headers=tenant.headers())
    assert got.json()["routing"] == {}


async def test_an_unknown_alias_is_a_404(tenant, client):
    response = await post_inference(client, {"model": "fast", "inputs": {"prompts": ["hi"]}}, tenant.headers())
    assert assert_envelope(response, 404, "NotFoundError")["error"]["message"] == \
        "No plugin with inference name 'fast' is installed"
    await aliases_set(client, tenant, ALIASES)
    response = await post_inference(client, {"model": "slow", "inputs": {"prompts": ["hi"]}}, tenant.headers())
    assert "has no model alias 'slow'" in assert_envelope(response, 404, "NotFoundError")["error"]["message"]


async def test_the_model_list_is_a_catalog_with_what_the_namespace_used(tenant, client, fake_openai):
    await aliases_set(client, tenant, ALIASES)
    assert (await post_inference(client, {"provider": "openai", "model": "gpt-9-used",
                                          "inputs": {"prompts": ["hi"]}}, tenant.headers())).status_code == 200
    await ausage_records()  # flushed: the list reads what was recorded
    items = {item["id"]: item for item in (await client.get("/v1/models", headers=tenant.headers())).json()["data"]}
    tested, described, used = items["openai/gpt-4o-mini"], items["openai/gpt-5-mini"], items["openai/gpt-9-used"]
    assert (tested["catalog"], described["catalog"], used["catalog"]) == ("infergate", "genai-prices", None)
    assert tested["configured"] and described["configured"] and used["configured"]
    assert (tested["used"], described["used"], used["used"]) == (False, False, True)
    assert described["price"]["known"] and described["price"]["prompt_per_million"] > 0
    assert described["price"]["cache_read_per_million"] < described["price"]["prompt_per_million"]
    assert used["price"] == {"currency": "USD", "known": False, "prompt_per_million": None,
                             "completion_per_million": None}
    assert "tools" in [p["name"] for p in described["parameters"]]
    assert items["fast"] == {"id": "fast", "object": "model", "kind": "alias", "created": 0, "owned_by": "namespace",
                             "target": "openai/gpt-5-mini", "parameters": ALIASES["fast"]["parameters"],
                             "type": "model", "display_name": "fast", "created_at": "1970-01-01T00:00:00Z"}
    assert not any("dall-e" in name or "tts" in name for name in items)
    assert "anthropic/claude-3-5-haiku-latest" in items or any(i.startswith("anthropic/claude-3") for i in items)
