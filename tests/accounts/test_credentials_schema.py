"""The OpenAPI body of PUT /v1/namespaces/{namespace}/credentials/{provider} says what the service takes:
every field some provider declares (google's service account, project and location too), each documented
example accepted by the real route, and bodies the schema refuses refused by the route too."""

import jsonschema_rs
import pytest
from asgiref.sync import sync_to_async

from inference.api.openapi import openapi_document
from inference.providers.registry import provider_registry
from tenancy.credentials.services import providers_with_keys
from tests.conftest import assert_envelope, tenant_create

ROUTE = "/v1/namespaces/{namespace}/credentials/{provider}"


def request_body() -> dict:
    return openapi_document()["paths"][ROUTE]["put"]["requestBody"]["content"]["application/json"]


def test_the_schema_names_every_field_a_provider_takes():
    declared = {name for provider in providers_with_keys() for name in provider_registry().credential_fields(provider)}
    schema = request_body()["schema"]
    assert set(schema["properties"]) == declared
    assert {"service_account_json", "project", "location"} <= declared
    assert "required" not in schema  # google takes a service account without an api_key


@pytest.mark.parametrize("body, valid", [
    ({"api_key": "sk-1"}, True),
    ({"service_account_json": {"type": "service_account"}, "project": "p-1", "location": "us-central1"}, True),
    ({"service_account_json": "{\"type\": \"service_account\"}"}, True),
    ({}, False), ({"api_key": ""}, False), ({"api_key": "x" * 4097}, False), ({"region": "eu"}, False),
    ({"service_account_json": {}}, False), ({"service_account_json": 5}, False), ({"project": None}, False)])
def test_the_schema_on_bodies(body, valid):
    assert jsonschema_rs.validator_for(request_body()["schema"]).is_valid(body) is valid


@sync_to_async
def admin_tenant():
    return tenant_create("acme", "main", permissions=["admin"])


async def test_each_documented_example_is_accepted_and_what_the_schema_refuses_is_refused(transactional_db,
                                                                                           client):
    admin = await admin_tenant()
    examples = request_body()["examples"]
    for name, provider in (("api_key", "openai"), ("api_key", "google"), ("vertex", "google")):
        body = examples[name]["value"]
        response = await client.put(f"/v1/namespaces/main/credentials/{provider}", body,
                                    content_type="application/json", headers=admin.headers())
        assert response.status_code == 200, response.content
        assert response.json()["fields"] == sorted(body)
    for body in ({}, {"api_key": ""}, {"service_account_json": {}}, {"region": "eu"}, {"project": 5}):
        response = await client.put("/v1/namespaces/main/credentials/google", body, content_type="application/json",
                                    headers=admin.headers())
        assert_envelope(response, 422, "ValidationError")
    # a field google takes is not one openai takes: the 422 lists what openai does
    response = await client.put("/v1/namespaces/main/credentials/openai", {"project": "p-1"},
                                content_type="application/json", headers=admin.headers())
    assert assert_envelope(response, 422, "ValidationError")["error"]["details"]["accepted_keys"] == ["api_key"]
