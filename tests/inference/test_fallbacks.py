"""Ordered fallbacks from a namespace's routing rules: which failures move on to the next target, what
the response and its one usage record name, the attempts listed in a header and in error details, and
streams that fall back only before their first delta. Targets are the `test` provider's failing models
and the real openai SDK against the wire-format fake."""

import pytest
from asgiref.sync import sync_to_async

from core.errors import BadRequestError, ProviderError, TimeoutError, TooManyRequestsError, ValidationError
from inference.targets import Attempt, attempts_header, fallback_worthy
from tenancy.accounts.models import Namespace
from tests.conftest import assert_envelope, ausage_records, post_inference, tenant_create
from tests.fakes.openai_server import Scripted, error_body
from tests.sse import sse_events

ATTEMPTS = "X-Infergate-Attempts"


def chat(target: str, *prompts: str) -> dict:
    provider, model = target.split("/", 1)
    return {"provider": provider, "model": model, "inputs": {"prompts": list(prompts or ["hello there"])}}


@sync_to_async
def admin_tenant():
    return tenant_create("acme", "main", permissions=["admin"])


async def route(client, tenant, fallbacks: dict) -> dict:
    answer = await client.patch(f"/v1/namespaces/{tenant.namespace.name}", {"routing": {"fallbacks": fallbacks}},
                                content_type="application/json", headers=tenant.headers())
    assert answer.status_code == 200, answer.content
    return answer.json()


# -- pure parts ------------------------------------------------------------------------------------

@pytest.mark.parametrize("error, worthy", [
    (ProviderError(details={"upstream_status": 503}), True), (TooManyRequestsError(), True),
    (TimeoutError(), True), (BadRequestError(), False), (ValidationError([]), False)])
def test_which_failures_fall_back(error, worthy):
    assert fallback_worthy(error) is worthy


def test_the_attempts_header_is_a_structured_list():
    assert attempts_header([Attempt("openai/gpt-4o-mini", 502, "ProviderError"), Attempt("test/echo", 200)]) == {
        ATTEMPTS: "openai/gpt-4o-mini;status=502, test/echo;status=200"}
    assert attempts_header([]) == {}


# -- through the endpoint -----------------------------------------------------------------------------

async def test_a_retryable_failure_moves_on_and_the_answerer_is_named_and_recorded(transactional_db, client):
    tenant = await admin_tenant()
    await route(client, tenant, {"test/fail-502": ["test/fail-429", "test/echo"]})
    response = await post_inference(client, chat("test/fail-502", "one two three"), tenant.headers())
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["provider"], body["model"]) == ("test", "echo")
    assert body["data"]["responses"][0]["text"] == "one two three"
    assert response.headers[ATTEMPTS] == "test/fail-502;status=502, test/fail-429;status=429, test/echo;status=200"
    (record,) = await ausage_records()
    assert (record.provider, record.model, record.status, record.total_tokens) == ("test", "echo", 200, 6)


async def test_client_errors_do_not_fall_back(transactional_db, client):
    tenant = await admin_tenant()
    await route(client, tenant, {"test/fail-400": ["test/echo"]})
    response = await post_inference(client, chat("test/fail-400"), tenant.headers())
    body = assert_envelope(response, 400, "BadRequestError")
    assert "attempts" not in body["error"]["details"]
    assert response.headers[ATTEMPTS] == "test/fail-400;status=400"
    (record,) = await ausage_records()
    assert (record.model, record.status) == ("fail-400", 400)


async def test_when_every_target_fails_the_last_error_lists_the_attempts(transactional_db, client):
    tenant = await admin_tenant()
    await route(client, tenant, {"test/fail-502": ["local/all-minilm-l6-v2", "test/fail-503"]})
    response = await post_inference(client, chat("test/fail-502"), tenant.headers())
    body = assert_envelope(response, 503, "InferenceServiceUnavailableError")
    # The embedding model cannot take chat inputs: skipped, and said so.
    assert body["error"]["details"]["attempts"] == [
        {"provider": "test", "model": "fail-502", "status": 502, "error_type": "ProviderError"},
        {"provider": "local", "model": "all-minilm-l6-v2", "status": 422, "error_type": "ValidationError"},
        {"provider": "test", "model": "fail-503", "status": 503, "error_type": "InferenceServiceUnavailableError"}]
    assert body["error"]["details"]["provider"] == "test"
    (record,) = await ausage_records()  # one record, naming the target asked for
    assert (record.model, record.status, record.error_type) == ("fail-502", 503, "InferenceServiceUnavailableError")


