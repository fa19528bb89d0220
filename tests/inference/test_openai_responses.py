"""POST /v1/responses, driven by the official ``openai`` SDK against the app in-process, and the app against
the providers' wire-format fakes (which call the tools they are offered with ``{"query": <last user text>}``
and echo a tool's result). An OpenAI target gets the client's body as it is and answers as OpenAI does (stored
responses, built-in tools, reasoning items, its own stream events); every other target, a compatible endpoint
too, answers the translation: a local model and a cloud one, streamed and not, function-call round trips on
OpenAI, a compatible endpoint, Anthropic and Gemini, structured output, what is refused and how, and the usage
records."""

from __future__ import annotations

import json

import httpx
import openai
import pytest
from asgiref.sync import sync_to_async
from openai import AsyncOpenAI
from pydantic import BaseModel

from tests.conftest import ausage_records, tenant_create
from tests.fakes.openai_server import GOOD_KEY, FailedStream, Scripted, error_body

LOCAL = "local/smollm2-135m-instruct"
OPENAI = "openai/gpt-5.2"  # in no list of ours: the open catalog forwards it
COMPAT = "fakecompat/gpt-5.2"  # the same fake behind a compatible endpoint: the openai adapter, translated
CLAUDE = "anthropic/claude-sonnet-4-6"
QUESTION = "What is the weather in Paris?"
WEATHER = {"type": "function", "name": "get_weather", "description": "The weather in a city now.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
           "strict": False}
NATIVE_WEATHER = {key: WEATHER[key] for key in ("name", "description", "parameters")}
ROUND_TRIPS = {OPENAI: "fake_openai", COMPAT: "fake_openai", CLAUDE: "fake_anthropic",
               "google/gemini-2.5-flash": "fake_google"}


@pytest.fixture
def sdk(tenant, client) -> AsyncOpenAI:
    """The official OpenAI SDK against the app (in-process, through the test client's transport)."""
    return AsyncOpenAI(api_key=tenant.secret, base_url="http://testserver/v1", http_client=client.http,
                       default_headers={"X-Namespace": tenant.namespace.name}, max_retries=0)


async def events_of(sdk: AsyncOpenAI, **request) -> list:
    stream = await sdk.responses.create(**request, stream=True)
    return [event async for event in stream]


async def answer_of(sdk: AsyncOpenAI, stream: bool, **request):
    """The response object, whole or as the stream's last event carries it."""
    if not stream:
        return await sdk.responses.create(**request)
    *_, last = await events_of(sdk, **request)
    assert last.type == "response.completed"
    return last.response


def sse_events(text: str) -> list[tuple[str, dict]]:
    """Server-Sent Events as (the event line's name, the data)."""
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        events.append((lines.get("event", ""), json.loads(lines["data"])))
    return events


