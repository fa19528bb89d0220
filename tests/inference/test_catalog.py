"""GET /v1/models through the DRF view and its API-key authentication."""

from tests.conftest import assert_envelope, tenant_create


async def test_lists_local_models_with_capabilities(tenant, client):
    response = await client.get("/v1/models", headers=tenant.headers())
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["object"] == "list"
    models = {item["id"]: item for item in body["data"]}
    embedder, chat = models["local/all-minilm-l6-v2"], models["local/smollm2-135m-instruct"]
    assert embedder["modalities"] == ["text_embedding"] and embedder["dimensions"] == 384
    assert embedder["input_keys"] == ["text", "texts"]
    assert chat["modalities"] == ["chat"] and chat["configured"] is True
    assert {p["name"] for p in chat["parameters"]} == {"temperature", "top_p", "stop", "seed", "max_tokens"}
    assert chat["price"]["prompt_per_million"] == 0


async def test_needs_a_key_and_a_namespace(tenant, client):
    assert_envelope(await client.get("/v1/models"), 401, "UnauthorizedError")
    assert_envelope(await client.get("/v1/models", headers={"Authorization": f"Bearer {tenant.secret}"}),
                    400, "BadRequestError")
    assert_envelope(await client.get("/v1/models", headers=tenant.headers("nope")), 404, "NotFoundError")


async def test_needs_read_permission(transactional_db, client):
    from asgiref.sync import sync_to_async

    writer = await sync_to_async(tenant_create)("acme", "main", permissions=["write"])
    assert_envelope(await client.get("/v1/models", headers=writer.headers()), 403, "ForbiddenError")


async def test_post_is_405_in_the_envelope(tenant, client):
    assert_envelope(await client.post("/v1/models", b"{}", content_type="application/json",
                                      headers=tenant.headers()), 405, "MethodNotAllowedError")
