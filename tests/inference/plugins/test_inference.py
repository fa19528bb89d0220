"""POST /v1/inference by inference name and by feature URI: the seed's requests, the built-in extractor,
the example package, namespace enablement, parameters and usage."""

import json
import math

from asgiref.sync import sync_to_async

from tests.conftest import assert_envelope, ausage_records, post_inference, tenant_create
from tests.inference.plugins.conftest import enable

MINILM = "all_minilm_l6_v2_1_0_0"


async def test_builtin_extractor_by_feature_uri_matches_the_local_model(tenant, client):
    await enable(tenant, MINILM)
    direct = await post_inference(client, {"provider": "local", "model": "all-minilm-l6-v2",
                                           "inputs": {"text": "machine learning"}}, tenant.headers())
    for uri in ("mixpeek://text_extractor@v1/minilm_l6_v2", "infergate://text_extractor@1.0.0/minilm_l6_v2",
                "mixpeek://text_extractor@v1"):
        response = await post_inference(client, {"feature_uri": uri, "inputs": {"text": "machine learning"}},
                                        tenant.headers())
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"data", "provider", "model", "latency_ms", "tokens_used", "cached"}
        assert (body["provider"], body["model"], body["cached"]) == ("plugin", MINILM, False)
        assert body["data"]["dimensions"] == 384
        assert body["data"]["embedding"] == direct.json()["data"]["embedding"]
        assert body["tokens_used"] == direct.json()["tokens_used"]


async def test_builtin_plugin_by_inference_name_answers_a_batch(tenant, client):
    await enable(tenant, MINILM)
    response = await post_inference(client, {"inference_name": MINILM, "inputs": {"texts": ["a", "b"]}},
                                    tenant.headers())
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["dimensions"] == 384 and len(data["embeddings"]) == 2
    records = await ausage_records(namespace_id=tenant.namespace.id)
    assert [(r.provider, r.model, r.inference_name, r.modality, r.status) for r in records] == [
        ("plugin", MINILM, MINILM, "text_embedding", 200)]


async def test_seed_inference_name_on_the_example_package(tenant, client):
    await enable(tenant, "my_text_embedder_1_0_0")
    response = await post_inference(client, {"inference_name": "my_text_embedder_1_0_0",
                                             "inputs": {"text": "hello world"}, "parameters": {}}, tenant.headers())
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["provider"], body["model"]) == ("plugin", "my_text_embedder_1_0_0")
    assert body["data"]["dimensions"] == 256 and len(body["data"]["embedding"]) == 256
    assert math.isclose(sum(v * v for v in body["data"]["embedding"]), 1.0, rel_tol=1e-9)
    assert body["tokens_used"] == {"prompt": 2, "completion": 0, "total": 2}
    by_uri = await post_inference(client, {"feature_uri": "mixpeek://lexical_extractor@v1/hashed_ngrams_v1",
                                           "inputs": {"text": "hello world"}}, tenant.headers())
    assert by_uri.status_code == 200 and by_uri.json()["data"] == body["data"]
    # Addressed by feature URI, the usage record still names the plugin's inference name.
    *_, by_uri_record = await ausage_records(namespace_id=tenant.namespace.id)
    assert (by_uri_record.inference_name, by_uri_record.model) == ("my_text_embedder_1_0_0",) * 2


async def test_keyword_extractor_from_the_example_package(tenant, client):
    await enable(tenant, "keyword_extractor_1_0_0", top_k=2)
    text = "Gradient descent optimises neural network weights by following the gradient of the loss."
    response = await post_inference(client, {"inference_name": "keyword_extractor_1_0_0",
                                             "inputs": {"prompts": [text]}}, tenant.headers())
    assert response.status_code == 200, response.content
    (answer,) = response.json()["data"]["responses"]
    assert len(answer["structured"]["keywords"]) == 2  # the namespace's top_k
    three = await post_inference(client, {"inference_name": "keyword_extractor_1_0_0", "inputs": {"prompts": [text]},
                                          "parameters": {"top_k": 3}}, tenant.headers())
    assert len(three.json()["data"]["responses"][0]["structured"]["keywords"]) == 3  # the request's wins


async def test_seed_feature_uri_without_such_a_plugin_is_404_listing_what_is_available(tenant, client):
    response = await post_inference(client, {
        "feature_uri": "mixpeek://text_extractor@v1/multilingual_e5_large_instruct_v1",
        "inputs": {"text": "hello world"}}, tenant.headers())
    body = assert_envelope(response, 404, "NotFoundError")
    details = body["error"]["details"]
    assert details["part"] == "vector_index_name" and details["outputs"] == ["minilm_l6_v2"]
    assert "mixpeek://text_extractor@v1/minilm_l6_v2" in details["available"]
    assert "mixpeek://lexical_extractor@v1/hashed_ngrams_v1" in details["available"]