def unstamped(value):
    """``value`` without what differs from one answer to the next of the fake: ids and times."""
    if isinstance(value, dict):
        return {key: "*" if key in ("id", "item_id", "created_at", "completed_at") else unstamped(item)
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [unstamped(item) for item in value]
    return value


def stream_checked(events: list) -> None:
    """The events' shape: numbered in order, one response id, every item added before its pieces and done
    after them, deltas adding up to what the final response says."""
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert [e.type for e in events[:2]] == ["response.created", "response.in_progress"]
    assert events[0].response.status == "in_progress" and events[0].response.output == []
    final = events[-1].response
    assert {e.response.id for e in events if hasattr(e, "response")} == {final.id}
    texts: dict[int, str] = {}
    arguments: dict[int, str] = {}
    added, done = [], []
    for event in events:
        if event.type == "response.output_item.added":
            added.append(event.output_index)
        elif event.type == "response.output_item.done":
            done.append(event.output_index)
            assert event.item == final.output[event.output_index]
        elif event.type == "response.output_text.delta":
            assert event.output_index in added and event.output_index not in done
            texts[event.output_index] = texts.get(event.output_index, "") + event.delta
        elif event.type == "response.function_call_arguments.delta":
            assert event.output_index in added and event.output_index not in done
            arguments[event.output_index] = arguments.get(event.output_index, "") + event.delta
        elif event.type in ("response.output_text.done", "response.function_call_arguments.done"):
            built = texts if event.type == "response.output_text.done" else arguments
            assert (event.text if event.type == "response.output_text.done" else event.arguments) == \
                built.get(event.output_index, "")
    assert added == done == list(range(len(final.output)))
    lifecycle = [e.type for e in events if e.type in ("response.output_item.added", "response.output_item.done")]
    assert lifecycle == ["response.output_item.added", "response.output_item.done"] * len(added)  # one at a time
    for index, item in enumerate(final.output):
        if item.type == "message":
            assert item.content[0].text == texts[index]
        else:
            assert item.arguments == arguments.get(index, "")


# -- plain answers -----------------------------------------------------------------------------------

async def test_a_string_input_on_the_local_model(tenant, sdk):
    response = await sdk.responses.create(model=LOCAL, input="Name a fruit.", instructions="Answer briefly.",
                                          temperature=0, max_output_tokens=16, metadata={"ticket": "t-1"},
                                          extra_headers={"X-Request-ID": "resp-local-1"})
    assert (response.id, response.object, response.model) == ("resp_resp-local-1", "response", LOCAL)
    assert response.output_text.strip() and response._request_id == "resp-local-1"
    (message,) = response.output
    assert (message.type, message.role, message.content[0].type) == ("message", "assistant", "output_text")
    if response.status == "incomplete":  # the 16 tokens ran out
        assert response.incomplete_details.reason == "max_output_tokens" and message.status == "incomplete"
    else:
        assert response.status == "completed" and response.incomplete_details is None
    assert (response.instructions, response.metadata, response.temperature, response.max_output_tokens) == (
        "Answer briefly.", {"ticket": "t-1"}, 0, 16)
    assert (response.tools, response.tool_choice, response.parallel_tool_calls, response.error) == ([], "auto", True, None)
    usage = response.usage
    assert usage.input_tokens > 0 and 0 < usage.output_tokens <= 16
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert usage.input_tokens_details.cached_tokens == 0 and usage.output_tokens_details.reasoning_tokens == 0
    (record,) = await ausage_records(request_id="resp-local-1")
    assert (record.status, record.provider, record.model, record.modality) == (200, "local", "smollm2-135m-instruct",
                                                                               "chat")
    assert (record.prompt_tokens, record.completion_tokens) == (usage.input_tokens, usage.output_tokens)


async def test_reasoning_effort_and_the_token_details_of_a_translated_cloud_model(tenant, sdk, fake_openai):
    response = await sdk.responses.create(
        model=COMPAT, input="one two three four five six", instructions="Be terse.", reasoning={"effort": "low"},
        prompt_cache_key="c1", max_output_tokens=50, top_p=0.5, user="user-7", store=True, metadata={"a": "b"},
        text={"verbosity": "low"}, include=["message.output_text.logprobs"], truncation="auto")
    assert response.output_text == "echo: one two three four five six" and response.status == "completed"
    assert response.model == COMPAT and response.reasoning.effort == "low" and response.user == "user-7"
    assert fake_openai.requests("/v1/responses") == []  # a compatible endpoint is not OpenAI
    upstream = fake_openai.requests("/v1/chat/completions")[-1].body
    assert upstream["messages"] == [{"role": "system", "content": "Be terse."},
                                    {"role": "user", "content": "one two three four five six"}]
    assert (upstream["model"], upstream["reasoning_effort"], upstream["prompt_cache_key"], upstream["verbosity"],
            upstream["max_tokens"], upstream["top_p"]) == ("gpt-5.2", "low", "c1", "low", 50, 0.5)
    assert not {"metadata", "user", "store", "include", "truncation", "reasoning", "text"} & set(upstream)
    # 8 prompt tokens (the fake counts words), half from the provider's cache; 7 answer words and 2 of reasoning.
    usage = response.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (8, 9, 17)
    assert (usage.input_tokens_details.cached_tokens, usage.output_tokens_details.reasoning_tokens) == (4, 2)
    (record,) = await ausage_records(model="gpt-5.2")
    assert (record.status, record.cache_read_tokens, record.reasoning_tokens) == (200, 4, 2)


async def test_message_items_with_parts_and_an_image(tenant, sdk, fake_openai):
    png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
    response = await sdk.responses.create(model=COMPAT, input=[
        {"role": "developer", "content": "Be terse."},
        {"role": "user", "content": "Hello"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hi.", "annotations": []}]},
        {"role": "user", "content": [{"type": "input_text", "text": "What is this?"},
                                     {"type": "input_image", "image_url": png, "detail": "auto"}]}])
    assert response.output_text == "echo: What is this? [1 images]"
    sent = fake_openai.requests("/v1/chat/completions")[-1].body["messages"]
    assert sent[:3] == [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hello"},
                        {"role": "assistant", "content": "Hi."}]
    assert sent[3]["content"] == [{"type": "text", "text": "What is this?"},
                                  {"type": "image_url", "image_url": {"url": png}}]


# -- OpenAI's own Responses API, for openai targets ----------------------------------------------------

async def test_an_openai_target_gets_the_body_as_sent_and_answers_as_openai(tenant, sdk, fake_openai):
    request = {"model": OPENAI, "input": "one two three four five six", "instructions": "Be terse.",
               "reasoning": {"effort": "low", "summary": "auto"}, "prompt_cache_key": "c1", "max_output_tokens": 50,
               "top_p": 0.5, "user": "user-7", "store": True, "metadata": {"a": "b"}, "text": {"verbosity": "low"},
               "include": ["reasoning.encrypted_content"], "truncation": "auto"}
    response = await sdk.responses.create(**request, extra_headers={"X-Request-ID": "resp-openai-1"})
    # OpenAI's own response: its id, its model name, its reasoning item (encrypted, as `include` asked).
    assert response.id.startswith("resp_fake") and response.model == "gpt-5.2" and response._request_id == "resp-openai-1"
    assert [item.type for item in response.output] == ["reasoning", "message"]
    assert response.output[0].encrypted_content == "gAAAAfake"
    assert response.output_text == "echo: one two three four five six" and response.status == "completed"
    (received,) = fake_openai.requests()
    assert received.path == "/v1/responses" and received.body == {**request, "model": "gpt-5.2"}
    assert received.headers["authorization"] == f"Bearer {GOOD_KEY}" and tenant.secret not in json.dumps(received.headers)
    # 8 input tokens (the fake counts words), half from OpenAI's cache; 7 answer words and 2 of reasoning.
    usage = response.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (8, 9, 17)
    assert (usage.input_tokens_details.cached_tokens, usage.output_tokens_details.reasoning_tokens) == (4, 2)
    (record,) = await ausage_records(request_id="resp-openai-1")
    assert (record.status, record.provider, record.model, record.prompt_tokens, record.completion_tokens) == (
        200, "openai", "gpt-5.2", 8, 9)
    assert (record.cache_read_tokens, record.reasoning_tokens) == (4, 2)


async def test_a_bare_model_is_openais_and_its_bytes_go_as_they_came(tenant, client, fake_openai):
    raw = b'{"input":  "hello there",\n "model": "gpt-5.2", "store": false, "stream": null}'
    response = await client.post("/v1/responses", raw, content_type="application/json", headers=tenant.headers())
    assert response.status_code == 200, response.text
    assert response.json()["id"].startswith("resp_fake") and response.json()["store"] is False
    assert fake_openai.requests()[-1].raw == raw
    (record,) = await ausage_records()
    assert (record.provider, record.model, record.status) == ("openai", "gpt-5.2", 200)


async def test_previous_response_id_continues_a_response_openai_stored(tenant, sdk, fake_openai):
    first = await sdk.responses.create(model=OPENAI, input="My name is Ada.")
    second = await sdk.responses.create(model=OPENAI, input="What is my name?", previous_response_id=first.id)
    assert second.previous_response_id == first.id and second.output_text == "echo: What is my name?"
    assert second.usage.input_tokens == 4 + 5 + 4  # OpenAI's conversation: the first input and answer, then this
    # A function-call loop on OpenAI's state: the result answers a call that only OpenAI has.
    third = await sdk.responses.create(model=OPENAI, input=QUESTION, tools=[WEATHER], previous_response_id=second.id)
    (call,) = third.output
    assert (call.type, json.loads(call.arguments)) == ("function_call", {"query": QUESTION})
    events = await events_of(sdk, model=OPENAI, previous_response_id=third.id, tools=[WEATHER], input=[
        {"type": "function_call_output", "call_id": call.call_id, "output": "18 degrees, sunny"}])
    stream_checked(events)
    assert events[-1].response.output_text == "echo: 18 degrees, sunny"
    assert events[-1].response.previous_response_id == third.id
    # A response this namespace did not store: not found, before OpenAI is asked.
    asked = len(fake_openai.requests())
    with pytest.raises(openai.NotFoundError) as caught:
        await sdk.responses.create(model=OPENAI, input="and then?", previous_response_id="resp_unknown")
    assert "No stored response" in openai_error(caught, 404, "previous_response_id")["message"]
    assert len(fake_openai.requests()) == asked
    records = await ausage_records()
    assert [(r.provider, r.status) for r in records] == [("openai", 200)] * 4 + [("openai", 404)]


async def test_a_stored_response_is_continued_only_in_its_own_namespace(tenant, client, sdk, fake_openai):
    """Namespaces that share the server's OpenAI key share OpenAI's store; the gateway keeps them apart."""
    first = await sdk.responses.create(model=OPENAI, input="one two")
    other = await sync_to_async(tenant_create)("other-org", "theirs")
    theirs = AsyncOpenAI(api_key=other.secret, base_url="http://testserver/v1", http_client=client.http,
                         default_headers={"X-Namespace": "theirs"}, max_retries=0)
    with pytest.raises(openai.NotFoundError):
        await theirs.responses.create(model=OPENAI, input="and?", previous_response_id=first.id)
    unstored = await sdk.responses.create(model=OPENAI, input="three", store=False)
    with pytest.raises(openai.NotFoundError):  # the client asked OpenAI not to keep it
        await sdk.responses.create(model=OPENAI, input="and?", previous_response_id=unstored.id)
    again = await sdk.responses.create(model=OPENAI, input="and?", previous_response_id=first.id)
    assert again.previous_response_id == first.id


async def test_a_stored_response_is_retrieved_listed_and_deleted_through_the_sdk(tenant, sdk, fake_openai):
    first = await sdk.responses.create(model=OPENAI, input="My name is Ada.", instructions="Be brief.")
    second = await sdk.responses.create(model=OPENAI, input="What is my name?", previous_response_id=first.id)
    got = await sdk.responses.retrieve(second.id)
    assert (got.id, got.status, got.output_text) == (second.id, "completed", "echo: What is my name?")
    assert got.previous_response_id == first.id
    items = [item async for item in sdk.responses.input_items.list(second.id, limit=10, order="asc")]
    assert [getattr(item, "role", None) for item in items] == ["user", "assistant", "user"]
    listed = fake_openai.requests(f"/v1/responses/{second.id}/input_items")[-1]
    assert listed.body == {"limit": "10", "order": "asc"}  # the client's query, as it sent it
    assert listed.headers["authorization"] == f"Bearer {GOOD_KEY}"  # the namespace's (server's) key, not ours
    deleted = await sdk.responses.delete(second.id)
    assert deleted is None and second.id not in fake_openai.responses
    with pytest.raises(openai.NotFoundError) as caught:  # gone, and forgotten: not asked again
        await sdk.responses.retrieve(second.id)
    assert "No stored response" in openai_error(caught, 404, "response_id")["message"]
    assert len(fake_openai.requests(f"/v1/responses/{second.id}")) == 2
    # Nothing of this is a model call: no usage records beyond the two creations.
    assert [(r.provider, r.status) for r in await ausage_records()] == [("openai", 200)] * 2


async def test_an_owner_noted_before_credentials_were_noted_still_reads(tenant, sdk, fake_openai):
    from core.redis import redis_async

    made = await sdk.responses.create(model=OPENAI, input="one two")
    await redis_async().set(f"ig:response-owner:{made.id}", tenant.namespace.id)  # the earlier record: the id alone
    assert (await sdk.responses.retrieve(made.id)).id == made.id
    again = await sdk.responses.create(model=OPENAI, input="and?", previous_response_id=made.id)
    assert again.previous_response_id == made.id


async def test_a_background_response_is_polled_cancelled_and_its_tokens_recorded_once(tenant, sdk, fake_openai):
    started = await sdk.responses.create(model=OPENAI, input="Write a long story.", background=True)
    assert (started.status, started.output, started.usage) == ("queued", [], None)
    (created,) = await ausage_records()
    assert (created.status, created.total_tokens) == (200, 0)  # OpenAI has not said yet
    polled = await sdk.responses.retrieve(started.id)
    assert polled.status == "completed" and polled.output_text == "echo: Write a long story."
    settled = await ausage_records(endpoint="background_response")
    assert [(r.request_id, r.status, r.provider, r.model) for r in settled] == [
        (created.request_id, 200, "openai", "gpt-5.2")]
    assert (settled[0].prompt_tokens, settled[0].completion_tokens) == (polled.usage.input_tokens,
                                                                         polled.usage.output_tokens)
    assert settled[0].api_key_id == created.api_key_id and settled[0].price_known and settled[0].cost_usd > 0
    cancelled = await sdk.responses.cancel(started.id)  # settled already: nothing more is recorded
    assert cancelled.status == "cancelled"
    await sdk.responses.retrieve(started.id)
    assert len(await ausage_records(endpoint="background_response")) == 1
    plain = await sdk.responses.create(model=OPENAI, input="Short.")
    with pytest.raises(openai.BadRequestError):  # OpenAI's refusal: only a background response can be
        await sdk.responses.cancel(plain.id)


async def test_a_background_responses_cost_is_charged_to_the_budget_once_it_ends(tenant, sdk, fake_openai):
    from decimal import Decimal

    from core.redis import redis_async
    from inference.estimates import micro_usd
    from inference.providers.registry import provider_registry
    from tenancy.accounts.authentication import auth_cache_clear
    from tenancy.accounts.limits import limits_settled
    from tenancy.accounts.models import Namespace

    await sync_to_async(Namespace.objects.filter(id=tenant.namespace.id).update)(monthly_budget_usd=Decimal("1000"))
    auth_cache_clear()
    started = await sdk.responses.create(model=OPENAI, input="one two three four", background=True)
    await limits_settled()
    (budget,) = [key async for key in redis_async().scan_iter(f"budget:n{tenant.namespace.id}:*")]
    assert int(await redis_async().get(budget)) == 0  # the estimate reserved at creation was given back
    await ausage_records()  # the creation's record is stored (the drain runs every second)
    polled = await sdk.responses.retrieve(started.id)
    await limits_settled()
    price = provider_registry().resolve("openai", "gpt-5.2").spec.price
    spent = micro_usd(price, polled.usage.input_tokens, polled.usage.output_tokens)
    assert spent > 0 and int(await redis_async().get(budget)) == spent


async def test_a_background_response_nobody_polls_is_settled_by_the_periodic_task(tenant, sdk, fake_openai):
    from inference.service import background_settlements

    started = await sdk.responses.create(model=OPENAI, input="one two three", background=True)
    await ausage_records()  # the creation's record is stored (the drain runs every second)
    assert await background_settlements(after_s=3600) == 0  # too young to ask about
    assert await background_settlements(after_s=0) == 1
    assert await background_settlements(after_s=0) == 0  # settled: no longer pending
    (settled,) = await ausage_records(endpoint="background_response")
    assert settled.total_tokens == fake_openai.responses[started.id]["usage"]["total_tokens"] > 0
    asked = fake_openai.requests(f"/v1/responses/{started.id}")
    assert len(asked) == 1 and asked[0].headers["authorization"] == f"Bearer {GOOD_KEY}"


async def test_stored_responses_stay_in_their_namespace_and_other_ids_are_not_found(tenant, client, sdk,
                                                                                   fake_openai):
    mine = await sdk.responses.create(model=OPENAI, input="one two")
    other = await sync_to_async(tenant_create)("other-org", "theirs")
    theirs = AsyncOpenAI(api_key=other.secret, base_url="http://testserver/v1", http_client=client.http,
                         default_headers={"X-Namespace": "theirs"}, max_retries=0)
    asked = len(fake_openai.requests())
    for attempt in (theirs.responses.retrieve(mine.id), theirs.responses.delete(mine.id),
                    theirs.responses.cancel(mine.id)):
        with pytest.raises(openai.NotFoundError):
            await attempt
    translated = await sdk.responses.create(model=LOCAL, input="Name a fruit.", max_output_tokens=4)
    unstored = await sdk.responses.create(model=OPENAI, input="three", store=False)
    for response_id in (translated.id, unstored.id, "resp_unknown"):
        with pytest.raises(openai.NotFoundError):
            await sdk.responses.retrieve(response_id)
    assert len(fake_openai.requests()) == asked + 1  # only the unstored creation reached OpenAI
    assert (await sdk.responses.retrieve(mine.id)).id == mine.id  # still there for its own namespace


async def test_stored_response_routes_refuse_what_they_do_not_serve(tenant, client, sdk, fake_openai):
    made = await sdk.responses.create(model=OPENAI, input="one")
    headers = tenant.headers()
    streamed = await client.request("GET", f"/v1/responses/{made.id}?stream=true", headers=headers)
    assert streamed.status_code == 400 and streamed.json()["error"]["param"] == "stream"
    wrong = await client.request("PUT", f"/v1/responses/{made.id}", headers=headers)
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET, DELETE"
    cancel_get = await client.request("GET", f"/v1/responses/{made.id}/cancel", headers=headers)
    assert cancel_get.status_code == 405 and cancel_get.headers["allow"] == "POST"
    for path in (f"/v1/responses/{made.id}/other", "/v1/responses/"):
        assert (await client.request("GET", path, headers=headers)).status_code == 404, path
    assert (await client.request("GET", f"/v1/responses/{made.id}")).status_code == 401
    reader = await sync_to_async(tenant_create)("readers", "main", permissions=["read"])
    refused = await client.request("DELETE", f"/v1/responses/{made.id}", headers=reader.headers())
    assert refused.status_code == 403 and made.id in fake_openai.responses


@pytest.mark.parametrize("request_", [
    {"tools": [{"type": "web_search"}]},
    {"tools": [WEATHER, {"type": "file_search", "vector_store_ids": ["vs_1"]}]},
    {"tools": [{"type": "web_search_preview"}], "tool_choice": {"type": "web_search_preview"}},
    {"input": [{"role": "user", "content": "x"}, {"type": "reasoning", "id": "rs_1", "summary": []}]},
    {"input": [{"role": "user", "content": [{"type": "input_text", "text": "Summarise."},
                                            {"type": "input_file", "file_id": "file_1"}]}]},
    {"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file_1"}]}]},
    {"background": True},
], ids=["web_search", "file_search", "tool_choice", "reasoning", "input_file", "image_file_id", "background"])
async def test_what_only_openai_has_reaches_openai(tenant, sdk, fake_openai, request_):
    request = {"model": OPENAI, "input": QUESTION, **request_}
    response = await sdk.responses.create(**request)
    assert response.id.startswith("resp_fake")
    assert fake_openai.requests()[-1].body == {**request, "model": "gpt-5.2"}
    if request_.get("tools") == [{"type": "web_search"}]:
        search, message = response.output
        assert (search.type, search.action.query) == ("web_search_call", QUESTION)
        assert message.content[0].annotations[0].type == "url_citation"


