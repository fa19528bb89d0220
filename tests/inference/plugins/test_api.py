"""/v1/namespaces/{namespace}/plugins: list, enable, update, disable and test, with permissions."""

import pytest
from asgiref.sync import sync_to_async

from inference.plugins.models import NamespacePlugin
from tests.conftest import assert_envelope, ausage_records, post_inference, tenant_create

MINILM = "all_minilm_l6_v2_1_0_0"


def auth(tenant):
    return {"Authorization": f"Bearer {tenant.secret}"}


def url(tenant, *rest, namespace=None):
    return "/".join([f"/v1/namespaces/{namespace or tenant.namespace.name}/plugins", *rest])


async def rows(tenant):
    return await sync_to_async(lambda: {r.inference_name: r.parameters for r in
                                        NamespacePlugin.objects.filter(namespace=tenant.namespace)})()


async def test_lists_every_installed_plugin_with_its_state(tenant, client):
    response = await client.get(url(tenant), headers=auth(tenant))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["object"] == "list" and body["namespace"] == {"id": tenant.namespace.id, "name": "main"}
    plugins = {p["inference_name"]: p for p in body["data"]}
    assert {MINILM, "smollm2_135m_instruct_1_0_0", "keyword_extractor_1_0_0", "my_text_embedder_1_0_0"} <= set(plugins)
    minilm = plugins[MINILM]
    assert minilm["enabled"] is False and minilm["enabled_parameters"] is None
    assert minilm["modalities"] == ["text_embedding"] and minilm["dimensions"] == 384
    assert minilm["feature_uris"] == ["mixpeek://text_extractor@v1/minilm_l6_v2"]
    assert minilm["origin"] == "inference.plugins.builtin"
    assert plugins["keyword_extractor_1_0_0"]["origin"] == "infergate-example-plugins"
    assert plugins["keyword_extractor_1_0_0"]["input_keys"] == ["prompts"]
    assert {p["name"] for p in plugins["keyword_extractor_1_0_0"]["parameters"]} == {"top_k", "diversity", "ngram_max"}


async def test_enable_update_and_disable(tenant, client):
    enable = {"inference_name": "keyword_extractor_1_0_0", "parameters": {"top_k": 3}}
    created = await client.post(url(tenant), enable, content_type="application/json", headers=auth(tenant))
    assert created.status_code == 201, created.content
    assert created.json()["enabled"] is True and created.json()["enabled_parameters"] == {"top_k": 3}
    again = await client.post(url(tenant), {**enable, "parameters": {"top_k": 4}}, content_type="application/json",
                              headers=auth(tenant))
    assert again.status_code == 200 and again.json()["enabled_parameters"] == {"top_k": 4}
    put = await client.put(url(tenant, "keyword_extractor_1_0_0"), {"parameters": {"diversity": 0.5}},
                           content_type="application/json", headers=auth(tenant))
    assert put.status_code == 200 and put.json()["enabled_parameters"] == {"diversity": 0.5}
    assert await rows(tenant) == {"keyword_extractor_1_0_0": {"diversity": 0.5}}
    one = await client.get(url(tenant, "keyword_extractor_1_0_0"), headers=auth(tenant))
    assert one.status_code == 200 and one.json()["enabled"] is True
    request = {"inference_name": "keyword_extractor_1_0_0", "inputs": {"prompts": ["Deep learning with GPUs."]}}
    assert (await post_inference(client, request, tenant.headers())).status_code == 200  # at once in this process
    gone = await client.delete(url(tenant, "keyword_extractor_1_0_0"), headers=auth(tenant))
    assert gone.status_code == 204 and await rows(tenant) == {}
    assert_envelope(await post_inference(client, request, tenant.headers()), 404, "NotFoundError")
    assert_envelope(await client.delete(url(tenant, "keyword_extractor_1_0_0"), headers=auth(tenant)),
                    404, "NotFoundError")


async def test_the_namespace_may_be_named_by_id(tenant, client):
    response = await client.put(url(tenant, MINILM, namespace=tenant.namespace.id), {},
                                content_type="application/json", headers=auth(tenant))
    assert response.status_code == 201, response.content
    assert await rows(tenant) == {MINILM: {}}


@pytest.mark.parametrize("body, status, error_type, field", [
    ({"inference_name": "nope_1_0_0"}, 404, "NotFoundError", None),
    ({}, 422, "ValidationError", "inference_name"),
    ({"inference_name": MINILM, "extra": 1}, 422, "ValidationError", "extra"),
    ({"inference_name": MINILM, "parameters": []}, 422, "ValidationError", "parameters"),
    ({"inference_name": MINILM, "parameters": {"temperature": 1}}, 422, "ValidationError", "parameters.temperature"),
    ({"inference_name": "keyword_extractor_1_0_0", "parameters": {"top_k": 99}}, 422, "ValidationError",
     "parameters.top_k"),
    (["not", "an", "object"], 422, "ValidationError", "body"),
])
async def test_enable_refuses_what_it_cannot_do(tenant, client, body, status, error_type, field):
    response = await client.post(url(tenant), body, content_type="application/json", headers=auth(tenant))
    error = assert_envelope(response, status, error_type)
    if field:
        assert error["error"]["details"]["errors"][0]["field"] == field
    assert await rows(tenant) == {}


