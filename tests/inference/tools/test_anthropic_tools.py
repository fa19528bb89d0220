"""Tool calling through the Anthropic adapter, end to end: the official OpenAI SDK (and the native API) against
the app, the app through the ``anthropic`` SDK against the wire-format fake, which checks Anthropic's tool
shapes, calls the tools it is offered and then answers their results. A round trip (call, result, answer)
streamed and not, for a listed Claude and one only Anthropic knows; parallel calls; tool_choice and
parallel_tool_calls as Anthropic takes them; and what is refused before any call."""

from __future__ import annotations

import json

import pytest

from tests.conftest import assert_envelope, ausage_records, post_inference
from tests.inference.tools.conftest import QUESTION, TIME, WEATHER, openai_tool
from tests.sse import sse_events, texts_from_deltas

MODELS = ("anthropic/claude-sonnet-4-6", "anthropic/claude-sonnet-9")  # listed; in no list (forwarded)
TARGET = {"provider": "anthropic", "model": "claude-sonnet-4-6"}


def anthropic_tool(tool: dict) -> dict:
    """A native tool as Anthropic's ``{name, description, input_schema}``."""
    return {"name": tool["name"], "description": tool["description"], "input_schema": tool["parameters"]}


async def chat(openai_sdk, *, stream: bool, **request) -> tuple[str, str | None, list[dict], int]:
    """One chat completion, streamed or not: its finish_reason, text, tool calls and completion tokens."""
    if not stream:
        completion = await openai_sdk.chat.completions.create(**request)
        choice = completion.choices[0]
        calls = [{"id": c.id, "name": c.function.name, "arguments": c.function.arguments}
                 for c in choice.message.tool_calls or ()]
        return choice.finish_reason, choice.message.content, calls, completion.usage.completion_tokens
    chunks = await openai_sdk.chat.completions.create(**request, stream=True, stream_options={"include_usage": True})
    finish, text, pieces, tokens = None, "", {}, 0
    async for chunk in chunks:
        tokens = chunk.usage.completion_tokens if chunk.usage else tokens
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            text += choice.delta.content or ""
            for piece in choice.delta.tool_calls or ():
                call = pieces.setdefault(piece.index, {"id": None, "name": None, "arguments": ""})
                call["id"] = piece.id or call["id"]
                call["name"] = (piece.function.name if piece.function else None) or call["name"]
                call["arguments"] += (piece.function.arguments if piece.function else None) or ""
    return finish, text or None, [call for _, call in sorted(pieces.items())], tokens


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("model", MODELS)
async def test_a_round_trip_through_the_openai_sdk(tenant, openai_sdk, fake_anthropic, model, stream):
    messages = [{"role": "user", "content": QUESTION}]
    finish, text, calls, _ = await chat(openai_sdk, stream=stream, model=model, messages=messages,
                                        tools=[openai_tool(WEATHER)], tool_choice="auto")
    assert (finish, text) == ("tool_calls", None)
    (call,) = calls
    assert call["id"] and (call["name"], json.loads(call["arguments"])) == ("get_weather", {"query": QUESTION})
    upstream = fake_anthropic.requests()[-1].body
    assert upstream["tools"] == [anthropic_tool(WEATHER)] and upstream["tool_choice"] == {"type": "auto"}
    assert upstream["model"] == model.split("/")[1] and upstream.get("stream", False) is stream

    # The call goes back as OpenAI's assistant message, then the tool's result: Anthropic's tool_use, tool_result.
    messages += [{"role": "assistant", "content": None, "tool_calls": [
        {"id": call["id"], "type": "function", "function": {"name": call["name"], "arguments": call["arguments"]}}]},
        {"role": "tool", "tool_call_id": call["id"], "content": "18 degrees, sunny"}]
    finish, text, calls, _ = await chat(openai_sdk, stream=stream, model=model, messages=messages,
                                        tools=[openai_tool(WEATHER)])
    assert (finish, text, calls) == ("stop", "echo: 18 degrees, sunny", [])
    sent = fake_anthropic.requests()[-1].body
    assert sent["messages"][1:] == [
        {"role": "assistant", "content": [{"type": "tool_use", "id": call["id"], "name": "get_weather",
                                           "input": {"query": QUESTION}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call["id"], "content": "18 degrees, sunny"}]}]
    assert "tool_choice" not in sent
    records = await ausage_records(model=model.split("/")[1])
    assert [r.status for r in records] == [200, 200]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_parallel_calls_and_their_results_in_one_turn(tenant, openai_sdk, fake_anthropic, stream):
    tools = [openai_tool(WEATHER), openai_tool(TIME)]
    messages = [{"role": "user", "content": QUESTION}]
    finish, _, calls, tokens = await chat(openai_sdk, stream=stream, model=MODELS[0], messages=messages, tools=tools)
    assert finish == "tool_calls"
    assert [(c["name"], json.loads(c["arguments"])) for c in calls] == [("get_weather", {"query": QUESTION}),
                                                                       ("get_time", {"query": QUESTION})]
    assert len({c["id"] for c in calls}) == 2
    assert tokens == 2 * len(json.dumps({"query": QUESTION}).split())  # the fake's count: a token a word

    messages += [{"role": "assistant", "content": None, "tool_calls": [
        {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}} for c in calls]},
        {"role": "tool", "tool_call_id": calls[0]["id"], "content": "rain"},
        {"role": "tool", "tool_call_id": calls[1]["id"], "content": "14:00"},
        {"role": "user", "content": "Thanks!"}]
    finish, text, _, _ = await chat(openai_sdk, stream=stream, model=MODELS[0], messages=messages, tools=tools)
    assert (finish, text) == ("stop", "echo: rain; 14:00; Thanks!")
    # Both results, and the user's words after them, in the one user turn after the calls.
    assert fake_anthropic.requests()[-1].body["messages"][-1] == {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": calls[0]["id"], "content": "rain"},
        {"type": "tool_result", "tool_use_id": calls[1]["id"], "content": "14:00"},
        {"type": "text", "text": "Thanks!"}]}


