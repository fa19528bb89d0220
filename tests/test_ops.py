"""Health, readiness, the OpenAPI document and its rendered reference page."""

import pytest

from inference.request import BODY_KEYS


async def test_healthz(client):
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_readyz_checks_database_and_redis(transactional_db, client):
    response = await client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]


async def test_readyz_is_503_when_redis_is_unreachable(transactional_db, client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == {"ok": False, "error": "ConnectionError"}


async def test_openapi_documents_the_contract(client):
    response = await client.get("/v1/openapi.json")
    doc = response.json()
    assert response.status_code == 200 and doc["openapi"].startswith("3.1")
    operation = doc["paths"]["/v1/inference"]["post"]
    assert set(doc["components"]["schemas"]["InferenceRequest"]["properties"]) == set(BODY_KEYS)
    assert {"200", "400", "401", "403", "404", "413", "422", "429", "500", "502", "503", "504"} <= set(
        operation["responses"])
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    assert {"local_chat", "local_embedding", "openai_vision", "transcription", "plugin", "feature_uri"} <= set(examples)
    response_examples = operation["responses"]["200"]["content"]["application/json"]["examples"]
    assert {"chat", "embedding", "embeddings", "video", "transcription"} <= set(response_examples)


@pytest.mark.parametrize("name", ["local_chat", "local_messages", "local_embedding", "local_embeddings"])
async def test_local_examples_in_the_schema_actually_work(tenant, client, name):
    from tests.conftest import post_inference

    doc = (await client.get("/v1/openapi.json")).json()
    example = doc["paths"]["/v1/inference"]["post"]["requestBody"]["content"]["application/json"]["examples"][name]
    response = await post_inference(client, example["value"], tenant.headers())
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"data", "provider", "model", "latency_ms", "tokens_used", "cached"}


async def test_reference_page_renders(client):
    response = await client.get("/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/v1/inference" in html and "X-Namespace" in html and "smollm2-135m-instruct" in html
