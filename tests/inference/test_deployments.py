"""Deployments: a model alias of a namespace served by several deployments of OpenAI's API, each with its own named
credential (so the wire-format fake tells them apart by API key and fails on command for one of them): the
strategies' choices, the circuit breaker (consecutive 5xx, a 429's Retry-After, hangs, half-open probes), a 503 with
Retry-After when all are open, fallbacks after the group, capacity per minute, streams, the state as the API and
/metrics show it, and the settings' checks."""

import asyncio
import json
import random

import pytest
from asgiref.sync import sync_to_async

from inference.deployments import Deployment, Group, State, order
from tests.conftest import assert_envelope, ausage_records, post_inference, tenant_create
from tests.fakes.openai_server import Scripted, error_body
from tests.sse import sse_events, texts_from_deltas

KEYS = {"east": "sk-east-0123456789abcdef", "west": "sk-west-0123456789abcdef"}
DEPLOYMENT = "X-Infergate-Deployment"
ATTEMPTS = "X-Infergate-Attempts"


@sync_to_async
def admin_tenant():
    return tenant_create("acme", "main", permissions=["admin"])


async def configure(client, tenant, fake, *, deployments=None, strategy=None, breaker=None, fallbacks=None,
                    credentials=("east", "west")) -> dict:
    """The alias ``fast`` over the east and west deployments of gpt-4o-mini, each with its own named credential."""
    for name in credentials:
        fake.keys.add(KEYS[name])
        answer = await client.put(f"/v1/namespaces/main/credentials/openai/{name}", {"api_key": KEYS[name]},
                                  content_type="application/json", headers=tenant.headers())
        assert answer.status_code == 200, answer.content
    alias = {"deployments": deployments or [{"id": "east", "target": "openai/gpt-4o-mini", "credential": "east"},
                                            {"id": "west", "target": "openai/gpt-4o-mini", "credential": "west"}],
             **({"strategy": strategy} if strategy else {}), **({"breaker": breaker} if breaker else {})}
    routing = {"aliases": {"fast": alias}, **({"fallbacks": fallbacks} if fallbacks else {})}
    answer = await client.patch("/v1/namespaces/main", {"routing": routing}, content_type="application/json",
                                headers=tenant.headers())
    assert answer.status_code == 200, answer.content
    return answer.json()


def ask(prompt: str = "hello there", **extra) -> dict:
    return {"model": "fast", "inputs": {"prompts": [prompt]}, **extra}


def calls_by(fake, name: str) -> int:
    return sum(1 for r in fake.requests("/v1/chat/completions") if r.headers["authorization"] == f"Bearer {KEYS[name]}")


async def report(client, tenant) -> dict:
    answer = await client.get("/v1/namespaces/main/deployments", headers=tenant.headers())
    assert answer.status_code == 200, answer.content
    (group,) = answer.json()["data"]
    return {d["id"]: d for d in group["deployments"]}


# -- the strategies' order, on given state --------------------------------------------------------------

def group(strategy: str, **overrides) -> Group:
    deployments = tuple(Deployment(id=name, target="openai/gpt-4o-mini", **overrides.get(name, {}))
                        for name in ("a", "b", "c"))
    return Group(namespace_id="ns_x", alias="fast", deployments=deployments, strategy=strategy)


def test_weighted_puts_each_first_in_proportion_to_its_weight():
    chosen = group("weighted", a={"weight": 6}, b={"weight": 3}, c={"weight": 1})
    rng = random.Random(7)
    firsts = [order(chosen, {d: State() for d in "abc"}, rng)[0].id for _ in range(20_000)]
    shares = {name: firsts.count(name) / len(firsts) for name in "abc"}
    assert shares == pytest.approx({"a": 0.6, "b": 0.3, "c": 0.1}, abs=0.015)


def test_least_busy_prefers_fewest_calls_in_flight_per_weight():
    states = {"a": State(inflight=4), "b": State(inflight=1), "c": State(inflight=3)}
    assert [d.id for d in order(group("least_busy"), states)] == ["b", "c", "a"]
    assert order(group("least_busy", a={"weight": 8}), states)[0].id == "a"  # 4 in flight of 8 is half as busy