async def test_an_openai_stream_comes_back_as_openai_sent_it(tenant, client, sdk, fake_openai):
    request = {"model": OPENAI, "input": QUESTION, "tools": [{"type": "web_search"}], "reasoning": {"effort": "medium"},
               "prompt_cache_key": "k1", "stream": True}
    response = await client.post("/v1/responses", json.dumps(request), content_type="application/json",
                                 headers=tenant.headers(**{"X-Request-ID": "resp-openai-stream"}))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    relayed = sse_events(response.text)
    async with httpx.AsyncClient() as http:  # what the fake sends for the same request, asked directly
        direct = await http.post(f"{fake_openai.base_url}/responses", json={**request, "model": "gpt-5.2"},
                                 headers={"Authorization": f"Bearer {GOOD_KEY}"})
    assert unstamped(relayed) == unstamped(sse_events(direct.text))
    names = [name for name, _ in relayed]
    assert names[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.output_item.done"]  # the reasoning item
    assert "response.web_search_call.searching" in names and names[-1] == "response.completed"
    assert [data["sequence_number"] for _, data in relayed] == list(range(len(relayed)))
    # 6 input tokens, 3 of them cached; 7 answer words and 4 of reasoning.
    (record,) = await ausage_records(request_id="resp-openai-stream")
    assert (record.status, record.prompt_tokens, record.completion_tokens, record.cache_read_tokens,
            record.reasoning_tokens) == (200, 6, 11, 3, 4)
    # The SDK's own helper accumulates them as it does OpenAI's.
    async with sdk.responses.stream(model=OPENAI, input=QUESTION, tools=[{"type": "web_search"}]) as stream:
        final = await stream.get_final_response()
    assert [item.type for item in final.output] == ["web_search_call", "message"]
    assert final.output_text == f"echo: {QUESTION}"


async def test_an_openai_stream_that_fails_is_relayed_and_recorded(tenant, sdk, fake_openai):
    fake_openai.script(FailedStream(code="server_error", message="The model failed."))
    stream = await sdk.responses.create(model=OPENAI, input="hello", stream=True)
    seen = [event async for event in stream]
    assert [e.type for e in seen] == ["response.created", "response.in_progress", "response.failed"]
    assert (seen[-1].response.id, seen[-1].response.error.code) == ("resp_fakefailed", "server_error")
    fake_openai.script(FailedStream(code="invalid_prompt", message="Not this prompt."))
    seen = [event async for event in await sdk.responses.create(model=OPENAI, input="hello", stream=True)]
    assert seen[-1].response.error.message == "Not this prompt."
    records = await ausage_records()  # OpenAI's failure is its own (502), an invalid prompt the client's (400)
    assert [(r.status, r.error_type) for r in records] == [(502, "ProviderError"), (400, "BadRequestError")]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_an_openai_target_that_fails_falls_back_to_the_translation(transactional_db, client, fake_openai,
                                                                          stream):
    admin = await sync_to_async(tenant_create)("acme", "main", permissions=["read", "admin"])
    routed = await client.patch(f"/v1/namespaces/{admin.namespace.name}", {"routing": {"fallbacks": {
        OPENAI: ["test/echo"]}}}, content_type="application/json", headers=admin.headers())
    assert routed.status_code == 200, routed.content
    sdk = AsyncOpenAI(api_key=admin.secret, base_url="http://testserver/v1", http_client=client.http,
                      default_headers={"X-Namespace": admin.namespace.name}, max_retries=0)
    failing = Scripted(status=503, body=error_body("The server is overloaded", "server_error"))
    fake_openai.script(failing, failing, failing)
    answer = await answer_of(sdk, stream, model=OPENAI, input="hello", extra_headers={"X-Request-ID": "resp-fb"})
    assert (answer.id, answer.model, answer.output_text) == ("resp_resp-fb", "test/echo", "hello")
    # What only OpenAI has goes to no other target: the fallback is skipped, and the target's failure is the answer.
    fake_openai.script(failing, failing, failing)
    with pytest.raises(openai.APIStatusError) as caught:
        await sdk.responses.create(model=OPENAI, input="hello", tools=[{"type": "web_search"}])
    assert caught.value.status_code == 502 and len(fake_openai.requests("/v1/responses")) == 6
    assert caught.value.response.headers["X-Infergate-Attempts"] == "openai/gpt-5.2;status=502, test/echo;status=400"

# -- streams -----------------------------------------------------------------------------------------

async def test_a_stream_on_the_local_model_adds_up_to_the_answer(tenant, sdk):
    whole = await sdk.responses.create(model=LOCAL, input="Name a colour.", temperature=0, max_output_tokens=12)
    events = await events_of(sdk, model=LOCAL, input="Name a colour.", temperature=0, max_output_tokens=12,
                             extra_headers={"X-Request-ID": "resp-stream-1"})
    stream_checked(events)
    types = [e.type for e in events]
    deltas = types.count("response.output_text.delta")
    assert deltas >= 1 and types == [
        "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
        *["response.output_text.delta"] * deltas, "response.output_text.done", "response.content_part.done",
        "response.output_item.done", f"response.{whole.status}"]
    final = events[-1].response
    assert final.output_text == whole.output_text and final.id == "resp_resp-stream-1"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (whole.usage.input_tokens, whole.usage.output_tokens)
    records = await ausage_records(provider="local")
    assert [r.status for r in records] == [200, 200]


async def test_an_answer_cut_short_is_incomplete(tenant, sdk):
    whole = await sdk.responses.create(model=LOCAL, input="Tell me a long story.", max_output_tokens=2)
    assert (whole.status, whole.incomplete_details.reason, whole.output[0].status) == (
        "incomplete", "max_output_tokens", "incomplete")
    assert whole.usage.output_tokens == 2
    events = await events_of(sdk, model=LOCAL, input="Tell me a long story.", max_output_tokens=2)
    stream_checked(events)
    last = events[-1]
    assert last.type == "response.incomplete" and last.response.incomplete_details.reason == "max_output_tokens"
    assert last.response.output[0].status == "incomplete"


async def test_a_stream_on_a_translated_cloud_model_and_the_sdk_stream_helper(tenant, sdk, fake_openai):
    events = await events_of(sdk, model=COMPAT, input="red green blue")
    stream_checked(events)
    assert [e.delta for e in events if e.type == "response.output_text.delta"] == ["echo:", " red", " green", " blue"]
    assert events[-1].type == "response.completed" and events[-1].response.output_text == "echo: red green blue"
    assert fake_openai.requests()[-1].body["stream"] is True
    # The SDK's own helper checks the items' identities as it accumulates them.
    async with sdk.responses.stream(model=COMPAT, input=QUESTION, tools=[WEATHER]) as stream:
        texts = [event async for event in stream]
        final = await stream.get_final_response()
    assert texts[-1].type == "response.completed"
    (call,) = final.output
    assert (call.type, call.name, json.loads(call.arguments)) == ("function_call", "get_weather", {"query": QUESTION})


async def test_a_failure_after_the_start_is_raised_by_the_sdk(tenant, sdk, fake_openai):
    fake_openai.script(Scripted(status=400, body=error_body("This model cannot do that.", param="messages")))
    stream = await sdk.responses.create(model=COMPAT, input="hello", stream=True)
    seen = []
    with pytest.raises(openai.APIError) as caught:
        async for event in stream:
            seen.append(event)
    assert "cannot do that" in caught.value.message and caught.value.code == "bad_request_error"
    assert [e.type for e in seen] == ["response.created", "response.in_progress", "response.failed"]
    failed = seen[-1].response
    assert failed.status == "failed" and "cannot do that" in failed.error.message
    (record,) = await ausage_records(model="gpt-5.2")
    assert record.status == 400


# -- tools -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("model", list(ROUND_TRIPS))
async def test_a_function_call_round_trip(request, tenant, sdk, model, stream):
    fake = request.getfixturevalue(ROUND_TRIPS[model])
    conversation = [{"role": "user", "content": QUESTION}]
    first = await answer_of(sdk, stream, model=model, input=conversation, tools=[WEATHER], tool_choice="auto")
    assert first.status == "completed" and first.output_text == ""
    (call,) = first.output
    assert (call.type, call.name, json.loads(call.arguments), call.status) == (
        "function_call", "get_weather", {"query": QUESTION}, "completed")
    assert call.call_id and first.tools[0].name == "get_weather"

    # The call goes back as the SDK returned it, then its result.
    conversation += [*first.output, {"type": "function_call_output", "call_id": call.call_id,
                                     "output": "18 degrees, sunny"}]
    second = await answer_of(sdk, stream, model=model, input=conversation, tools=[WEATHER])
    assert second.output_text == "echo: 18 degrees, sunny"
    assert [item.type for item in second.output] == ["message"]
    if model == OPENAI:  # OpenAI gets the conversation as the SDK sent it
        sent = fake.requests("/v1/responses")[-1].body
        assert (sent["model"], sent["tools"]) == ("gpt-5.2", [WEATHER]) and fake.requests("/v1/chat/completions") == []
        assert sent["input"][1]["call_id"] == call.call_id and sent["input"][2:] == [
            {"type": "function_call_output", "call_id": call.call_id, "output": "18 degrees, sunny"}]
    elif model == COMPAT:
        sent = fake.requests("/v1/chat/completions")[-1].body
        assert sent["tools"] == [{"type": "function", "function": {**NATIVE_WEATHER, "strict": False}}]
        assert sent["messages"][1:] == [
            {"role": "assistant", "content": None, "tool_calls": [{"id": call.call_id, "type": "function", "function": {
                "name": "get_weather", "arguments": call.arguments}}]},
            {"role": "tool", "tool_call_id": call.call_id, "content": "18 degrees, sunny"}]
    elif model.startswith("anthropic/"):
        sent = fake.requests()[-1].body
        assert sent["messages"][1:] == [
            {"role": "assistant", "content": [{"type": "tool_use", "id": call.call_id, "name": "get_weather",
                                               "input": {"query": QUESTION}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.call_id,
                                          "content": "18 degrees, sunny"}]}]
    records = await ausage_records(model=model.split("/")[1])
    assert [r.status for r in records] == [200, 200]


async def test_parallel_calls_a_forced_choice_and_text_with_calls(tenant, sdk, fake_openai):
    timer = {**WEATHER, "name": "get_time", "description": "The local time in a city."}
    both = await sdk.responses.create(model=COMPAT, input=QUESTION, tools=[WEATHER, timer])
    assert [(item.type, item.name) for item in both.output] == [("function_call", "get_weather"),
                                                                ("function_call", "get_time")]
    assert len({item.id for item in both.output}) == 2
    events = await events_of(sdk, model=COMPAT, input=QUESTION, tools=[WEATHER, timer])
    stream_checked(events)
    assert [(item.call_id, item.name) for item in events[-1].response.output] == [
        (item.call_id, item.name) for item in both.output]
    one = await sdk.responses.create(model=COMPAT, input=QUESTION, tools=[WEATHER, timer], parallel_tool_calls=False,
                                     tool_choice={"type": "function", "name": "get_time"})
    assert [item.name for item in one.output] == ["get_time"] and one.parallel_tool_calls is False
    upstream = fake_openai.requests()[-1].body
    assert upstream["tool_choice"] == {"type": "function", "function": {"name": "get_time"}}
    assert upstream["parallel_tool_calls"] is False
    # An assistant message followed by its calls is one assistant turn; results follow it.
    calls = [{"type": "function_call", "call_id": f"c{i}", "name": "get_weather", "arguments": "{}"} for i in (1, 2)]
    answer = await sdk.responses.create(model=COMPAT, tools=[WEATHER], input=[
        {"role": "user", "content": QUESTION}, {"role": "assistant", "content": "Checking."}, *calls,
        {"type": "function_call_output", "call_id": "c1", "output": [{"type": "input_text", "text": "rain"}]},
        {"type": "function_call_output", "call_id": "c2", "output": "wind"}])
    assert answer.output_text == "echo: wind"
    sent = fake_openai.requests()[-1].body["messages"]
    assert sent[1]["content"] == "Checking." and [c["id"] for c in sent[1]["tool_calls"]] == ["c1", "c2"]
    assert [m["role"] for m in sent[2:]] == ["tool", "tool"] and sent[2]["content"] == "rain"


# -- structured output -------------------------------------------------------------------------------

class Forecast(BaseModel):
    query: str
    days: int


async def test_text_format_json_schema(tenant, sdk, fake_openai, fake_anthropic):
    schema = {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}
    response = await sdk.responses.create(model=COMPAT, input="hello", text={
        "format": {"type": "json_schema", "name": "answer", "schema": schema, "strict": True}})
    assert response.text.format.type == "json_schema"
    upstream = fake_openai.requests()[-1].body
    assert upstream["response_format"]["type"] == "json_schema"
    assert upstream["response_format"]["json_schema"]["schema"] == schema
    objects = await sdk.responses.create(model=COMPAT, input="hello", text={"format": {"type": "json_object"}})
    assert objects.output_text == "echo: hello"
    assert fake_openai.requests()[-1].body["response_format"]["json_schema"]["schema"] == {"type": "object"}
    # A target that answers a schema whole sends its text as one delta.
    events = await events_of(sdk, model=COMPAT, input="hello", text={"format": {"type": "json_object"}})
    stream_checked(events)
    assert [e.delta for e in events if e.type == "response.output_text.delta"] == ["echo: hello"]
    # Through Anthropic (a forced tool call), parsed by the SDK into the client's own type.
    parsed = await sdk.responses.parse(model=CLAUDE, input="two words", text_format=Forecast)
    assert parsed.output_parsed == Forecast(query="two words", days=2)


# -- refusals ----------------------------------------------------------------------------------------

def openai_error(caught: pytest.ExceptionInfo, status: int, param: str | None) -> dict:
    error = caught.value
    assert error.status_code == status and set(error.body) == {"message", "type", "param", "code"}
    assert error.body["param"] == param, error.body
    return error.body


@pytest.mark.parametrize("model", [CLAUDE, LOCAL, COMPAT])
async def test_openais_stored_state_is_a_400_naming_it_for_other_targets(tenant, sdk, fake_openai, fake_anthropic,
                                                                          model):
    with pytest.raises(openai.BadRequestError) as caught:
        await sdk.responses.create(model=model, input="and then?", previous_response_id="resp_abc")
    body = openai_error(caught, 400, "previous_response_id")
    assert "only an openai target" in body["message"] and "input items" in body["message"]
    assert body["type"] == "invalid_request_error"
    with pytest.raises(openai.BadRequestError) as caught:
        await sdk.responses.create(model=model, input="x", conversation="conv_1", stream=True)
    openai_error(caught, 400, "conversation")
    with pytest.raises(openai.BadRequestError) as caught:  # a result for a call OpenAI stored, not in the input
        await sdk.responses.create(model=model, previous_response_id="resp_abc", input=[
            {"type": "function_call_output", "call_id": "call_0_get_weather", "output": "rain"}])
    assert "input[0]: answers a call" in openai_error(caught, 400, "previous_response_id")["message"]
    assert fake_openai.requests() == [] and fake_anthropic.requests() == []
    records = await ausage_records()
    assert [(r.status, r.error_type) for r in records] == [(400, "BadRequestError")] * 3


@pytest.mark.parametrize(("request_", "param"), [
    ({"tools": [{"type": "web_search"}]}, "tools[0]"),
    ({"tools": [WEATHER, {"type": "file_search", "vector_store_ids": ["vs_1"]}]}, "tools[1]"),
    ({"tool_choice": {"type": "web_search_preview"}, "tools": [WEATHER]}, "tool_choice"),
    ({"input": [{"role": "user", "content": "x"}, {"type": "reasoning", "id": "rs_1", "summary": []}]}, "input[1]"),
    ({"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "file_1"}]}]}, "input[0].content[0]"),
    ({"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file_1"}]}]}, "input[0].content[0]"),
    ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0]"),
    ({"background": True}, "background"),
])
async def test_what_cannot_be_translated_is_a_400_naming_it(tenant, sdk, fake_openai, request_, param):
    with pytest.raises(openai.BadRequestError) as caught:
        await sdk.responses.create(**{"model": COMPAT, "input": QUESTION, **request_})
    body = openai_error(caught, 400, param)
    assert body["message"].startswith(f"fakecompat/gpt-5.2 cannot take this request: {param}: ")
    assert fake_openai.requests() == []


