"""Every failure class of docs/contract.md for the anthropic provider, through the real SDK against the
wire-format fake: what the client sees, how often the upstream was asked, and that the key never leaks
into a response or a log line."""

import logging

from asgiref.sync import sync_to_async

from tests.conftest import assert_envelope, ausage_records, post_inference, tenant_create
from tests.fakes.anthropic_server import GOOD_KEY, Scripted, error_body

CHAT = {"provider": "anthropic", "model": "claude-haiku-4-5", "inputs": {"prompts": ["hi"]}}


def overloaded() -> Scripted:
    return Scripted(status=529, body=error_body("Overloaded", "overloaded_error"))


def api_error(status: int = 500) -> Scripted:
    return Scripted(status=status, body=error_body("Internal server error", "api_error"))


async def test_rejected_key_is_502_and_the_key_never_leaks(tenant, client, fake_anthropic, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    bad = "sk-ant-api03-this-is-a-wrong-key-0123456789"
    monkeypatch.setenv("ANTHROPIC_API_KEY", bad)
    response = await post_inference(client, CHAT, tenant.headers())
    body = assert_envelope(response, 502, "ProviderError")
    assert body["error"]["details"] == {"provider": "anthropic", "upstream_status": 401,
                                        "upstream_type": "authentication_error"}
    assert len(fake_anthropic.requests()) == 1  # not retried
    assert bad not in response.text and bad[:16] not in response.text
    assert bad not in caplog.text and GOOD_KEY not in caplog.text
    (record,) = await ausage_records()
    assert (record.status, record.error_type) == (502, "ProviderError")


async def test_forbidden_is_502_too(tenant, client, fake_anthropic):
    fake_anthropic.script(Scripted(status=403, body=error_body("Your API key does not have permission to use the "
                                                               "specified resource.", "permission_error")))
    body = assert_envelope(await post_inference(client, CHAT, tenant.headers()), 502, "ProviderError")
    assert body["error"]["details"]["upstream_status"] == 403


async def test_upstream_429_is_ours_with_its_retry_after_and_not_retried(tenant, client, fake_anthropic):
    fake_anthropic.script(Scripted(status=429, headers={"retry-after": "7"},
                                   body=error_body("Number of request tokens has exceeded your per-minute rate "
                                                   "limit", "rate_limit_error")))
    response = await post_inference(client, CHAT, tenant.headers())
    body = assert_envelope(response, 429, "TooManyRequestsError")
    assert response.headers["Retry-After"] == "7"
    assert body["error"]["details"]["retry_after"] == 7 and body["error"]["details"]["upstream_status"] == 429
    assert "per-minute rate limit" in body["error"]["message"]
    assert len(fake_anthropic.requests()) == 1


async def test_overloaded_and_5xx_are_retried_then_answer(tenant, client, fake_anthropic):
    fake_anthropic.script(overloaded(), api_error(500))
    response = await post_inference(client, CHAT, tenant.headers())
    assert response.status_code == 200, response.content
    assert len(fake_anthropic.requests()) == 3


async def test_5xx_after_the_retries_is_502_with_the_upstream_status(tenant, client, fake_anthropic, settings):
    fake_anthropic.script(api_error(500), overloaded(), overloaded())
    body = assert_envelope(await post_inference(client, CHAT, tenant.headers()), 502, "ProviderError")
    assert body["error"]["details"] == {"provider": "anthropic", "upstream_status": 529,
                                        "upstream_type": "overloaded_error"}
    assert len(fake_anthropic.requests()) == 3
    settings.INFERGATE = {**settings.INFERGATE, "PROVIDER_RETRIES": 0}
    fake_anthropic.script(overloaded())
    assert_envelope(await post_inference(client, CHAT, tenant.headers()), 502, "ProviderError")
    assert len(fake_anthropic.requests()) == 4


async def test_unreachable_provider_is_502_after_retries(tenant, client, fake_anthropic, settings):
    settings.INFERGATE = {**settings.INFERGATE, "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}  # discard port: refused
    body = assert_envelope(await post_inference(client, CHAT, tenant.headers()), 502, "ProviderError")
    assert body["error"]["details"] == {"provider": "anthropic", "upstream_status": None}


async def test_slow_answer_is_504_and_not_retried(tenant, client, fake_anthropic):
    fake_anthropic.script(Scripted(delay_s=1.6))
    body = assert_envelope(await post_inference(client, CHAT, tenant.headers()), 504, "TimeoutError")
    assert body["error"]["details"] == {"provider": "anthropic", "timeout_s": 1.0}
    assert len(fake_anthropic.requests()) == 1
    (record,) = await ausage_records()
    assert (record.status, record.error_type) == (504, "TimeoutError")


async def test_invalid_requests_and_refusals_are_400_with_the_providers_reason(tenant, client, fake_anthropic):
    fake_anthropic.script(Scripted(status=400, body=error_body("messages.0.content.0.image.source.base64: image "
                                                               "exceeds 5 MB maximum")))
    body = assert_envelope(await post_inference(client, CHAT, tenant.headers()), 400, "BadRequestError")
    assert body["error"]["details"]["upstream_type"] == "invalid_request_error"
    assert "exceeds 5 MB" in body["error"]["message"] and "exceeds 5 MB" in body["error"]["details"]["reason"]
    fake_anthropic.script(Scripted(body={
        "id": "msg_r", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
        "content": [{"type": "text", "text": "I can't help with that."}], "stop_reason": "refusal",
        "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 6}}))
    body = assert_envelope(await post_inference(client, CHAT, tenant.headers()), 400, "BadRequestError")
    assert "I can't help with that." in body["error"]["message"] and body["error"]["details"]["refused"] is True
    assert len(fake_anthropic.requests()) == 2


async def test_without_credentials_the_provider_is_503_naming_what_is_missing(tenant, client, fake_anthropic,
                                                                              monkeypatch, settings):
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    body = assert_envelope(await post_inference(client, CHAT, tenant.headers()), 503,
                           "InferenceServiceUnavailableError")
    assert body["error"]["details"] == {"provider": "anthropic", "missing_credential": "ANTHROPIC_API_KEY"}
    assert "ANTHROPIC_API_KEY" in body["error"]["message"]
    # nor is an image fetched for a request that cannot be sent (the URL is allow-listed: it could be)
    settings.INFERGATE = {**settings.INFERGATE, "MEDIA": {**settings.INFERGATE["MEDIA"],
                                                          "ALLOW": {tenant.namespace.id: ["127.0.0.1/32"]}}}
    vision = {**CHAT, "inputs": {"prompts": ["?"], "image_url": f"{fake_anthropic.base_url}/images/dot.png"}}
    assert_envelope(await post_inference(client, vision, tenant.headers()), 503, "InferenceServiceUnavailableError")
    assert fake_anthropic.received == []


async def test_the_namespace_timeout_applies(transactional_db, client, fake_anthropic):
    hasty = await sync_to_async(tenant_create)("acme", "hasty", permissions=["admin"])
    patched = await client.patch(f"/v1/namespaces/{hasty.namespace.name}", {"provider_timeout_seconds": 0.3},
                                 content_type="application/json", headers=hasty.headers())
    assert patched.status_code == 200, patched.content
    fake_anthropic.script(Scripted(delay_s=0.6))  # under the fixture's 1 s default, over the namespace's 0.3 s
    body = assert_envelope(await post_inference(client, CHAT, hasty.headers()), 504, "TimeoutError")
    assert body["error"]["details"] == {"provider": "anthropic", "timeout_s": 0.3}
