"""Bad requests to POST /v1/inference (docs/contract.md): each gets the documented status and envelope, leaves
exactly one usage record saying so, and changes nothing else."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from tenancy.accounts.models import ApiKey, Namespace, Organization
from tests.conftest import assert_envelope, ausage_records, post_inference

JSON = "application/json"
MAX_BATCH = settings.INFERGATE["MAX_BATCH"]
MAX_PROMPT_CHARS = settings.INFERGATE["MAX_PROMPT_CHARS"]
MAX_BODY_BYTES = settings.INFERGATE["MAX_BODY_BYTES"]

ECHO = {"provider": "test", "model": "echo"}
EMBEDDER = {"provider": "local", "model": "all-minilm-l6-v2"}
VALID = {**ECHO, "inputs": {"prompts": ["hi"]}}


def chat(inputs: Any = None, **fields: Any) -> dict[str, Any]:
    return {**ECHO, "inputs": {"prompts": ["hi"]} if inputs is None else inputs, **fields}


def params(**parameters: Any) -> dict[str, Any]:
    return chat(parameters=parameters)


def embed(inputs: Any, **fields: Any) -> dict[str, Any]:
    return {**EMBEDDER, "inputs": inputs, **fields}


def messages(*items: Any) -> dict[str, Any]:
    return chat({"messages": list(items)})


def bad(id: str, body: Any, status: int, error_type: str, field: str | None = None, *,
        content_type: str = JSON, message: str | None = None, marks: Any = ()):
    """One row: the body (bytes sent as they are, anything else as JSON), what the client must get back,
    the field that ``details.errors`` must name, and a phrase the message must contain."""
    return pytest.param(body, content_type, status, error_type, field, message, id=id, marks=marks)


HUGE_INT = int("1" + "0" * 400)

BODIES = [
    # -- the bytes ---------------------------------------------------------------------------------
    bad("malformed-json", b'{"provider": "test",', 400, "BadRequestError", message="Malformed JSON"),
    bad("empty-body", b"", 400, "BadRequestError", message="empty"),
    bad("whitespace-body", b" \n\t ", 400, "BadRequestError", message="empty"),
    bad("invalid-utf8", b'{"provider": "t\xffst", "model": "echo", "inputs": {}}', 400, "BadRequestError",
        message="UTF-8"),
    bad("utf8-bom", b"\xef\xbb\xbf" + json.dumps(VALID).encode(), 400, "BadRequestError"),
    bad("nan", json.dumps(chat())[:-1].encode() + b', "cache_delta": NaN}', 400, "BadRequestError"),
    bad("infinity", json.dumps(chat())[:-1].encode() + b', "cache_delta": -Infinity}', 400, "BadRequestError"),
    bad("nested-too-deep", b'{"inputs": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400, "BadRequestError"),
    bad("top-level-array", [VALID], 422, "ValidationError", "body"),
    bad("top-level-string", b'"hello"', 422, "ValidationError", "body"),
    bad("top-level-number", b"42", 422, "ValidationError", "body"),
    bad("top-level-null", b"null", 422, "ValidationError", "body"),
    # -- the envelope of the body ------------------------------------------------------------------
    bad("unknown-top-level-key", chat(stream=True), 422, "ValidationError", "stream",
        message="accepted keys are provider, model, inference_name, feature_uri, inputs, parameters"),
    bad("inputs-missing", ECHO, 422, "ValidationError", "inputs"),
    bad("inputs-not-object", chat(["hi"]), 422, "ValidationError", "inputs"),
    bad("inputs-null", chat(None) | {"inputs": None}, 422, "ValidationError", "inputs"),
    bad("parameters-not-object", chat(parameters=[]), 422, "ValidationError", "parameters"),
    bad("enable-semantic-cache-string", chat(enable_semantic_cache="true"), 422, "ValidationError",
        "enable_semantic_cache"),
    bad("enable-semantic-cache-int", chat(enable_semantic_cache=1), 422, "ValidationError", "enable_semantic_cache"),
    bad("cache-delta-negative", chat(cache_delta=-0.1), 422, "ValidationError", "cache_delta"),
    bad("cache-delta-above-one", chat(cache_delta=1.5), 422, "ValidationError", "cache_delta"),
    bad("cache-delta-string", chat(cache_delta="0.5"), 422, "ValidationError", "cache_delta"),
    bad("cache-delta-bool", chat(cache_delta=True), 422, "ValidationError", "cache_delta"),
    bad("cache-delta-overflows-float", chat(cache_delta=HUGE_INT), 422, "ValidationError", "cache_delta"),
    bad("model-not-string", {"provider": "test", "model": 7, "inputs": {"prompts": ["hi"]}}, 422,
        "ValidationError", "model"),
    bad("provider-empty-string", chat(provider=""), 422, "ValidationError", "provider"),
    # -- the target --------------------------------------------------------------------------------
    bad("provider-model-and-inference-name", chat(inference_name="my_text_embedder_1_0_0"), 400, "BadRequestError"),
    bad("provider-model-and-feature-uri", chat(feature_uri="mixpeek://x@v1/y"), 400, "BadRequestError"),
    bad("inference-name-and-feature-uri", {"inference_name": "a", "feature_uri": "mixpeek://x@v1/y",
                                           "inputs": {"text": "hi"}}, 400, "BadRequestError"),
    bad("provider-without-model", {"provider": "test", "inputs": {"prompts": ["hi"]}}, 400, "BadRequestError"),
    bad("model-no-alias-names", {"model": "echo", "inputs": {"prompts": ["hi"]}}, 404, "NotFoundError"),
    bad("no-target", {"inputs": {"prompts": ["hi"]}}, 400, "BadRequestError"),
    bad("unknown-provider", chat(provider="nonesuch"), 400, "BadRequestError", message="nonesuch"),
    bad("unknown-model", chat(model="gpt-17"), 400, "BadRequestError", message="gpt-17"),
    bad("unknown-inference-name", {"inference_name": "my_text_embedder_1_0_0", "inputs": {"text": "hi"}},
        404, "NotFoundError"),
    bad("unknown-feature-uri", {"feature_uri": "mixpeek://my_custom_embedder@1.0.0/embedding",
                                "inputs": {"text": "hi"}}, 404, "NotFoundError"),
    # -- chat inputs -------------------------------------------------------------------------------
    bad("prompts-empty-list", chat({"prompts": []}), 422, "ValidationError", "inputs.prompts"),
    bad("prompts-not-list", chat({"prompts": "hi"}), 422, "ValidationError", "inputs.prompts"),
    bad("prompts-non-string", chat({"prompts": ["hi", 3]}), 422, "ValidationError", "inputs.prompts[1]"),
    bad("prompts-empty-string", chat({"prompts": [""]}), 422, "ValidationError", "inputs.prompts[0]"),
    bad("prompts-blank-string", chat({"prompts": ["  \n"]}), 422, "ValidationError", "inputs.prompts[0]"),
    bad("prompts-over-batch", chat({"prompts": ["hi"] * (MAX_BATCH + 1)}), 422, "ValidationError", "inputs.prompts"),
    bad("prompt-over-max-chars", chat({"prompts": ["a" * (MAX_PROMPT_CHARS + 1)]}), 422, "ValidationError",
        "inputs.prompts[0]"),
    bad("prompt-with-nul", chat({"prompts": ["hi\u0000there"]}), 422, "ValidationError", "inputs.prompts[0]"),
    bad("prompts-and-messages", chat({"prompts": ["hi"], "messages": [{"role": "user", "content": "hi"}]}),
        422, "ValidationError", "inputs"),
    bad("neither-prompts-nor-messages", chat({"system": "be brief"}), 422, "ValidationError", "inputs"),
    bad("system-not-string", chat({"prompts": ["hi"], "system": ["be brief"]}), 422, "ValidationError",
        "inputs.system"),
    bad("messages-not-list", chat({"messages": {"role": "user", "content": "hi"}}), 422, "ValidationError",
        "inputs.messages"),
    bad("messages-bad-role", messages({"role": "wizard", "content": "hi"}), 422, "ValidationError",
        "inputs.messages[0].role"),
    bad("messages-missing-content", messages({"role": "user"}), 422, "ValidationError", "inputs.messages[0]"),
    bad("messages-extra-key", messages({"role": "user", "content": "hi", "name": "bob"}), 422, "ValidationError",
        "inputs.messages[0]"),
    bad("messages-content-not-string", messages({"role": "user", "content": [{"type": "text"}]}), 422,
        "ValidationError", "inputs.messages[0].content"),
    bad("input-key-not-read-by-chat", chat({"text": "hi"}), 422, "ValidationError", "inputs.text",
        message="it reads messages, prompts, system"),
    bad("image-url-for-text-only-chat", chat({"prompts": ["what is this?"], "image_url": "https://x.test/a.png"}),
        422, "ValidationError", "inputs.image_url", message="it reads messages, prompts, system"),
    # -- chat parameters ---------------------------------------------------------------------------
    bad("unknown-parameter", params(frequency_penalty=0.5), 422, "ValidationError", "parameters.frequency_penalty"),
    bad("temperature-above-range", params(temperature=2.5), 422, "ValidationError", "parameters.temperature"),
    bad("temperature-below-range", params(temperature=-0.1), 422, "ValidationError", "parameters.temperature"),
    bad("temperature-string", params(temperature="0.7"), 422, "ValidationError", "parameters.temperature"),
    bad("temperature-overflows-float", params(temperature=HUGE_INT), 422, "ValidationError",
        "parameters.temperature"),
    bad("max-tokens-zero", params(max_tokens=0), 422, "ValidationError", "parameters.max_tokens"),
    bad("max-tokens-1e9", params(max_tokens=1e9), 422, "ValidationError", "parameters.max_tokens"),
    bad("max-tokens-10-to-the-9", params(max_tokens=10**9), 422, "ValidationError", "parameters.max_tokens"),
    bad("max-tokens-float", params(max_tokens=12.5), 422, "ValidationError", "parameters.max_tokens"),
    bad("max-tokens-bool", params(max_tokens=True), 422, "ValidationError", "parameters.max_tokens"),
    bad("stop-five-strings", params(stop=["a", "b", "c", "d", "e"]), 422, "ValidationError", "parameters.stop"),
    bad("stop-empty-string", params(stop=""), 422, "ValidationError", "parameters.stop"),
    bad("seed-negative", params(seed=-1), 422, "ValidationError", "parameters.seed"),
    # -- embedding inputs and parameters -----------------------------------------------------------
    bad("prompts-for-embedder", embed({"prompts": ["hi"]}), 422, "ValidationError", "inputs.prompts",
        message="it reads text, texts"),
    bad("text-and-texts", embed({"text": "a", "texts": ["b"]}), 422, "ValidationError", "inputs"),
    bad("texts-over-batch", embed({"texts": ["hi"] * (MAX_BATCH + 1)}), 422, "ValidationError", "inputs.texts"),
    bad("text-over-max-chars", embed({"text": "a" * (MAX_PROMPT_CHARS + 1)}), 422, "ValidationError", "inputs.text"),
    bad("text-not-string", embed({"text": 42}), 422, "ValidationError", "inputs.text"),
    bad("text-with-lone-surrogate", json.dumps(embed({"text": "a\ud800b"})).encode(), 422, "ValidationError",
        "inputs.text"),
    bad("dimensions-other-than-384", embed({"text": "hi"}, parameters={"dimensions": 512}), 422, "ValidationError",
        "parameters.dimensions"),
    bad("temperature-for-embedder", embed({"text": "hi"}, parameters={"temperature": 0}), 422, "ValidationError",
        "parameters.temperature"),
    # -- transport ---------------------------------------------------------------------------------
    bad("text-plain", json.dumps(VALID).encode(), 415, "UnsupportedMediaTypeError", content_type="text/plain"),
    bad("form-encoded", b"provider=test&model=echo", 415, "UnsupportedMediaTypeError",
        content_type="application/x-www-form-urlencoded"),
    bad("no-content-type", json.dumps(VALID).encode(), 415, "UnsupportedMediaTypeError", content_type=""),
    bad("json-with-charset-but-malformed", b"{", 400, "BadRequestError",
        content_type="application/json; charset=utf-8"),
    bad("body-over-limit", b'{"pad": "' + b"a" * MAX_BODY_BYTES + b'"}', 413, "PayloadTooLargeError"),
]


def _tenancy_counts() -> tuple[int, int, int]:
    return Organization.objects.count(), Namespace.objects.count(), ApiKey.objects.count()


tenancy_counts = sync_to_async(_tenancy_counts)



@pytest.mark.parametrize("body, content_type, status, error_type, field, message", BODIES)
async def test_bad_body(tenant, client, body, content_type, status, error_type, field, message):
    request_id = f"bad-{uuid.uuid4().hex}"
    records_before, tenancy_before = len(await ausage_records()), await tenancy_counts()

    headers = tenant.headers(**{"X-Request-ID": request_id})
    if body == b"":  # the test client sends no Content-Type with an empty body unless told to
        headers["Content-Type"] = content_type
    response = await post_inference(client, body, headers, content_type=content_type)

    envelope = assert_envelope(response, status, error_type)
    assert response.headers["X-Request-ID"] == request_id
    if field is not None:
        assert field in [problem["field"] for problem in envelope["error"]["details"]["errors"]]
    if message is not None:
        assert message in envelope["error"]["message"] or message in json.dumps(envelope["error"]["details"])
    assert tenant.secret.encode() not in response.content

    records = await ausage_records()
    assert len(records) == records_before + 1
    (record,) = [r for r in records if r.request_id == request_id]
    assert (record.status, record.error_type) == (status, error_type)
    assert (record.namespace_id, record.api_key_id) == (tenant.namespace.id, tenant.key_id)
    assert (record.total_tokens, record.cost_usd, record.cached) == (0, 0, False)
    assert await tenancy_counts() == tenancy_before


def test_the_table_covers_at_least_thirty_bodies():
    assert len(BODIES) >= 30 and len({p.id for p in BODIES}) == len(BODIES)


async def test_unknown_top_level_key_lists_the_accepted_keys(tenant, client):
    response = await post_inference(client, chat(stream=True, Provider="x"), tenant.headers())
    details = assert_envelope(response, 422, "ValidationError")["error"]["details"]
    assert details["accepted_keys"] == ["provider", "model", "inference_name", "feature_uri", "inputs",
                                       "parameters", "enable_semantic_cache", "cache_delta", "prompt"]
    assert sorted(p["field"] for p in details["errors"]) == ["Provider", "stream"]
    (record,) = await ausage_records()
    assert (record.status, record.error_type) == (422, "ValidationError")


async def test_every_problem_is_listed(tenant, client):
    body = chat(parameters={"temperature": 9, "max_tokens": 0, "nope": 1})
    error = assert_envelope(await post_inference(client, body, tenant.headers()), 422, "ValidationError")["error"]
    assert sorted(p["field"] for p in error["details"]["errors"]) == [
        "parameters.max_tokens", "parameters.nope", "parameters.temperature"]
    assert "(and 2 more)" in error["message"]
    (record,) = await ausage_records()
    assert (record.status, record.error_type) == (422, "ValidationError")


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
async def test_other_methods_are_refused_with_allow(tenant, client, method):
    response = await getattr(client, method)("/v1/inference", headers=tenant.headers())
    assert_envelope(response, 405, "MethodNotAllowedError")
    assert response.headers["Allow"] == "POST"
    assert response.headers["X-Request-ID"]


@pytest.mark.parametrize("path", ["/v1/nope", "/v1/inference/", "/v1/inference/extra", "/v1"])
async def test_unknown_v1_path_is_a_json_404(client, path):
    response = await client.post(path, VALID, content_type=JSON)
    body = assert_envelope(response, 404, "NotFoundError")
    assert b"<html" not in response.content.lower()
    assert body["error"]["details"]["path"] == path
    assert response.headers["X-Request-ID"]


@pytest.mark.parametrize("status", [200, 422])
async def test_client_request_id_is_echoed_and_recorded(tenant, client, status):
    body = VALID if status == 200 else chat({"prompts": []})
    response = await post_inference(client, body, tenant.headers(**{"X-Request-ID": "client-id.42:a_b-c"}))
    assert response.status_code == status
    assert response.headers["X-Request-ID"] == "client-id.42:a_b-c"
    (record,) = await ausage_records()
    assert (record.request_id, record.status) == ("client-id.42:a_b-c", status)


@pytest.mark.parametrize("supplied", ["has spaces", "x" * 129, "semi;colon"])
async def test_unusable_request_id_is_replaced(tenant, client, supplied):
    response = await post_inference(client, VALID, tenant.headers(**{"X-Request-ID": supplied}))
    assert response.status_code == 200
    generated = response.headers["X-Request-ID"]
    assert generated != supplied and generated.startswith("req_")
    (record,) = await ausage_records()
    assert record.request_id == generated