@pytest.mark.parametrize(("request_", "tool_choice", "called"), [
    ({"parallel_tool_calls": False}, {"type": "auto", "disable_parallel_tool_use": True}, ["get_weather"]),
    ({"parallel_tool_calls": True}, None, ["get_weather", "get_time"]),
    ({"tool_choice": "required"}, {"type": "any"}, ["get_weather", "get_time"]),
    ({"tool_choice": "required", "parallel_tool_calls": False}, {"type": "any", "disable_parallel_tool_use": True},
     ["get_weather"]),
    ({"tool_choice": {"type": "function", "function": {"name": "get_time"}}}, {"type": "tool", "name": "get_time"},
     ["get_time"]),
    ({"tool_choice": "none", "parallel_tool_calls": False}, {"type": "none"}, []),
])
async def test_tool_choice_and_parallel_tool_calls_reach_anthropic_in_its_shape(tenant, openai_sdk, fake_anthropic,
                                                                                request_, tool_choice, called):
    completion = await openai_sdk.chat.completions.create(
        model=MODELS[0], messages=[{"role": "user", "content": QUESTION}],
        tools=[openai_tool(WEATHER), openai_tool(TIME)], **request_)
    choice = completion.choices[0]
    assert [call.function.name for call in choice.message.tool_calls or ()] == called
    assert choice.finish_reason == ("tool_calls" if called else "stop")
    upstream = fake_anthropic.requests()[-1].body
    assert upstream.get("tool_choice") == tool_choice and "parallel_tool_calls" not in upstream