@pytest.mark.parametrize(("model", "request_", "param"), [
    # The native checks, named as the Responses fields they came from.
    (LOCAL, {"max_output_tokens": 0}, "max_output_tokens"),
    (LOCAL, {"tools": [WEATHER]}, "tools"),
    (LOCAL, {"reasoning": {"effort": "low"}}, "reasoning.effort"),
    (LOCAL, {"instructions": ""}, "instructions"),
    (OPENAI, {"input": [{"role": "user", "content": "x"},
                        {"type": "function_call_output", "call_id": "nope", "output": "r"}]}, "input[1].call_id"),
    (OPENAI, {"input": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "Let me see."},
                        {"type": "function_call", "call_id": "c1", "name": "bad name", "arguments": "{}"},
                        {"type": "function_call_output", "call_id": "c1", "output": "r"}]}, "input[2].name"),
    (OPENAI, {"input": [{"role": "user", "content": "x"},
                        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"}]}, "input[1]"),
    (OPENAI, {"input": [{"role": "user", "content": ""}]}, "input[0].content"),
    (OPENAI, {"input": [{"role": "tool", "content": "x"}]}, "input[0].role"),
    (OPENAI, {"input": [{"role": "assistant", "content": [{"type": "input_text", "text": "x"}]}]},
     "input[0].content[0]"),
    (OPENAI, {"text": {"format": {"type": "yaml"}}}, "text.format"),
    (OPENAI, {"tools": [{**WEATHER, "parameters": {"type": "string"}}]}, "tools[0].parameters"),
    (OPENAI, {"input": []}, "input"),
    (OPENAI, {"metadata": {"n": 1}}, "metadata"),
])
async def test_invalid_fields_are_a_422_naming_the_responses_field(tenant, sdk, fake_openai, model, request_, param):
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        await sdk.responses.create(**{"model": model, "input": QUESTION, **request_})
    body = openai_error(caught, 422, param)
    assert body["message"].startswith(param) and body["code"] == "validation_error"
    assert fake_openai.requests() == []


async def test_a_bad_key_and_an_unknown_model(tenant, client, sdk):
    stranger = AsyncOpenAI(api_key="sk_live_" + "x" * 40, base_url="http://testserver/v1", http_client=client.http,
                           default_headers={"X-Namespace": tenant.namespace.name}, max_retries=0)
    for stream in (False, True):
        with pytest.raises(openai.AuthenticationError) as caught:
            await stranger.responses.create(model=LOCAL, input="hi", stream=stream)
        assert caught.value.body["type"] == "authentication_error"
    with pytest.raises(openai.BadRequestError) as caught:
        await sdk.responses.create(model="local/nope", input="hi")
    assert openai_error(caught, 400, "model")["code"] == "model_not_found"
    records = await ausage_records()
    assert [r.status for r in records] == [401, 401, 400]


async def test_bodies_that_are_not_requests(tenant, client):
    headers = tenant.headers()
    for content, content_type, status in ((b"{", "application/json", 400), (b"[]", "application/json", 422),
                                          (b"{}", "text/plain", 415), (b'{"input": "x"}', "application/json", 422)):
        response = await client.post("/v1/responses", content, content_type=content_type, headers=headers)
        assert response.status_code == status and set(response.json()["error"]) == {"message", "type", "param", "code"}
    wrong = await client.get("/v1/responses", headers=headers)
    assert wrong.status_code == 405


async def test_the_openapi_example_works(tenant, client):
    paths = (await client.get("/v1/openapi.json")).json()["paths"]
    operation = paths["/v1/responses"]["post"]
    example = operation["requestBody"]["content"]["application/json"]["example"]
    response = await client.post("/v1/responses", json.dumps(example), content_type="application/json",
                                 headers=tenant.headers())
    assert response.status_code == 200, response.text
    assert response.json()["object"] == "response" and response.json()["output"][0]["type"] == "message"
