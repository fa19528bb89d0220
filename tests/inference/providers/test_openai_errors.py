"""Every failure class of docs/contract.md, through the real SDK against the wire-format fake: what the client
sees, how often the upstream was asked, and that the key never leaks into a response or a log line."""

import logging

from tests.conftest import assert_envelope, ausage_records, post_inference
from tests.fakes.openai_server import GOOD_KEY, Scripted, error_body

CHAT = {"provider": "openai", "model": "gpt-4o-mini", "inputs": {"prompts": ["hi"]}}


def server_error(status: int = 500) -> Scripted:
    return Scripted(status=status, body=error_body("The server had an error", "server_error"))


async def test_rejected_key_is_502_and_the_key_never_leaks(tenant, client, fake_openai, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    bad = "sk-proj-this-is-a-wrong-key-0123456789"
    monkeypatch.setenv("OPENAI_API_KEY", bad)
    response = await post_inference(client, CHAT, tenant.headers())
    body = assert_envelope(response, 502, "ProviderError")
    assert body["error"]["details"] == {"provider": "openai", "upstream_status": 401, "upstream_code": "invalid_api_key"}
    assert len(fake_openai.requests()) == 1  # not retried
    assert bad not in response.text and bad[:12] not in response.text
    assert bad not in caplog.text and GOOD_KEY not in caplog.text
    (record,) = await ausage_records()
    assert (record.status, record.error_type) == (502, "ProviderError")


async def test_upstream_429_is_ours_with_its_retry_after_and_not_retried(tenant, client, fake_openai):
    fake_openai.script(Scripted(status=429, headers={"retry-after": "7"},
                                body=error_body("Rate limit reached for gpt-4o-mini", "requests", "rate_limit_exceeded")))
    response = await post_inference(client, CHAT, tenant.headers())
    body = assert_envelope(response, 429, "TooManyRequestsError")
    assert response.headers["Retry-After"] == "7"
    assert body["error"]["details"]["retry_after"] == 7 and body["error"]["details"]["upstream_status"] == 429
    assert len(fake_openai.requests()) == 1


async def test_5xx_is_retried_with_backoff_then_answers(tenant, client, fake_openai):
    fake_openai.script(server_error(500), server_error(503))
    response = await post_inference(client, CHAT, tenant.headers())
    assert response.status_code == 200, response.content
    assert len(fake_openai.requests()) == 3


async def test_5xx_after_the_retries_is_502_with_the_upstream_status(tenant, client, fake_openai, settings):
    fake_openai.script(server_error(502), server_error(502), server_error(503))
    body = assert_envelope(await post_inference(client, CHAT, tenant.headers()), 502, "ProviderError")
    assert body["error"]["details"]["upstream_status"] == 503
    assert len(fake_openai.requests()) == 3
    settings.INFERGATE = {**settings.INFERGATE, "PROVIDER_RETRIES": 0}
    fake_openai.script(server_error(500))
    assert_envelope(await post_inference(client, CHAT, tenant.headers()), 502, "ProviderError")
    assert len(fake_openai.requests()) == 4


async def test_unreachable_provider_is_502_after_retries(tenant, client, fake_openai, settings):
    settings.INFERGATE = {**settings.INFERGATE, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}  # discard port: refused
    body = assert_envelope(await post_inference(client, CHAT, tenant.headers()), 502, "ProviderError")
    assert body["error"]["details"] == {"provider": "openai", "upstream_status": None}


async def test_slow_answer_is_504_and_not_retried(tenant, client, fake_openai):
    fake_openai.script(Scripted(delay_s=1.6))
    body = assert_envelope(await post_inference(client, CHAT, tenant.headers()), 504, "TimeoutError")
    assert body["error"]["details"] == {"provider": "openai", "timeout_s": 1.0}
    assert len(fake_openai.requests()) == 1
    (record,) = await ausage_records()
    assert (record.status, record.error_type) == (504, "TimeoutError")


async def test_refusals_are_400_with_the_providers_reason(tenant, client, fake_openai):
    fake_openai.script(Scripted(body={
        "id": "c", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": None, "refusal": "I can't help with that."}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11}}))
    body = assert_envelope(await post_inference(client, CHAT, tenant.headers()), 400, "BadRequestError")
    assert "I can't help with that." in body["error"]["message"] and body["error"]["details"]["refused"] is True
    fake_openai.script(Scripted(status=400, body=error_body("Your request was rejected by our safety system",
                                                            code="content_policy_violation")))
    body = assert_envelope(await post_inference(client, CHAT, tenant.headers()), 400, "BadRequestError")
    assert body["error"]["details"]["upstream_code"] == "content_policy_violation"
    assert "safety system" in body["error"]["message"]


async def test_without_credentials_the_provider_is_503_naming_what_is_missing(tenant, client, fake_openai,
                                                                              monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    body = assert_envelope(await post_inference(client, CHAT, tenant.headers()), 503,
                           "InferenceServiceUnavailableError")
    assert body["error"]["details"] == {"provider": "openai", "missing_credential": "OPENAI_API_KEY"}
    assert "OPENAI_API_KEY" in body["error"]["message"]
    monkeypatch.delenv("FAKECOMPAT_API_KEY")
    body = assert_envelope(await post_inference(client, {"provider": "fakecompat", "model": "compat-chat",
                                                         "inputs": {"prompts": ["hi"]}}, tenant.headers()),
                           503, "InferenceServiceUnavailableError")
    assert body["error"]["details"]["missing_credential"] == "FAKECOMPAT_API_KEY"
    assert fake_openai.requests() == []
