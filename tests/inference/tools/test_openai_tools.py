"""Tool calling through OpenAI's API, end to end: the official OpenAI SDK against the app, the app against the
wire-format fake (which calls the tools it is offered, then answers the tool's result). A round trip (call,
result, answer) streamed and not, parallel calls, the native shapes, and what is refused before any call."""

from __future__ import annotations

import json

import pytest

from tests.conftest import assert_envelope, ausage_records, post_inference
from tests.inference.tools.conftest import QUESTION, TIME, WEATHER, chunk_calls, openai_tool
from tests.sse import sse_events

MODEL = "openai/gpt-5.2"  # in no list of ours: the open catalog forwards it


async def test_a_round_trip_through_the_openai_sdk(tenant, openai_sdk, fake_openai):
    messages = [{"role": "user", "content": QUESTION}]
    first = await openai_sdk.chat.completions.create(
        model=MODEL, messages=messages, tools=[openai_tool(WEATHER)], tool_choice="auto", reasoning_effort="low")
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    (call,) = choice.message.tool_calls
    assert (call.type, call.function.name, json.loads(call.function.arguments)) == (
        "function", "get_weather", {"query": QUESTION})
    upstream = fake_openai.requests("/v1/chat/completions")[-1].body
    assert upstream["tools"] == [openai_tool(WEATHER)] and upstream["tool_choice"] == "auto"
    assert (upstream["model"], upstream["reasoning_effort"]) == ("gpt-5.2", "low")

    # The answer's message goes back as it came (the SDK's own object), then the tool's result.
    messages += [choice.message, {"role": "tool", "tool_call_id": call.id, "content": "18 degrees, sunny"}]
    second = await openai_sdk.chat.completions.create(model=MODEL, messages=messages, tools=[openai_tool(WEATHER)])
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content == "echo: 18 degrees, sunny"
    sent = fake_openai.requests("/v1/chat/completions")[-1].body["messages"]
    assert sent[1] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": call.id, "type": "function", "function": {"name": "get_weather", "arguments": call.function.arguments}}]}
    assert sent[2] == {"role": "tool", "tool_call_id": call.id, "content": "18 degrees, sunny"}
    records = await ausage_records(model="gpt-5.2")
    assert [r.status for r in records] == [200, 200] and records[0].reasoning_tokens == 2


async def test_parallel_calls_streamed_as_pieces(tenant, openai_sdk, fake_openai):
    stream = await openai_sdk.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": QUESTION}], stream=True,
        tools=[openai_tool(WEATHER), openai_tool(TIME)], stream_options={"include_usage": True})
    chunks = [chunk async for chunk in stream]
    usage = chunks[-1].usage
    calls, finish = chunk_calls(chunks)
    assert finish == "tool_calls" and usage is not None and usage.completion_tokens == 10
    assert [(c["name"], json.loads(c["arguments"])) for _, c in sorted(calls.items())] == [
        ("get_weather", {"query": QUESTION}), ("get_time", {"query": QUESTION})]
    assert all(c["id"] for c in calls.values())
    # One call only, when the client says so (OpenAI's own parameter, passed through).
    one = await openai_sdk.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": QUESTION}], parallel_tool_calls=False,
        tools=[openai_tool(WEATHER), openai_tool(TIME)], tool_choice={"type": "function", "function": {"name": "get_time"}})
    assert [c.function.name for c in one.choices[0].message.tool_calls] == ["get_time"]
    assert fake_openai.requests()[-1].body["tool_choice"] == {"type": "function", "function": {"name": "get_time"}}


async def test_native_shapes_streamed_and_not(tenant, client, fake_openai):
    body = {"provider": "openai", "model": "gpt-5.2", "inputs": {"messages": [{"role": "user", "content": QUESTION}]},
            "parameters": {"tools": [WEATHER], "tool_choice": {"name": "get_weather"}}}
    answered = await post_inference(client, body, tenant.headers())
    assert answered.status_code == 200, answered.content
    (response,) = answered.json()["data"]["responses"]
    assert response["finish_reason"] == "tool_calls" and response["text"] == ""
    (call,) = response["tool_calls"]
    assert (call["name"], json.loads(call["arguments"])) == ("get_weather", {"query": QUESTION})

    events = await sse_events(client, tenant, body)
    pieces = [e for e in events if e["type"] == "tool_call"]
    assert pieces[0]["id"] == call["id"] and pieces[0]["name"] == "get_weather"
    assert "".join(p["arguments"] for p in pieces) == call["arguments"]
    assert events[-1]["response"]["data"]["responses"][0]["tool_calls"] == [call]

    body["inputs"]["messages"] += [{"role": "assistant", "content": None, "tool_calls": [call]},
                                   {"role": "tool", "tool_call_id": call["id"], "content": "rain"}]
    answer = await post_inference(client, {**body, "parameters": {"tools": [WEATHER]}}, tenant.headers())
    assert answer.json()["data"]["responses"] == [{"text": "echo: rain", "finish_reason": "stop"}]