def test_lowest_latency_prefers_the_fastest_and_measures_an_untimed_one_first():
    states = {"a": State(latency_ms=90.0), "b": State(latency_ms=12.0), "c": State(latency_ms=40.0)}
    rng = random.Random(3)
    firsts = [order(group("lowest_latency"), states, rng)[0].id for _ in range(2000)]
    assert firsts.count("b") / len(firsts) > 0.9  # a few explore the others
    assert {"a", "c"} <= set(firsts)
    states["c"] = State()
    assert order(group("lowest_latency"), states, random.Random(1))[0].id == "c"


def test_usage_prefers_the_most_capacity_left_this_minute():
    chosen = group("usage", a={"rpm": 100}, b={"rpm": 10}, c={"tpm": 1000})
    states = {"a": State(minute_requests=90), "b": State(minute_requests=2), "c": State(minute_tokens=500)}
    assert [d.id for d in order(chosen, states)] == ["b", "c", "a"]


# -- through the endpoint, against the wire-format fake --------------------------------------------------

async def test_both_deployments_answer_with_their_own_credential_never_the_servers(transactional_db, client,
                                                                                   fake_openai):
    tenant = await admin_tenant()
    await configure(client, tenant, fake_openai)
    seen = set()
    for i in range(30):
        response = await post_inference(client, ask(f"question {i}"), tenant.headers())
        assert response.status_code == 200, response.content
        seen.add(response.headers[DEPLOYMENT])
        assert response.json()["model"] == "gpt-4o-mini"
    assert seen == {"fast/east", "fast/west"}
    assert calls_by(fake_openai, "east") + calls_by(fake_openai, "west") == 30  # the server's key (GOOD_KEY) unused
    records = await ausage_records()
    assert len(records) == 30 and {(r.provider, r.model, r.status) for r in records} == {("openai", "gpt-4o-mini", 200)}
    state = await report(client, tenant)
    assert state["east"]["requests"] + state["west"]["requests"] == 30
    assert state["east"]["state"] == state["west"]["state"] == "closed"
    assert state["east"]["latency_ms"] > 0


async def test_consecutive_5xx_open_the_breaker_and_traffic_moves_to_the_other(transactional_db, client,
                                                                               fake_openai):
    tenant = await admin_tenant()
    await configure(client, tenant, fake_openai, breaker={"failures": 2, "cooldown_seconds": 30})
    fake_openai.by_key[KEYS["east"]] = Scripted(status=500, body=error_body("boom", "server_error"))
    for i in range(20):
        response = await post_inference(client, ask(f"q{i}"), tenant.headers())
        assert response.status_code == 200, response.content  # east's failures are west's to answer
        assert response.headers[DEPLOYMENT] == "fast/west"
    state = await report(client, tenant)
    assert state["east"]["state"] == "open" and 25 <= state["east"]["retry_after_seconds"] <= 30
    assert state["east"]["errors"] == 2  # after two failures in a row it was no longer tried
    east_calls = calls_by(fake_openai, "east")
    for i in range(5):
        assert (await post_inference(client, ask(f"more {i}"), tenant.headers())).status_code == 200
    assert calls_by(fake_openai, "east") == east_calls
    records = await ausage_records()
    assert len(records) == 25 and all(r.status == 200 for r in records)