async def test_native_shapes_streamed_and_not(tenant, client, fake_anthropic):
    body = {**TARGET, "inputs": {"messages": [{"role": "user", "content": QUESTION}]},
            "parameters": {"tools": [WEATHER, TIME]}}
    answered = await post_inference(client, body, tenant.headers())
    assert answered.status_code == 200, answered.content
    (response,) = answered.json()["data"]["responses"]
    assert response["finish_reason"] == "tool_calls" and response["text"] == ""
    calls = response["tool_calls"]
    assert [(c["name"], json.loads(c["arguments"])) for c in calls] == [("get_weather", {"query": QUESTION}),
                                                                       ("get_time", {"query": QUESTION})]

    events = await sse_events(client, tenant, body)
    pieces = [e for e in events if e["type"] == "tool_call"]
    assert [(p["call"], p["name"]) for p in pieces if "id" in p] == [(0, "get_weather"), (1, "get_time")]
    streamed = events[-1]["response"]["data"]["responses"][0]
    assert streamed["finish_reason"] == "tool_calls"
    # Each call's pieces add up to its arguments once (the SDK's own input_json events are not counted again).
    assert [c["arguments"] for c in streamed["tool_calls"]] == [c["arguments"] for c in calls]
    for position, call in enumerate(streamed["tool_calls"]):
        assert "".join(p["arguments"] for p in pieces if p["call"] == position) == call["arguments"]
    assert events[-1]["response"]["tokens_used"] == answered.json()["tokens_used"]

    body["inputs"]["messages"] += [{"role": "assistant", "content": None, "tool_calls": calls},
                                   {"role": "tool", "tool_call_id": calls[0]["id"], "content": "rain"},
                                   {"role": "tool", "tool_call_id": calls[1]["id"], "content": "14:00"}]
    answer = await post_inference(client, body, tenant.headers())
    assert answer.json()["data"]["responses"] == [{"text": "echo: rain; 14:00", "finish_reason": "stop"}]
    events = await sse_events(client, tenant, body)
    assert texts_from_deltas(events) == {0: "echo: rain; 14:00"}
    assert events[-1]["response"]["data"]["responses"][0]["finish_reason"] == "stop"


async def test_a_call_left_unanswered_is_refused_before_any_call(tenant, client, fake_anthropic):
    call = {"id": "toolu_x1", "name": "get_weather", "arguments": "{}"}
    messages = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "assistant", "content": "Never mind."}, {"role": "tool", "tool_call_id": "toolu_x1",
                                                                 "content": "rain"}]
    response = await post_inference(client, {**TARGET, "inputs": {"messages": messages},
                                             "parameters": {"tools": [WEATHER]}}, tenant.headers())
    errors = assert_envelope(response, 422, "ValidationError")["error"]["details"]["errors"]
    assert [e["field"] for e in errors] == ["inputs.messages[1].tool_calls[0]", "inputs.messages[3].tool_call_id"]
    assert fake_anthropic.requests() == []


async def test_parallel_tool_calls_is_true_or_false(tenant, client, fake_anthropic):
    body = {**TARGET, "inputs": {"messages": [{"role": "user", "content": QUESTION}]},
            "parameters": {"tools": [WEATHER], "parallel_tool_calls": "no"}}
    response = await post_inference(client, body, tenant.headers())
    errors = assert_envelope(response, 422, "ValidationError")["error"]["details"]["errors"]
    assert [e["field"] for e in errors] == ["parameters.parallel_tool_calls"]
    assert fake_anthropic.requests() == []


@pytest.mark.parametrize(("parameters", "field"), [
    ({"tools": [WEATHER], "schema": {"type": "object"}}, "parameters.schema"),
])
async def test_what_anthropic_cannot_take_is_refused_before_any_call(tenant, client, fake_anthropic, parameters, field):
    body = {**TARGET, "inputs": {"messages": [{"role": "user", "content": QUESTION}]}, "parameters": parameters}
    response = await post_inference(client, body, tenant.headers())
    assert [e["field"] for e in assert_envelope(response, 422, "ValidationError")["error"]["details"]["errors"]] == [field]
    start, event = await sse_events(client, tenant, body)  # refused by the adapter, once the stream started
    assert start["type"] == "start" and event["type"] == "error" and event["error"]["status"] == 422
    assert [e["field"] for e in event["error"]["error"]["details"]["errors"]] == [field]
    assert fake_anthropic.requests() == []