@pytest.mark.parametrize(("parameters", "messages", "field"), [
    ({"tools": [{"name": "bad name"}]}, None, "parameters.tools[0].name"),
    ({"tools": [WEATHER, WEATHER]}, None, "parameters.tools[1].name"),
    ({"tools": [{**WEATHER, "parameters": {"type": "string"}}]}, None, "parameters.tools[0].parameters"),
    ({"tools": [WEATHER], "tool_choice": {"name": "other"}}, None, "parameters.tool_choice.name"),
    ({"tool_choice": "required"}, None, "parameters.tool_choice"),
    ({"tools": [WEATHER]}, [{"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "c9", "content": "r"}],
     "inputs.messages[1].tool_call_id"),
    ({}, [{"role": "user", "content": "x", "tool_calls": []}], "inputs.messages[0].tool_calls"),
    ({"tools": [WEATHER]}, [{"role": "user", "content": "x"}, {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "name": "get_weather", "arguments": "{}"}]}], "inputs.messages[1].tool_calls[0]"),
    ({"tools": [WEATHER]}, [{"role": "user", "content": "x"}, {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "name": "get_weather", "arguments": "{}"}, {"id": "c1", "name": "get_weather", "arguments": "{}"}]},
        {"role": "tool", "tool_call_id": "c1", "content": "r"}], "inputs.messages[1].tool_calls[1].id"),
    ({"tools": [WEATHER], "parallel_tool_calls": 1}, None, "parameters.parallel_tool_calls"),
    ({}, [{"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "name": "f"}]}],
     "inputs.messages[0].tool_calls[0]"),
])
async def test_bad_tool_shapes_are_refused_before_any_call(tenant, client, fake_openai, parameters, messages, field):
    body = {"provider": "openai", "model": "gpt-4o-mini", "parameters": parameters,
            "inputs": {"messages": messages or [{"role": "user", "content": QUESTION}]}}
    response = await post_inference(client, body, tenant.headers())
    assert field in [e["field"] for e in assert_envelope(response, 422, "ValidationError")["error"]["details"]["errors"]]
    assert fake_openai.requests() == []


async def test_a_model_that_calls_no_tools_refuses_them(tenant, client):
    response = await post_inference(client, {"provider": "local", "model": "smollm2-135m-instruct",
                                             "inputs": {"prompts": ["hi"]}, "parameters": {"tools": [WEATHER]}},
                                    tenant.headers())
    assert assert_envelope(response, 422, "ValidationError")["error"]["details"]["errors"][0]["field"] == \
        "parameters.tools"


@pytest.mark.parametrize("model", ["fakecompat/compat-chat", "fakecompat/a-model-it-does-not-list"])
async def test_an_openai_compatible_server_gets_the_same_tools(tenant, openai_sdk, fake_openai, model):
    first = await openai_sdk.chat.completions.create(model=model, messages=[{"role": "user", "content": QUESTION}],
                                                     tools=[openai_tool(WEATHER)])
    (call,) = first.choices[0].message.tool_calls
    assert fake_openai.requests()[-1].body["tools"] == [openai_tool(WEATHER)]
    second = await openai_sdk.chat.completions.create(model=model, tools=[openai_tool(WEATHER)], messages=[
        {"role": "user", "content": QUESTION}, first.choices[0].message,
        {"role": "tool", "tool_call_id": call.id, "content": "windy"}])
    assert second.choices[0].message.content == "echo: windy"


async def test_a_tool_that_returned_nothing_is_a_tool_turn_like_any(tenant, client, fake_openai):
    call = {"id": "c1", "name": "get_weather", "arguments": "{}"}
    body = {"provider": "openai", "model": "gpt-4o-mini", "parameters": {"tools": [WEATHER]}, "inputs": {"messages": [
        {"role": "user", "content": QUESTION}, {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": ""}]}}
    response = await post_inference(client, body, tenant.headers())
    assert response.status_code == 200, response.content
    assert fake_openai.requests()[-1].body["messages"][-1] == {"role": "tool", "tool_call_id": "c1", "content": ""}


async def test_a_long_tool_description_is_a_prompt_like_any(tenant, client, fake_openai):
    """Claude Code's Bash tool describes itself in more than 10,000 characters."""
    tool = {**WEATHER, "description": "Runs a command. " * 1000}
    response = await post_inference(client, {"provider": "openai", "model": "gpt-4o-mini", "parameters": {
        "tools": [tool]}, "inputs": {"messages": [{"role": "user", "content": QUESTION}]}}, tenant.headers())
    assert response.status_code == 200, response.content[:300]