async def test_a_429_retry_after_opens_the_breaker_for_that_long_then_a_probe_closes_it(transactional_db, client,
                                                                                         fake_openai):
    tenant = await admin_tenant()
    await configure(client, tenant, fake_openai, deployments=[
        {"id": "east", "target": "openai/gpt-4o-mini", "credential": "east", "weight": 1000},
        {"id": "west", "target": "openai/gpt-4o-mini", "credential": "west", "weight": 0.001}])
    fake_openai.by_key[KEYS["east"]] = Scripted(status=429, headers={"Retry-After": "2"},
                                                body=error_body("slow down", "rate_limit_error"))
    response = await post_inference(client, ask(), tenant.headers())
    assert response.status_code == 200 and response.headers[DEPLOYMENT] == "fast/west"
    assert response.headers[ATTEMPTS] == ('openai/gpt-4o-mini;deployment="east";status=429, '
                                          'openai/gpt-4o-mini;deployment="west";status=200')
    state = await report(client, tenant)
    assert state["east"]["state"] == "open" and 1 <= state["east"]["retry_after_seconds"] <= 2
    del fake_openai.by_key[KEYS["east"]]
    await asyncio.sleep(2.1)
    assert (await report(client, tenant))["east"]["state"] == "half_open"
    response = await post_inference(client, ask(), tenant.headers())
    assert response.headers[DEPLOYMENT] == "fast/east"  # the probe answered
    assert (await report(client, tenant))["east"]["state"] == "closed"


async def test_a_hang_is_a_timeout_that_counts_against_the_deployment(transactional_db, client, fake_openai):
    tenant = await admin_tenant()
    await configure(client, tenant, fake_openai, breaker={"failures": 1, "cooldown_seconds": 60}, deployments=[
        {"id": "east", "target": "openai/gpt-4o-mini", "credential": "east", "weight": 1000},
        {"id": "west", "target": "openai/gpt-4o-mini", "credential": "west", "weight": 0.001}])
    fake_openai.by_key[KEYS["east"]] = Scripted(delay_s=3)  # past the test settings' 1 s provider timeout
    response = await post_inference(client, ask(), tenant.headers())
    assert response.status_code == 200 and response.headers[DEPLOYMENT] == "fast/west"
    assert '"east";status=504' in response.headers[ATTEMPTS]
    assert (await report(client, tenant))["east"]["state"] == "open"


async def test_every_deployment_open_is_a_503_with_retry_after_and_fallbacks_follow(transactional_db, client,
                                                                                     fake_openai):
    tenant = await admin_tenant()
    await configure(client, tenant, fake_openai, breaker={"failures": 1, "cooldown_seconds": 40})
    for name in KEYS:
        fake_openai.by_key[KEYS[name]] = Scripted(status=503, body=error_body("overloaded", "server_error"))
    failed = await post_inference(client, ask(), tenant.headers())
    assert_envelope(failed, 502, "ProviderError")  # both tried, both failed: the last one's error
    assert len(failed.json()["error"]["details"]["attempts"]) == 2
    refused = await post_inference(client, ask(), tenant.headers())
    body = assert_envelope(refused, 503, "InferenceServiceUnavailableError")
    assert 35 <= int(refused.headers["Retry-After"]) <= 40
    assert body["error"]["details"]["deployments"] == {"east": "open", "west": "open"}
    calls = len(fake_openai.requests())
    await configure(client, tenant, fake_openai, breaker={"failures": 1, "cooldown_seconds": 40},
                    fallbacks={"fast": ["test/echo"]})
    response = await post_inference(client, ask("answered by the fallback"), tenant.headers())
    assert response.status_code == 200, response.content
    assert (response.json()["provider"], response.json()["model"]) == ("test", "echo")
    assert response.headers[ATTEMPTS].endswith("test/echo;status=200")
    assert len(fake_openai.requests()) == calls  # the open breakers kept the group from calling upstream