async def test_without_a_rule_a_failure_is_the_clients_and_other_namespaces_are_untouched(transactional_db, client):
    tenant = await admin_tenant()
    other = await sync_to_async(tenant_create)("acme", "other")
    await route(client, tenant, {"test/fail-502": ["test/echo"]})
    response = await post_inference(client, chat("test/fail-502"), other.headers())
    assert_envelope(response, 502, "ProviderError")
    assert ATTEMPTS not in response.headers
    assert_envelope(await post_inference(client, chat("test/fail-429"), tenant.headers()), 429, "TooManyRequestsError")


async def test_openai_5xx_after_retries_falls_back(transactional_db, client, fake_openai):
    tenant = await admin_tenant()
    await route(client, tenant, {"openai/gpt-4o-mini": ["test/echo"]})
    failing = Scripted(status=503, body=error_body("The server is overloaded", "server_error"))
    fake_openai.script(failing, failing, failing)
    response = await post_inference(client, chat("openai/gpt-4o-mini", "hi"), tenant.headers())
    assert response.status_code == 200, response.content
    assert response.json()["provider"] == "test"
    assert len(fake_openai.requests()) == 3  # the target's own retries come first
    assert response.headers[ATTEMPTS] == "openai/gpt-4o-mini;status=502, test/echo;status=200"
    # The next request finds openai healthy again and it answers itself.
    answered = await post_inference(client, chat("openai/gpt-4o-mini", "hi"), tenant.headers())
    assert answered.json()["provider"] == "openai"
    assert answered.headers[ATTEMPTS] == "openai/gpt-4o-mini;status=200"


async def test_an_openai_timeout_falls_back_at_once(transactional_db, client, fake_openai):
    tenant = await admin_tenant()
    await sync_to_async(Namespace.objects.filter(id=tenant.namespace.id).update)(provider_timeout_seconds=0.3)
    await route(client, tenant, {"openai/gpt-4o-mini": ["test/echo"]})
    fake_openai.script(Scripted(delay_s=0.8))
    response = await post_inference(client, chat("openai/gpt-4o-mini", "hi"), tenant.headers())
    assert response.status_code == 200, response.content
    assert response.headers[ATTEMPTS] == "openai/gpt-4o-mini;status=504, test/echo;status=200"
    assert len(fake_openai.requests()) == 1