async def test_malformed_json_is_400_in_the_envelope(tenant, client):
    response = await client.post(url(tenant), b"{nope", content_type="application/json", headers=auth(tenant))
    assert_envelope(response, 400, "BadRequestError")


async def test_permissions_and_tenancy(transactional_db, client):
    reader = await sync_to_async(tenant_create)("acme", "main", permissions=["read"])
    writer = await sync_to_async(tenant_create)("acme", "main", permissions=["read", "write"])
    scoped = await sync_to_async(tenant_create)("acme", "other", scoped=True)
    outsider = await sync_to_async(tenant_create)("globex", "main")
    enable = {"inference_name": MINILM}
    assert (await client.get(url(reader), headers=auth(reader))).status_code == 200
    error = assert_envelope(await client.post(url(reader), enable, content_type="application/json",
                                              headers=auth(reader)), 403, "ForbiddenError")
    assert error["error"]["details"] == {"required_permission": "write"}
    assert_envelope(await client.delete(url(reader, MINILM), headers=auth(reader)), 403, "ForbiddenError")
    assert (await client.post(url(writer), enable, content_type="application/json",
                              headers=auth(writer))).status_code == 201
    # a key scoped to another namespace, another organization's key, no key
    assert_envelope(await client.get(url(writer), headers=auth(scoped)), 403, "ForbiddenError")
    assert_envelope(await client.get(url(writer, namespace=writer.namespace.id), headers=auth(outsider)),
                    404, "NotFoundError")
    assert_envelope(await client.get(url(writer)), 401, "UnauthorizedError")
    assert_envelope(await client.get(url(writer, namespace="nope"), headers=auth(writer)), 404, "NotFoundError")
    assert_envelope(await client.patch(url(writer), {}, content_type="application/json", headers=auth(writer)),
                    405, "MethodNotAllowedError")


async def test_test_runs_a_plugin_on_sample_inputs_enabled_or_not(tenant, client):
    sample = {"inputs": {"texts": ["one", "two words"]}, "parameters": {"dimensions": 32}}
    response = await client.post(url(tenant, "my_text_embedder_1_0_0", "test"), sample,
                                 content_type="application/json", headers=auth(tenant))
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["provider"], body["model"], body["cached"]) == ("plugin", "my_text_embedder_1_0_0", False)
    assert body["data"]["dimensions"] == 32 and len(body["data"]["embeddings"]) == 2
    assert body["tokens_used"] == {"prompt": 3, "completion": 0, "total": 3}
    assert await rows(tenant) == {}  # testing does not enable
    records = await ausage_records(namespace_id=tenant.namespace.id)
    assert [(r.endpoint, r.provider, r.model, r.status) for r in records] == [
        ("plugin_test", "plugin", "my_text_embedder_1_0_0", 200)]


async def test_test_reports_plugin_failures_in_the_envelope(tenant, client):
    bad_inputs = await client.post(url(tenant, "my_text_embedder_1_0_0", "test"), {"inputs": {"prompts": ["x"]}},
                                   content_type="application/json", headers=auth(tenant))
    assert_envelope(bad_inputs, 422, "ValidationError")
    crash = await client.post(url(tenant, "crasher_1_0_0", "test"), {"inputs": {"prompts": ["x"]}},
                              content_type="application/json", headers=auth(tenant))
    assert assert_envelope(crash, 500, "PluginError")["error"]["details"]["plugin"] == "crasher_1_0_0"
    hang = await client.post(url(tenant, "hanger_1_0_0", "test"), {"inputs": {"prompts": ["x"]}},
                             content_type="application/json", headers=auth(tenant))
    assert_envelope(hang, 504, "TimeoutError")
    missing = await client.post(url(tenant, "nope_1_0_0", "test"), {"inputs": {"text": "x"}},
                                content_type="application/json", headers=auth(tenant))
    assert_envelope(missing, 404, "NotFoundError")
    no_inputs = await client.post(url(tenant, "crasher_1_0_0", "test"), {},
                                  content_type="application/json", headers=auth(tenant))
    assert_envelope(no_inputs, 422, "ValidationError")


async def test_the_routes_are_in_the_openapi_document(client):
    doc = (await client.get("/v1/openapi.json")).json()
    assert {"/v1/namespaces/{namespace}/plugins", "/v1/namespaces/{namespace}/plugins/{inference_name}",
            "/v1/namespaces/{namespace}/plugins/{inference_name}/test"} <= set(doc["paths"])
    item = doc["paths"]["/v1/namespaces/{namespace}/plugins/{inference_name}"]
    assert set(item) == {"get", "put", "delete"} and "needs write" in item["delete"]["summary"]
    assert (await client.get("/v1/docs")).status_code == 200