async def test_rpm_capacity_is_counted_across_calls_and_full_is_a_503_until_the_next_minute(transactional_db, client,
                                                                                           fake_openai):
    tenant = await admin_tenant()
    await configure(client, tenant, fake_openai, strategy="usage", deployments=[
        {"id": "east", "target": "openai/gpt-4o-mini", "credential": "east", "rpm": 3},
        {"id": "west", "target": "openai/gpt-4o-mini", "credential": "west", "rpm": 2}])
    answers = await asyncio.gather(*(post_inference(client, ask(f"q{i}"), tenant.headers()) for i in range(7)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * 5 + [503, 503]
    assert (calls_by(fake_openai, "east"), calls_by(fake_openai, "west")) == (3, 2)
    refused = next(a for a in answers if a.status_code == 503)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["error"]["details"]["deployments"] == {"east": "at_capacity", "west": "at_capacity"}


async def test_least_busy_sends_the_next_call_where_fewer_are_in_flight(transactional_db, client, fake_openai):
    tenant = await admin_tenant()
    await configure(client, tenant, fake_openai, strategy="least_busy")
    fake_openai.by_key[KEYS["east"]] = Scripted(delay_s=0.6)
    fake_openai.by_key[KEYS["west"]] = Scripted(delay_s=0.6)
    first = asyncio.ensure_future(post_inference(client, ask("first"), tenant.headers()))
    await asyncio.sleep(0.3)
    busy = {"east": 1, "west": 0} if calls_by(fake_openai, "east") else {"east": 0, "west": 1}
    second = await post_inference(client, ask("second"), tenant.headers())
    idle = next(name for name, count in busy.items() if count == 0)
    assert second.headers[DEPLOYMENT] == f"fast/{idle}"
    assert (await first).status_code == 200


async def test_lowest_latency_learns_which_deployment_answers_faster(transactional_db, client, fake_openai):
    tenant = await admin_tenant()
    await configure(client, tenant, fake_openai, strategy="lowest_latency")
    fake_openai.by_key[KEYS["east"]] = Scripted(delay_s=0.25)
    chosen = [(await post_inference(client, ask(f"q{i}"), tenant.headers())).headers[DEPLOYMENT] for i in range(24)]
    assert chosen[4:].count("fast/west") >= 17  # both measured in the first calls, then mostly the faster one
    state = await report(client, tenant)
    assert state["east"]["latency_ms"] > 200 > state["west"]["latency_ms"]


async def test_a_stream_moves_to_the_next_deployment_before_its_first_text(transactional_db, client, fake_openai):
    tenant = await admin_tenant()
    await configure(client, tenant, fake_openai, deployments=[
        {"id": "east", "target": "openai/gpt-4o-mini", "credential": "east", "weight": 1000},
        {"id": "west", "target": "openai/gpt-4o-mini", "credential": "west", "weight": 0.001}])
    fake_openai.by_key[KEYS["east"]] = Scripted(status=500, body=error_body("boom", "server_error"))
    events = await sse_events(client, tenant, ask("one two three"))
    assert events[-1]["type"] == "done"
    assert texts_from_deltas(events)[0]
    state = await report(client, tenant)
    assert (state["east"]["errors"], state["west"]["requests"], state["west"]["errors"]) == (1, 1, 0)
    (record,) = await ausage_records()
    assert record.status == 200


async def test_a_missing_named_credential_skips_the_deployment_and_never_uses_the_servers_key(
        transactional_db, client, fake_openai):
    tenant = await admin_tenant()
    await configure(client, tenant, fake_openai, credentials=("west",))  # east's credential was never set
    for i in range(8):
        response = await post_inference(client, ask(f"q{i}"), tenant.headers())
        assert response.status_code == 200 and response.headers[DEPLOYMENT] == "fast/west"
    assert len(fake_openai.requests()) == calls_by(fake_openai, "west") == 8
    assert (await report(client, tenant))["east"]["errors"] >= 1


async def test_a_deployment_base_url_goes_only_where_the_operator_allows(transactional_db, client, fake_openai,
                                                                          settings):
    tenant = await admin_tenant()
    elsewhere = {"id": "east", "target": "openai/gpt-4o-mini", "credential": "east", "base_url": fake_openai.base_url}
    answer = await client.patch("/v1/namespaces/main", {"routing": {"aliases": {"fast": {"deployments": [elsewhere]}}}},
                                content_type="application/json", headers=tenant.headers())
    body = assert_envelope(answer, 422, "ValidationError")
    assert "INFERGATE_DEPLOYMENT_BASE_URLS" in json.dumps(body)
    settings.INFERGATE = {**settings.INFERGATE, "DEPLOYMENT_BASE_URLS": (fake_openai.base_url.rsplit("/v1", 1)[0],),
                          "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}  # the provider's own endpoint answers nothing
    without_credential = {k: v for k, v in elsewhere.items() if k != "credential"}
    answer = await client.patch("/v1/namespaces/main",
                                {"routing": {"aliases": {"fast": {"deployments": [without_credential]}}}},
                                content_type="application/json", headers=tenant.headers())
    assert "needs a named credential" in json.dumps(assert_envelope(answer, 422, "ValidationError"))
    await configure(client, tenant, fake_openai, deployments=[elsewhere], credentials=("east",))
    response = await post_inference(client, ask(), tenant.headers())
    assert response.status_code == 200, response.content
    assert calls_by(fake_openai, "east") == 1


@pytest.mark.parametrize("alias, problem", [
    ({"deployments": []}, "1 to 16 deployments"),
    ({"deployments": [{"id": "a", "target": "openai/gpt-4o-mini"}] * 2}, "repeats another deployment's id"),
    ({"deployments": [{"id": "a b", "target": "openai/gpt-4o-mini"}]}, "letters, digits"),
    ({"deployments": [{"id": "a", "target": "openai/gpt-4o-mini", "weight": 0}]}, "above 0"),
    ({"deployments": [{"id": "a", "target": "openai/gpt-4o-mini", "rpm": 1.5}]}, "whole number"),
    ({"deployments": [{"id": "a", "target": "openai/gpt-4o-mini", "region": "eu"}]}, "must be {id, target"),
    ({"deployments": [{"id": "a", "target": "openai/gpt-4o-mini"}], "strategy": "fastest"}, "one of weighted"),
    ({"deployments": [{"id": "a", "target": "openai/gpt-4o-mini"}], "breaker": {"failures": 0}}, "from 1 to 100"),
    ({"target": "openai/gpt-4o-mini", "strategy": "usage"}, "must be {target"),
    ({"target": "openai/gpt-4o-mini", "deployments": []}, "must be {target"),
])
async def test_bad_deployments_are_a_422_naming_the_field_and_change_nothing(transactional_db, client, alias,
                                                                             problem):
    tenant = await admin_tenant()
    answer = await client.patch("/v1/namespaces/main", {"routing": {"aliases": {"fast": alias}}},
                                content_type="application/json", headers=tenant.headers())
    body = assert_envelope(answer, 422, "ValidationError")
    assert problem in json.dumps(body), body
    routing = (await client.get("/v1/namespaces/main", headers=tenant.headers())).json()["routing"]
    assert routing == {}


async def test_the_state_is_in_metrics_and_a_breaker_can_be_closed_by_hand(transactional_db, client, fake_openai):
    tenant = await admin_tenant()
    await configure(client, tenant, fake_openai, breaker={"failures": 1, "cooldown_seconds": 600})
    fake_openai.by_key[KEYS["east"]] = Scripted(status=500, body=error_body("boom", "server_error"))
    for i in range(6):
        await post_inference(client, ask(f"q{i}"), tenant.headers())
    namespace_id = tenant.namespace.id
    text = (await client.get("/metrics")).text
    labels = f'alias="fast",deployment="east",namespace="{namespace_id}"'
    assert f"infergate_deployment_breaker_state{{{labels}}} 2.0" in text
    assert f"infergate_deployment_errors_total{{{labels}}} 1.0" in text
    reset = await client.post("/v1/namespaces/main/deployments/fast/east/reset", headers=tenant.headers())
    assert reset.status_code == 200 and reset.json()["state"] == "closed"
    missing = await client.post("/v1/namespaces/main/deployments/fast/north/reset", headers=tenant.headers())
    assert_envelope(missing, 404, "NotFoundError")
    catalog = (await client.get("/v1/models", headers=tenant.headers())).json()["data"]
    assert next(m for m in catalog if m["id"] == "fast")["deployments"] == ["east", "west"]


async def test_the_anthropic_sdk_through_an_alias_of_claude_deployments_is_relayed_with_each_ones_key(
        transactional_db, client, fake_anthropic):
    """Claude Code names its model; the namespace spreads that name over two Anthropic accounts. The body is relayed
    as sent to whichever deployment answers, with that deployment's key."""
    import anthropic

    from tests.fakes.anthropic_server import Scripted as AnthropicScripted
    from tests.fakes.anthropic_server import error_body as anthropic_error
    from tests.inference.test_anthropic_messages import in_process

    tenant = await admin_tenant()
    keys = {"east": "sk-ant-east-0123456789", "west": "sk-ant-west-0123456789"}
    for name, key in keys.items():
        fake_anthropic.keys.add(key)
        answer = await client.put(f"/v1/namespaces/main/credentials/anthropic/{name}", {"api_key": key},
                                  content_type="application/json", headers=tenant.headers())
        assert answer.status_code == 200, answer.content
    deployments = [{"id": "east", "target": "anthropic/claude-sonnet-4-6", "credential": "east", "weight": 1000},
                   {"id": "west", "target": "anthropic/claude-sonnet-4-6", "credential": "west", "weight": 0.001}]
    answer = await client.patch("/v1/namespaces/main", {"routing": {"aliases": {"claude-sonnet-4-6": {
        "deployments": deployments}}}}, content_type="application/json", headers=tenant.headers())
    assert answer.status_code == 200, answer.content
    fake_anthropic.by_key[keys["east"]] = AnthropicScripted(status=429, headers={"retry-after": "30"},
                                                            body=anthropic_error("slow down", "rate_limit_error"))
    sdk = anthropic.AsyncAnthropic(api_key=tenant.secret, base_url="http://testserver", http_client=in_process(),
                                   default_headers={"X-Namespace": "main"}, max_retries=0)
    raw = await sdk.messages.with_raw_response.create(
        model="claude-sonnet-4-6", max_tokens=64, messages=[{"role": "user", "content": "Say hello"}])
    message = await raw.parse()
    assert message.type == "message" and message.content[0].text
    assert raw.headers[DEPLOYMENT] == "claude-sonnet-4-6/west"
    sent = [r for r in fake_anthropic.received if r.path == "/v1/messages"]
    assert [r.headers.get("x-api-key") or r.headers["authorization"][7:] for r in sent] == [keys["east"], keys["west"]]
    assert sent[1].body["messages"] == [{"role": "user", "content": "Say hello"}]  # the client's body, as sent
    again = await sdk.messages.with_raw_response.create(
        model="claude-sonnet-4-6", max_tokens=64, messages=[{"role": "user", "content": "Again"}])
    assert again.headers[DEPLOYMENT] == "claude-sonnet-4-6/west"  # east's breaker is open for its Retry-After
    assert len([r for r in fake_anthropic.received if r.path == "/v1/messages"]) == 3


async def test_a_stored_response_is_read_with_the_credential_of_the_deployment_that_made_it(transactional_db, client,
                                                                                           fake_openai):
    import openai
    from openai import AsyncOpenAI

    tenant = await admin_tenant()
    await configure(client, tenant, fake_openai, credentials=("east",), deployments=[
        {"id": "east", "target": "openai/gpt-5.2", "credential": "east"}])
    sdk = AsyncOpenAI(api_key=tenant.secret, base_url="http://testserver/v1", http_client=client.http,
                      default_headers={"X-Namespace": "main"}, max_retries=0)
    made = await sdk.responses.create(model="fast", input="hello there")
    assert (await sdk.responses.retrieve(made.id)).output_text == "echo: hello there"
    (created,) = fake_openai.requests("/v1/responses")
    (read,) = fake_openai.requests(f"/v1/responses/{made.id}")
    assert created.headers["authorization"] == read.headers["authorization"] == f"Bearer {KEYS['east']}"
    # That credential removed: a 503 naming it, never the server's key in its place.
    removed = await client.delete("/v1/namespaces/main/credentials/openai/east", headers=tenant.headers())
    assert removed.status_code == 204
    with pytest.raises(openai.InternalServerError) as caught:
        await sdk.responses.retrieve(made.id)
    assert caught.value.status_code == 503 and "'east'" in caught.value.message
    assert len(fake_openai.requests(f"/v1/responses/{made.id}")) == 1