async def test_an_unconfigured_provider_falls_back(transactional_db, client, fake_openai, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    tenant = await admin_tenant()
    await route(client, tenant, {"openai/gpt-4o-mini": ["test/echo"]})
    response = await post_inference(client, chat("openai/gpt-4o-mini", "hi"), tenant.headers())
    assert response.status_code == 200, response.content
    assert response.headers[ATTEMPTS] == "openai/gpt-4o-mini;status=503, test/echo;status=200"
    assert fake_openai.requests() == []


# -- streams ----------------------------------------------------------------------------------------

async def test_a_stream_falls_back_before_its_first_delta(transactional_db, client, fake_openai):
    tenant = await admin_tenant()
    await route(client, tenant, {"openai/gpt-4o-mini": ["test/echo"]})
    failing = Scripted(status=500, body=error_body("boom", "server_error"))
    fake_openai.script(failing, failing, failing)
    events = await sse_events(client, tenant, chat("openai/gpt-4o-mini", "red green"))
    assert [e["type"] for e in events] == ["start", "done"]
    assert (events[0]["provider"], events[0]["model"]) == ("openai", "gpt-4o-mini")  # the target asked for
    done = events[-1]["response"]
    assert (done["provider"], done["model"]) == ("test", "echo")
    assert done["data"]["responses"][0]["text"] == "red green"
    (record,) = await ausage_records()
    assert (record.provider, record.model, record.status) == ("test", "echo", 200)


async def test_a_stream_that_has_sent_text_does_not_fall_back(transactional_db, client):
    tenant = await admin_tenant()
    await route(client, tenant, {"test/stream-fail-502": ["test/echo"]})
    events = await sse_events(client, tenant, chat("test/stream-fail-502"))
    assert [e["type"] for e in events] == ["start", "delta", "error"]
    assert events[-1]["error"]["status"] == 502
    assert "attempts" not in events[-1]["error"]["error"].get("details", {})
    (record,) = await ausage_records()
    assert (record.model, record.status) == ("stream-fail-502", 502)


# -- the rules ------------------------------------------------------------------------------------

async def test_rules_are_checked_normalised_and_need_admin(transactional_db, client):
    tenant = await admin_tenant()
    bad = await client.patch(f"/v1/namespaces/{tenant.namespace.name}", {"routing": {"fallbacks": {
        "openai/gpt-4o-mini": ["nope/model", "openai/gpt-4o-mini", "test/echo"], "test/echo": [],
        "test/none": ["test/echo"]}, "retries": 3}}, content_type="application/json", headers=tenant.headers())
    body = assert_envelope(bad, 422, "ValidationError")
    fields = [p["field"] for p in body["error"]["details"]["errors"]]
    assert fields == ["routing.retries", "routing.fallbacks.openai/gpt-4o-mini[0]",
                      "routing.fallbacks.openai/gpt-4o-mini[1]", "routing.fallbacks.test/echo",
                      "routing.fallbacks.test/none"]
    unchanged = await client.get(f"/v1/namespaces/{tenant.namespace.name}", headers=tenant.headers())
    assert unchanged.json()["routing"] == {}
    good = await route(client, tenant, {"openai/gpt-4o-mini": ["test/echo"]})
    assert good["routing"] == {"fallbacks": {"openai/gpt-4o-mini": ["test/echo"]}}
    reader = await sync_to_async(tenant_create)("acme", "main", permissions=["read", "write"])
    refused = await client.patch(f"/v1/namespaces/{tenant.namespace.name}", {"routing": {}},
                                 content_type="application/json", headers=reader.headers())
    assert_envelope(refused, 403, "ForbiddenError")


@pytest.mark.parametrize("raw, content_type, status", [
    ("[]", "application/json", 422), ("{}", "application/json", 422), ('{"routing": []}', "application/json", 422),
    ('{"routing": {"fallbacks": {"test/echo": "test/fail-502"}}}', "application/json", 422),
    ('{"routing": {"fallbacks": {"test/echo": [7]}}}', "application/json", 422),
    ('{"name": "renamed"}', "application/json", 422), ('{"routing": ', "application/json", 400),
    ("routing=1", "application/x-www-form-urlencoded", 415)])
async def test_bad_settings_bodies_are_envelopes(transactional_db, client, raw, content_type, status):
    tenant = await admin_tenant()
    response = await client.patch(f"/v1/namespaces/{tenant.namespace.name}", raw, content_type=content_type,
                                  headers=tenant.headers())
    assert_envelope(response, status, {400: "BadRequestError", 415: "UnsupportedMediaTypeError",
                                       422: "ValidationError"}[status])
    stored = await sync_to_async(Namespace.objects.values("routing", "name").get)(id=tenant.namespace.id)
    assert stored == {"routing": {}, "name": "main"}


def test_the_admin_form_checks_the_same_rules(transactional_db):
    from django.core.exceptions import ValidationError as FormError

    namespace = tenant_create("acme", "main").namespace
    namespace.routing = {"fallbacks": {"test/echo": ["nope/x"]}}
    with pytest.raises(FormError):
        namespace.clean()
    namespace.routing, namespace.provider_timeout_seconds = {"fallbacks": {"test/fail-502": ["test/echo"]}}, 30
    namespace.clean()


async def test_a_browser_sessions_socket_follows_the_namespace_rules_too(transactional_db, client):
    from playground.asgi import application
    from tests.inference.test_streaming import _mint
    from tests.wsclient import WebsocketClient

    tenant = await admin_tenant()
    await route(client, tenant, {"test/fail-502": ["test/echo"]})
    minted = await _mint(client, tenant, "member", tenant.namespace.name)
    assert minted.status_code == 200, minted.content
    ws = WebsocketClient(application, "/v1/inference/stream", query=f"ticket={minted.json()['ticket']}")
    assert await ws.connect()
    await ws.send(chat("test/fail-502", "over the socket"))
    done = (await ws.until("done", "error"))[-1]
    await ws.close()
    assert done["type"] == "done", done
    assert (done["response"]["provider"], done["response"]["model"]) == ("test", "echo")
