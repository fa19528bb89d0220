"""Every failure class of docs/contract.md for the google provider, through the real SDKs against the wire-format
fake: what the client sees, how often the upstream was asked, and that no secret leaks."""

import logging

from asgiref.sync import sync_to_async

from tests.conftest import assert_envelope, ausage_records, post_inference, tenant_create
from tests.fakes.google_server import GOOD_KEY, Scripted, error_body, retry_info

CHAT = {"provider": "google", "model": "gemini-2.0-flash", "inputs": {"prompts": ["hi"]}}
EMBED = {"provider": "google", "model": "multimodalembedding", "inputs": {"text": "a cat"}}


def unavailable(code: int = 503, status: str = "UNAVAILABLE") -> Scripted:
    return Scripted(status=code, body=error_body(code, "The model is overloaded. Please try again later.", status))


async def test_a_wrong_key_is_502_and_never_leaks(tenant, client, fake_google, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    bad = "AIzaSyWRONG-key-that-google-refuses-0000"
    monkeypatch.setenv("GOOGLE_API_KEY", bad)
    response = await post_inference(client, CHAT, tenant.headers())
    body = assert_envelope(response, 502, "ProviderError")
    # the Gemini API answers a wrong key with 400 INVALID_ARGUMENT, reason API_KEY_INVALID
    assert body["error"]["details"] == {"provider": "google", "upstream_status": 400,
                                        "upstream_code": "INVALID_ARGUMENT"}
    assert len(fake_google.requests()) == 1  # not retried
    assert bad not in response.text and bad not in caplog.text and GOOD_KEY not in caplog.text
    (record,) = await ausage_records()
    assert (record.status, record.error_type) == (502, "ProviderError")


async def test_403_permission_denied_is_502(tenant, client, fake_google):
    fake_google.script(Scripted(status=403, body=error_body(403, "Method doesn't allow unregistered callers.",
                                                            "PERMISSION_DENIED")))
    body = assert_envelope(await post_inference(client, CHAT, tenant.headers()), 502, "ProviderError")
    assert body["error"]["details"]["upstream_status"] == 403


async def test_resource_exhausted_is_429_with_retry_after_and_not_retried(tenant, client, fake_google):
    fake_google.script(Scripted(status=429, headers={"retry-after": "7"},
                                body=error_body(429, "Resource has been exhausted (e.g. check quota).",
                                                "RESOURCE_EXHAUSTED")))
    response = await post_inference(client, CHAT, tenant.headers())
    body = assert_envelope(response, 429, "TooManyRequestsError")
    assert response.headers["Retry-After"] == "7"
    assert body["error"]["details"] == {"provider": "google", "upstream_status": 429,
                                        "upstream_code": "RESOURCE_EXHAUSTED", "retry_after": 7}
    assert len(fake_google.requests()) == 1
    # without the header, the RetryInfo detail of the error body says how long
    fake_google.script(Scripted(status=429, body=error_body(429, "Quota exceeded", "RESOURCE_EXHAUSTED",
                                                            [retry_info("23.4s")])))
    response = await post_inference(client, CHAT, tenant.headers())
    assert_envelope(response, 429, "TooManyRequestsError")
    assert response.headers["Retry-After"] == "24"


async def test_unavailable_is_retried_then_answers(tenant, client, fake_google):
    fake_google.script(unavailable(), unavailable(500, "INTERNAL"))
    response = await post_inference(client, CHAT, tenant.headers())
    assert response.status_code == 200, response.content
    assert len(fake_google.requests()) == 3


async def test_5xx_after_the_retries_is_502_and_retries_are_configurable(tenant, client, fake_google, settings):
    fake_google.script(unavailable(), unavailable(), unavailable(500, "INTERNAL"))
    body = assert_envelope(await post_inference(client, CHAT, tenant.headers()), 502, "ProviderError")
    assert body["error"]["details"] == {"provider": "google", "upstream_status": 500, "upstream_code": "INTERNAL"}
    assert len(fake_google.requests()) == 3
    settings.INFERGATE = {**settings.INFERGATE, "PROVIDER_RETRIES": 0}
    fake_google.script(unavailable())
    assert_envelope(await post_inference(client, CHAT, tenant.headers()), 502, "ProviderError")
    assert len(fake_google.requests()) == 4


async def test_unreachable_is_502_after_retries(tenant, client, fake_google, settings):
    settings.INFERGATE = {**settings.INFERGATE, "GOOGLE_BASE_URL": "http://127.0.0.1:9"}  # discard port: refused
    body = assert_envelope(await post_inference(client, CHAT, tenant.headers()), 502, "ProviderError")
    assert body["error"]["details"] == {"provider": "google", "upstream_status": None}


async def test_slow_answer_is_504_and_not_retried(tenant, client, fake_google):
    fake_google.script(Scripted(delay_s=2.0))
    body = assert_envelope(await post_inference(client, CHAT, tenant.headers()), 504, "TimeoutError")
    assert body["error"]["details"] == {"provider": "google", "timeout_s": 1.5}
    assert len(fake_google.requests()) == 1
    (record,) = await ausage_records()
    assert (record.status, record.error_type) == (504, "TimeoutError")


async def test_blocked_prompt_and_withheld_answer_are_400_with_the_reason(tenant, client, fake_google):
    fake_google.script(Scripted(body={"promptFeedback": {"blockReason": "SAFETY", "safetyRatings": [
        {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}]},
        "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8}, "modelVersion": "gemini-2.0-flash"}))
    body = assert_envelope(await post_inference(client, CHAT, tenant.headers()), 400, "BadRequestError")
    assert body["error"]["details"] == {"provider": "google", "reason": "SAFETY", "refused": True}
    assert "prompt was blocked" in body["error"]["message"]
    fake_google.script(Scripted(body={"candidates": [{"finishReason": "SAFETY", "index": 0, "safetyRatings": [
        {"category": "HARM_CATEGORY_HARASSMENT", "probability": "MEDIUM", "blocked": True}]}],
        "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8}}))
    body = assert_envelope(await post_inference(client, CHAT, tenant.headers()), 400, "BadRequestError")
    assert body["error"]["details"]["reason"] == "SAFETY" and "withheld" in body["error"]["message"]


async def test_without_credentials_each_model_is_503_naming_what_is_missing(tenant, client, fake_google,
                                                                             monkeypatch, settings):
    monkeypatch.delenv("GOOGLE_API_KEY")
    body = assert_envelope(await post_inference(client, CHAT, tenant.headers()), 503,
                           "InferenceServiceUnavailableError")
    assert body["error"]["details"] == {"provider": "google", "missing_credential": "GOOGLE_API_KEY"}
    assert "GOOGLE_API_KEY" in body["error"]["message"]
    # nor are media fetched for a request that cannot be sent (the URLs are allow-listed: they could be)
    settings.INFERGATE = {**settings.INFERGATE, "MEDIA": {**settings.INFERGATE["MEDIA"],
                                                          "ALLOW": {tenant.namespace.id: ["127.0.0.1/32"]}}}
    vision = {**CHAT, "inputs": {"prompts": ["?"], "image_url": f"{fake_google.base_url}/media/photo"}}
    assert_envelope(await post_inference(client, vision, tenant.headers()), 503, "InferenceServiceUnavailableError")
    video = {**EMBED, "inputs": {"video_url": f"{fake_google.base_url}/media/clip"}}
    assert_envelope(await post_inference(client, video, tenant.headers()), 503, "InferenceServiceUnavailableError")
    assert fake_google.received == []
    monkeypatch.setenv("GOOGLE_API_KEY", GOOD_KEY)  # an API key does not open Vertex AI
    body = assert_envelope(await post_inference(client, EMBED, tenant.headers()), 503,
                           "InferenceServiceUnavailableError")
    assert body["error"]["details"] == {"provider": "google", "missing_credential": "GOOGLE_APPLICATION_CREDENTIALS"}
    assert fake_google.requests() == []


async def test_the_namespace_timeout_applies(transactional_db, client, fake_google):
    hasty = await sync_to_async(tenant_create)("acme", "hasty", permissions=["admin"])
    patched = await client.patch(f"/v1/namespaces/{hasty.namespace.name}", {"provider_timeout_seconds": 0.3},
                                 content_type="application/json", headers=hasty.headers())
    assert patched.status_code == 200, patched.content
    fake_google.script(Scripted(delay_s=0.8))  # under the fixture's 1.5 s default, over the namespace's 0.3 s
    body = assert_envelope(await post_inference(client, CHAT, hasty.headers()), 504, "TimeoutError")
    assert body["error"]["details"] == {"provider": "google", "timeout_s": 0.3}


async def test_vertex_failures_map_the_same(tenant, client, fake_google, vertex_environment, caplog):
    caplog.set_level(logging.DEBUG)
    fake_google.script(Scripted(status=429, headers={"retry-after": "5"},
                                body=error_body(429, "Quota exceeded for aiplatform.googleapis.com/online_prediction",
                                                "RESOURCE_EXHAUSTED")))
    response = await post_inference(client, EMBED, tenant.headers())
    assert_envelope(response, 429, "TooManyRequestsError")
    assert response.headers["Retry-After"] == "5"
    fake_google.script(unavailable(), unavailable())
    assert (await post_inference(client, EMBED, tenant.headers())).status_code == 200
    fake_google.script(Scripted(delay_s=2.0))
    assert_envelope(await post_inference(client, EMBED, tenant.headers()), 504, "TimeoutError")
    # a service account the token endpoint and the API do not know
    fake_google.service_accounts.clear()
    fake_google.tokens.clear()
    for body in (EMBED, CHAT):
        response = await post_inference(client, body, tenant.headers())
        details = assert_envelope(response, 502, "ProviderError")["error"]["details"]
        assert details["provider"] == "google"
        assert "PRIVATE KEY" not in response.text and "PRIVATE KEY" not in caplog.text
