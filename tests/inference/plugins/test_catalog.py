"""GET /v1/models lists plugins and feature URIs next to provider models."""

from tests.conftest import assert_envelope
from tests.inference.plugins.conftest import enable


async def test_lists_plugins_and_feature_uris_with_this_namespaces_state(tenant, client):
    await enable(tenant, "my_text_embedder_1_0_0", dimensions=64)
    response = await client.get("/v1/models", headers=tenant.headers())
    assert response.status_code == 200, response.content
    items = {item["id"]: item for item in response.json()["data"]}
    assert items["local/all-minilm-l6-v2"]["kind"] == "model"
    embedder = items["plugin/my_text_embedder_1_0_0"]
    assert (embedder["kind"], embedder["provider"], embedder["model"]) == ("plugin", "plugin", "my_text_embedder_1_0_0")
    assert embedder["enabled"] is True and embedder["configured"] is True
    assert embedder["enabled_parameters"] == {"dimensions": 64}
    assert embedder["modalities"] == ["text_embedding"] and embedder["input_keys"] == ["text", "texts"]
    assert embedder["price"]["prompt_per_million"] == 0
    assert items["plugin/all_minilm_l6_v2_1_0_0"]["enabled"] is False
    uri = items["mixpeek://text_extractor@v1/minilm_l6_v2"]
    assert (uri["kind"], uri["inference_name"], uri["enabled"]) == ("feature_uri", "all_minilm_l6_v2_1_0_0", False)
    assert uri["modalities"] == ["text_embedding"] and uri["dimensions"] == 384
    lexical = items["mixpeek://lexical_extractor@v1/hashed_ngrams_v1"]
    assert lexical["inference_name"] == "my_text_embedder_1_0_0" and lexical["enabled"] is True
    ghost = items["mixpeek://ghost_extractor@v1/ghost"]
    assert ghost["installed"] is False and ghost["enabled"] is False
    # only the newest 2.x of echo_extractor is listed
    assert "mixpeek://echo_extractor@v2/third" in items and "mixpeek://echo_extractor@v2/second" not in items
    assert all(item["object"] == "model" for item in items.values())


async def test_still_needs_read(tenant, client):
    assert_envelope(await client.get("/v1/models"), 401, "UnauthorizedError")
