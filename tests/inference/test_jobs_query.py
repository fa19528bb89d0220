"""``?async=`` on POST /v1/inference: true/1/yes queue a job (tests/inference/test_jobs.py), false/0/no run
at once, and anything else (``?async=ture``) is a 422 naming the parameter, never a silent synchronous run:
refused after the key and namespace like a bad body, with its usage record, and nothing run. (The target is
the local embedder: no fake upstream needed.)"""

import json

import pytest

from core.errors import ValidationError
from inference.api.endpoint import async_requested
from tests.conftest import assert_envelope, ausage_records

EMBED = {"provider": "local", "model": "all-minilm-l6-v2", "inputs": {"text": "hi"}}


def scope(query: bytes) -> dict:
    return {"type": "http", "query_string": query}


@pytest.mark.parametrize("query, queued", [
    (b"", False), (b"async=", False), (b"async=true", True), (b"async=TRUE", True), (b"async=1", True),
    (b"async=yes", True), (b"async=false", False), (b"async=0", False), (b"async=No", False),
    (b"async=%20true%20", True), (b"other=1&async=yes", True), (b"async=ture&async=1", True)])
def test_accepted_values(query, queued):
    assert async_requested(scope(query)) is queued


@pytest.mark.parametrize("value", [b"ture", b"2", b"on", b"y", b"truee", b"%00", b"true,false"])
def test_any_other_value_is_a_422_naming_the_parameter(value):
    with pytest.raises(ValidationError) as caught:
        async_requested(scope(b"async=" + value))
    assert caught.value.status == 422
    assert caught.value.details["errors"] == [
        {"field": "async", "problem": "query parameter: must be one of true, false, 1, 0, yes, no"}]
    assert caught.value.message == "Query parameter 'async' must be one of true, false, 1, 0, yes, no"


async def test_a_misspelt_async_is_refused_not_run(tenant, client):
    response = await client.post("/v1/inference?async=ture", json.dumps(EMBED), content_type="application/json",
                                 headers=tenant.headers(**{"X-Request-ID": "req-async-ture"}))
    body = assert_envelope(response, 422, "ValidationError")
    assert body["error"]["details"]["errors"][0]["field"] == "async"
    assert "true, false, 1, 0, yes, no" in body["error"]["message"]
    (record,) = await ausage_records()  # refused before the target ran: no tokens, no latency of a model
    assert (record.request_id, record.status, record.error_type) == ("req-async-ture", 422, "ValidationError")
    assert (record.provider, record.prompt_tokens) == ("", 0)
    # the key is checked first, as for any refused body
    unauthorised = await client.post("/v1/inference?async=ture", json.dumps(EMBED), content_type="application/json",
                                     headers={"X-Namespace": "main"})
    assert_envelope(unauthorised, 401, "UnauthorizedError")


@pytest.mark.parametrize("value", ["false", "0", "no"])
async def test_false_values_run_at_once(tenant, client, value):
    response = await client.post(f"/v1/inference?async={value}", json.dumps(EMBED), content_type="application/json",
                                 headers=tenant.headers())
    assert response.status_code == 200, response.content
    assert response.json()["data"]["dimensions"] == 384
