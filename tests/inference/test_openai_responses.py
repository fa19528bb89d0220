"""POST /v1/responses, driven by the official ``openai`` SDK against the app in-process, and the app against
the providers' wire-format fakes (which call the tools they are offered with ``{"query": <last user text>}``
and echo a tool's result): a local model and a cloud one, streamed and not, function-call round trips on
OpenAI, Anthropic and Gemini, structured output, what is refused and how, and the usage records."""

from __future__ import annotations

import json

import openai
import pytest
from openai import AsyncOpenAI
from pydantic import BaseModel

from tests.conftest import ausage_records
from tests.fakes.openai_server import Scripted, error_body

LOCAL = "local/smollm2-135m-instruct"
OPENAI = "openai/gpt-5.2"  # in no list of ours: the open catalog forwards it
QUESTION = "What is the weather in Paris?"
WEATHER = {"type": "function", "name": "get_weather", "description": "The weather in a city now.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
           "strict": False}
NATIVE_WEATHER = {key: WEATHER[key] for key in ("name", "description", "parameters")}
ROUND_TRIPS = {"openai/gpt-5.2": "fake_openai", "anthropic/claude-sonnet-4-6": "fake_anthropic",
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


async def test_reasoning_effort_and_the_token_details_of_a_cloud_model(tenant, sdk, fake_openai):
    response = await sdk.responses.create(
        model=OPENAI, input="one two three four five six", instructions="Be terse.", reasoning={"effort": "low"},
        prompt_cache_key="c1", max_output_tokens=50, top_p=0.5, user="user-7", store=True, metadata={"a": "b"},
        text={"verbosity": "low"}, include=["message.output_text.logprobs"], truncation="auto")
    assert response.output_text == "echo: one two three four five six" and response.status == "completed"
    assert response.model == OPENAI and response.reasoning.effort == "low" and response.user == "user-7"
    upstream = fake_openai.requests("/v1/chat/completions")[-1].body
    assert upstream["messages"] == [{"role": "system", "content": "Be terse."},
                                    {"role": "user", "content": "one two three four five six"}]
    assert (upstream["model"], upstream["reasoning_effort"], upstream["prompt_cache_key"], upstream["verbosity"],
            upstream["max_completion_tokens"], upstream["top_p"]) == ("gpt-5.2", "low", "c1", "low", 50, 0.5)
    assert not {"metadata", "user", "store", "include", "truncation", "reasoning", "text"} & set(upstream)
    # 8 prompt tokens (the fake counts words), half from the provider's cache; 7 answer words and 2 of reasoning.
    usage = response.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (8, 9, 17)
    assert (usage.input_tokens_details.cached_tokens, usage.output_tokens_details.reasoning_tokens) == (4, 2)
    (record,) = await ausage_records(model="gpt-5.2")
    assert (record.status, record.cache_read_tokens, record.reasoning_tokens) == (200, 4, 2)


async def test_message_items_with_parts_and_an_image(tenant, sdk, fake_openai):
    png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
    response = await sdk.responses.create(model=OPENAI, input=[
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


async def test_a_stream_on_a_cloud_model_and_the_sdk_stream_helper(tenant, sdk, fake_openai):
    events = await events_of(sdk, model=OPENAI, input="red green blue")
    stream_checked(events)
    assert [e.delta for e in events if e.type == "response.output_text.delta"] == ["echo:", " red", " green", " blue"]
    assert events[-1].type == "response.completed" and events[-1].response.output_text == "echo: red green blue"
    assert fake_openai.requests()[-1].body["stream"] is True
    # The SDK's own helper checks the items' identities as it accumulates them.
    async with sdk.responses.stream(model=OPENAI, input=QUESTION, tools=[WEATHER]) as stream:
        texts = [event async for event in stream]
        final = await stream.get_final_response()
    assert texts[-1].type == "response.completed"
    (call,) = final.output
    assert (call.type, call.name, json.loads(call.arguments)) == ("function_call", "get_weather", {"query": QUESTION})


async def test_a_failure_after_the_start_is_raised_by_the_sdk(tenant, sdk, fake_openai):
    fake_openai.script(Scripted(status=400, body=error_body("This model cannot do that.", param="messages")))
    stream = await sdk.responses.create(model=OPENAI, input="hello", stream=True)
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
    if model.startswith("openai/"):
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
    both = await sdk.responses.create(model=OPENAI, input=QUESTION, tools=[WEATHER, timer])
    assert [(item.type, item.name) for item in both.output] == [("function_call", "get_weather"),
                                                                ("function_call", "get_time")]
    assert len({item.id for item in both.output}) == 2
    events = await events_of(sdk, model=OPENAI, input=QUESTION, tools=[WEATHER, timer])
    stream_checked(events)
    assert [(item.call_id, item.name) for item in events[-1].response.output] == [
        (item.call_id, item.name) for item in both.output]
    one = await sdk.responses.create(model=OPENAI, input=QUESTION, tools=[WEATHER, timer], parallel_tool_calls=False,
                                     tool_choice={"type": "function", "name": "get_time"})
    assert [item.name for item in one.output] == ["get_time"] and one.parallel_tool_calls is False
    upstream = fake_openai.requests()[-1].body
    assert upstream["tool_choice"] == {"type": "function", "function": {"name": "get_time"}}
    assert upstream["parallel_tool_calls"] is False
    # An assistant message followed by its calls is one assistant turn; results follow it.
    calls = [{"type": "function_call", "call_id": f"c{i}", "name": "get_weather", "arguments": "{}"} for i in (1, 2)]
    answer = await sdk.responses.create(model=OPENAI, tools=[WEATHER], input=[
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
    response = await sdk.responses.create(model=OPENAI, input="hello", text={
        "format": {"type": "json_schema", "name": "answer", "schema": schema, "strict": True}})
    assert response.text.format.type == "json_schema"
    upstream = fake_openai.requests()[-1].body
    assert upstream["response_format"]["type"] == "json_schema"
    assert upstream["response_format"]["json_schema"]["schema"] == schema
    objects = await sdk.responses.create(model=OPENAI, input="hello", text={"format": {"type": "json_object"}})
    assert objects.output_text == "echo: hello"
    assert fake_openai.requests()[-1].body["response_format"]["json_schema"]["schema"] == {"type": "object"}
    # A target that answers a schema whole sends its text as one delta.
    events = await events_of(sdk, model=OPENAI, input="hello", text={"format": {"type": "json_object"}})
    stream_checked(events)
    assert [e.delta for e in events if e.type == "response.output_text.delta"] == ["echo: hello"]
    # Through Anthropic (a forced tool call), parsed by the SDK into the client's own type.
    parsed = await sdk.responses.parse(model="anthropic/claude-sonnet-4-6", input="two words", text_format=Forecast)
    assert parsed.output_parsed == Forecast(query="two words", days=2)


# -- refusals ----------------------------------------------------------------------------------------

def openai_error(caught: pytest.ExceptionInfo, status: int, param: str | None) -> dict:
    error = caught.value
    assert error.status_code == status and set(error.body) == {"message", "type", "param", "code"}
    assert error.body["param"] == param, error.body
    return error.body


async def test_previous_response_id_is_refused_with_what_to_do_instead(tenant, sdk, fake_openai):
    with pytest.raises(openai.BadRequestError) as caught:
        await sdk.responses.create(model=OPENAI, input="and then?", previous_response_id="resp_abc")
    body = openai_error(caught, 400, "previous_response_id")
    assert "not supported" in body["message"] and "input items" in body["message"]
    assert body["type"] == "invalid_request_error"
    with pytest.raises(openai.BadRequestError) as caught:
        await sdk.responses.create(model=OPENAI, input="x", conversation="conv_1", stream=True)
    openai_error(caught, 400, "conversation")
    assert fake_openai.requests() == []
    records = await ausage_records(model="")
    assert [(r.status, r.error_type) for r in records] == [(400, "BadRequestError")] * 2


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
        await sdk.responses.create(**{"model": OPENAI, "input": QUESTION, **request_})
    openai_error(caught, 400, param)
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