async def test_feature_uri_failures(tenant, client):
    async def post(uri):
        return await post_inference(client, {"feature_uri": uri, "inputs": {"prompts": ["hi"]}}, tenant.headers())

    body = assert_envelope(await post("mixpeek://text_extractor@latest/minilm_l6_v2"), 400, "BadRequestError")
    assert body["error"]["details"]["part"] == "version"
    body = assert_envelope(await post("ftp://text_extractor@v1/minilm_l6_v2"), 400, "BadRequestError")
    assert body["error"]["details"]["part"] == "scheme"
    body = assert_envelope(await post("mixpeek://nope_extractor@v1/x"), 404, "NotFoundError")
    assert body["error"]["details"]["part"] == "extractor"
    body = assert_envelope(await post("mixpeek://text_extractor@v7/minilm_l6_v2"), 404, "NotFoundError")
    assert body["error"]["details"]["versions"] == ["1.0.0"]
    body = assert_envelope(await post("mixpeek://echo_extractor@v2"), 400, "BadRequestError")
    assert body["error"]["details"]["outputs"] == ["first", "third"]  # v2 is the newest 2.x: 2.1.0
    body = assert_envelope(await post("mixpeek://echo_extractor@2.0.0/third"), 404, "NotFoundError")
    assert body["error"]["details"]["outputs"] == ["first", "second"]
    body = assert_envelope(await post("mixpeek://ghost_extractor@v1/ghost"), 404, "NotFoundError")
    assert body["error"]["details"]["installed"] is False


async def test_exact_and_major_versions_resolve(tenant, client):
    await enable(tenant, "param_echo_1_2_0")
    for uri in ("mixpeek://echo_extractor@2.0.0/second", "infergate://echo_extractor@v2/third"):
        response = await post_inference(client, {"feature_uri": uri, "inputs": {"prompts": ["hi"]}}, tenant.headers())
        assert response.status_code == 200, response.content
        assert response.json()["model"] == "param_echo_1_2_0"


async def test_a_namespace_reaches_only_the_plugins_it_enabled(tenant, client):
    other = await sync_to_async(tenant_create)("acme", "other")
    elsewhere = await sync_to_async(tenant_create)("globex", "main")
    await enable(tenant, MINILM)
    body = {"inference_name": MINILM, "inputs": {"text": "hi"}}
    assert (await post_inference(client, body, tenant.headers())).status_code == 200
    for outsider in (other, elsewhere):
        error = assert_envelope(await post_inference(client, body, outsider.headers()), 404, "NotFoundError")
        assert "not enabled" in error["error"]["message"]
        assert error["error"]["details"]["installed"] is True and error["error"]["details"]["enabled"] == []
    response = await post_inference(client, {"feature_uri": "mixpeek://text_extractor@v1/minilm_l6_v2",
                                             "inputs": {"text": "hi"}}, other.headers())
    assert_envelope(response, 404, "NotFoundError")
    records = await ausage_records(namespace_id=other.namespace.id)
    assert {(r.status, r.error_type) for r in records} == {(404, "NotFoundError")}


async def test_unknown_inference_name_is_404_listing_installed_plugins(tenant, client):
    response = await post_inference(client, {"inference_name": "my_text_embedder_9_9_9", "inputs": {"text": "x"}},
                                    tenant.headers())
    body = assert_envelope(response, 404, "NotFoundError")
    assert body["error"]["details"]["installed"] is False
    assert {"my_text_embedder_1_0_0", MINILM} <= set(body["error"]["details"]["available"])


async def test_inputs_and_parameters_are_checked_against_the_plugin(tenant, client):
    await enable(tenant, "param_echo_1_2_0", greeting="hello")
    body = assert_envelope(await post_inference(client, {"inference_name": "param_echo_1_2_0",
                                                         "inputs": {"messages": [{"role": "user", "content": "x"}]}},
                                                tenant.headers()), 422, "ValidationError")
    assert body["error"]["details"]["errors"][0]["field"] == "inputs.messages"
    assert "it reads prompts" in body["error"]["message"]
    body = assert_envelope(await post_inference(client, {"inference_name": "param_echo_1_2_0",
                                                         "inputs": {"prompts": ["x"]}, "parameters": {"count": 9}},
                                                tenant.headers()), 422, "ValidationError")
    assert body["error"]["details"]["errors"][0]["field"] == "parameters.count"
    response = await post_inference(client, {"inference_name": "param_echo_1_2_0", "inputs": {"prompts": ["x", "y"]},
                                             "parameters": {"count": 2}}, tenant.headers())
    assert response.status_code == 200, response.content
    answers = response.json()["data"]["responses"]
    assert [json.loads(a["text"]) for a in answers] == [{"count": 2, "greeting": "hello"}] * 2
    assert response.json()["tokens_used"] == {"prompt": 2, "completion": 1, "total": 3}


async def test_two_targets_are_still_400(tenant, client):
    response = await post_inference(client, {"inference_name": MINILM, "feature_uri": "mixpeek://text_extractor@v1",
                                             "inputs": {"text": "x"}}, tenant.headers())
    assert_envelope(response, 400, "BadRequestError")
