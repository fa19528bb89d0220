"""Tool calling through Gemini, end to end: the native endpoint and the official OpenAI SDK against the app, the
app through google-genai against the wire-format fake (which calls the functions it is offered, then answers
their results). A round trip (call, result, answer) streamed and not, parallel calls, the tool choice in
Gemini's shape, Gemini's own call ids, and what is refused before any call."""

from __future__ import annotations

import json

import openai
import pytest

from tests.conftest import assert_envelope, ausage_records, post_inference
from tests.fakes.google_server import CALL_TOKENS, PROJECT, Scripted, proto_keys
from tests.inference.tools.conftest import QUESTION, TIME, WEATHER, chunk_calls, openai_tool
from tests.sse import sse_events

SKIPPED_SIGNATURE = "skip_thought_signature_validator"  # what a call we send back carries (Gemini 3 wants one)


def native(model: str = "gemini-2.5-flash", **parameters) -> dict:
    return {"provider": "google", "model": model, "inputs": {"messages": [{"role": "user", "content": QUESTION}]},
            "parameters": {"tools": [WEATHER], **parameters}}


def declarations(body: dict) -> list[dict]:
    """The function declarations of a request, keys as Gemini documents them (proto3 JSON takes both spellings)."""
    (tool,) = body["tools"]
    return [proto_keys(declaration) for declaration in proto_keys(tool)["functionDeclarations"]]


def calling_mode(body: dict) -> dict:
    return proto_keys(proto_keys(body["toolConfig"])["functionCallingConfig"])


async def test_a_native_round_trip_streamed_and_not(tenant, client, fake_google):
    answered = await post_inference(client, native(tool_choice="auto"), tenant.headers())
    assert answered.status_code == 200, answered.content
    (response,) = answered.json()["data"]["responses"]
    assert response["finish_reason"] == "tool_calls" and response["text"] == ""
    (call,) = response["tool_calls"]
    assert (call["name"], json.loads(call["arguments"])) == ("get_weather", {"query": QUESTION})
    sent = fake_google.requests()[-1].body
    assert declarations(sent) == [{"name": "get_weather", "description": WEATHER["description"],
                                   "parametersJsonSchema": WEATHER["parameters"]}]
    assert calling_mode(sent) == {"mode": "AUTO"}
    assert sent.get("generationConfig", {}) == {}  # tools and tool_choice are no generation config fields

    events = await sse_events(client, tenant, native())
    (piece,) = [e for e in events if e["type"] == "tool_call"]  # Gemini sends a call whole: one piece
    assert (piece["call"], piece["name"], json.loads(piece["arguments"])) == (0, "get_weather", {"query": QUESTION})
    done = events[-1]["response"]["data"]["responses"][0]
    assert done["finish_reason"] == "tool_calls" and done["tool_calls"] == [
        {"id": piece["id"], "name": "get_weather", "arguments": piece["arguments"]}]
    assert "toolConfig" not in fake_google.requests()[-1].body  # no tool_choice: Gemini's default (AUTO)

    body = native()
    body["inputs"]["messages"] += [{"role": "assistant", "content": None, "tool_calls": [call]},
                                   {"role": "tool", "tool_call_id": call["id"], "content": "18 degrees, sunny"}]
    answer = await post_inference(client, body, tenant.headers())
    assert answer.json()["data"]["responses"] == [{"text": "echo: 18 degrees, sunny", "finish_reason": "stop"}]
    contents = fake_google.requests()[-1].body["contents"]
    assert contents[1:] == [
        {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"query": QUESTION}},
                                     "thoughtSignature": SKIPPED_SIGNATURE}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather",
                                                         "response": {"result": "18 degrees, sunny"}}}]}]
    events = await sse_events(client, tenant, body)
    assert "".join(e["text"] for e in events if e["type"] == "delta") == "echo: 18 degrees, sunny"
    records = await ausage_records(model="gemini-2.5-flash")
    assert [r.status for r in records] == [200] * 4 and records[0].completion_tokens == CALL_TOKENS


async def test_a_round_trip_through_the_openai_sdk(tenant, openai_sdk, fake_google):
    messages = [{"role": "user", "content": QUESTION}]
    first = await openai_sdk.chat.completions.create(
        model="google/gemini-2.5-flash", messages=messages, tools=[openai_tool(WEATHER)], tool_choice="required")
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    (call,) = choice.message.tool_calls
    assert (call.type, call.function.name, json.loads(call.function.arguments)) == (
        "function", "get_weather", {"query": QUESTION})
    assert calling_mode(fake_google.requests()[-1].body) == {"mode": "ANY"}

    # The answer's message goes back as the SDK returned it, then the tool's result.
    messages += [choice.message, {"role": "tool", "tool_call_id": call.id, "content": "18 degrees, sunny"}]
    second = await openai_sdk.chat.completions.create(model="google/gemini-2.5-flash", messages=messages,
                                                      tools=[openai_tool(WEATHER)])
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content == "echo: 18 degrees, sunny"
    assert second.usage.completion_tokens == 4  # the fake counts words


async def test_a_streamed_round_trip_through_the_openai_sdk_on_a_model_in_no_list(tenant, openai_sdk, fake_google):
    """gemini-9-pro is forwarded as it is; like Gemini 3 the fake wants the first call of a turn signed."""
    messages = [{"role": "user", "content": QUESTION}]
    stream = await openai_sdk.chat.completions.create(
        model="google/gemini-9-pro", messages=messages, tools=[openai_tool(WEATHER)], stream=True)
    calls, finish = chunk_calls([chunk async for chunk in stream])
    assert finish == "tool_calls"
    (call,) = calls.values()
    assert call["name"] == "get_weather" and json.loads(call["arguments"]) == {"query": QUESTION}
    assert "gemini-9-pro:streamGenerateContent" in fake_google.requests()[-1].path

    messages += [{"role": "assistant", "content": None, "tool_calls": [
                     {"id": call["id"], "type": "function",
                      "function": {"name": call["name"], "arguments": call["arguments"]}}]},
                 {"role": "tool", "tool_call_id": call["id"], "content": "rain"}]
    stream = await openai_sdk.chat.completions.create(
        model="google/gemini-9-pro", messages=messages, tools=[openai_tool(WEATHER)], stream=True)
    chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: rain"
    sent = fake_google.requests()[-1].body["contents"][1]["parts"][0]
    assert sent["thoughtSignature"] == SKIPPED_SIGNATURE
    records = await ausage_records(model="gemini-9-pro")
    assert [r.status for r in records] == [200, 200]


async def test_parallel_calls_and_their_results_in_one_content(tenant, client, openai_sdk, fake_google):
    stream = await openai_sdk.chat.completions.create(
        model="google/gemini-2.5-flash", messages=[{"role": "user", "content": QUESTION}], stream=True,
        tools=[openai_tool(WEATHER), openai_tool(TIME)], parallel_tool_calls=True,
        stream_options={"include_usage": True})
    chunks = [chunk async for chunk in stream]
    calls, finish = chunk_calls(chunks)
    assert finish == "tool_calls" and chunks[-1].usage.completion_tokens == 2 * CALL_TOKENS
    assert [(c["name"], json.loads(c["arguments"])) for _, c in sorted(calls.items())] == [
        ("get_weather", {"query": QUESTION}), ("get_time", {"query": QUESTION})]
    assert len({c["id"] for c in calls.values()}) == 2
    assert "parallel_tool_calls" not in json.dumps(fake_google.requests()[-1].body)  # accepted, never forwarded

    body = native(tools=[WEATHER, TIME])
    answered = (await post_inference(client, body, tenant.headers())).json()["data"]["responses"][0]
    weather, time = answered["tool_calls"]
    body["inputs"]["messages"] += [{"role": "assistant", "content": "Checking.", "tool_calls": [weather, time]},
                                   {"role": "tool", "tool_call_id": weather["id"], "content": "rain"},
                                   {"role": "tool", "tool_call_id": time["id"], "content": '{"time": "12:00"}'}]
    answer = await post_inference(client, body, tenant.headers())
    assert answer.json()["data"]["responses"][0]["text"] == 'echo: rain; {"time": "12:00"}'
    model, results = fake_google.requests()[-1].body["contents"][1:]
    assert model["parts"][0] == {"text": "Checking."} and len(model["parts"]) == 3
    assert [p["functionResponse"] for p in results["parts"]] == [
        {"name": "get_weather", "response": {"result": "rain"}}, {"name": "get_time", "response": {"time": "12:00"}}]


async def test_the_tool_choice_in_geminis_shape(tenant, client, openai_sdk, fake_google):
    named = await openai_sdk.chat.completions.create(
        model="google/gemini-2.5-flash", messages=[{"role": "user", "content": QUESTION}],
        tools=[openai_tool(WEATHER), openai_tool(TIME)],
        tool_choice={"type": "function", "function": {"name": "get_time"}})
    assert [c.function.name for c in named.choices[0].message.tool_calls] == ["get_time"]
    assert calling_mode(fake_google.requests()[-1].body) == {"mode": "ANY", "allowedFunctionNames": ["get_time"]}

    none = await post_inference(client, native(tool_choice="none"), tenant.headers())
    assert none.json()["data"]["responses"] == [{"text": f"echo: {QUESTION}", "finish_reason": "stop"}]
    assert calling_mode(fake_google.requests()[-1].body) == {"mode": "NONE"}


async def test_geminis_own_call_ids_go_back_to_it(tenant, client, fake_google):
    fake_google.script(Scripted(body={"candidates": [{"content": {"role": "model", "parts": [
        {"functionCall": {"id": "fc-1a2b", "name": "get_weather", "args": {"city": "Paris"}}}]},
        "finishReason": "STOP", "index": 0}], "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 4}}))
    answered = await post_inference(client, native(), tenant.headers())
    (call,) = answered.json()["data"]["responses"][0]["tool_calls"]
    assert call == {"id": "fc-1a2b", "name": "get_weather", "arguments": '{"city": "Paris"}'}
    body = native()
    body["inputs"]["messages"] += [{"role": "assistant", "content": None, "tool_calls": [call]},
                                   {"role": "tool", "tool_call_id": "fc-1a2b", "content": "rain"}]
    assert (await post_inference(client, body, tenant.headers())).status_code == 200
    model, result = fake_google.requests()[-1].body["contents"][1:]
    assert model["parts"][0]["functionCall"]["id"] == "fc-1a2b"
    assert result["parts"][0]["functionResponse"]["id"] == "fc-1a2b"


@pytest.mark.parametrize(("value", "problem"), [(False, "several functions in one turn"),
                                                ("yes", "must be true or false")])
async def test_parallel_tool_calls_off_is_refused_before_any_call(tenant, client, openai_sdk, fake_google, value,
                                                                  problem):
    response = await post_inference(client, native(parallel_tool_calls=value), tenant.headers())
    (error,) = assert_envelope(response, 422, "ValidationError")["error"]["details"]["errors"]
    assert error["field"] == "parameters.parallel_tool_calls" and problem in error["problem"]
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        await openai_sdk.chat.completions.create(
            model="google/gemini-9-pro", messages=[{"role": "user", "content": QUESTION}],
            tools=[openai_tool(WEATHER)], parallel_tool_calls=value)
    assert caught.value.body["param"] == "parallel_tool_calls"
    assert fake_google.requests() == []


async def test_a_round_trip_on_vertex_ai(tenant, client, fake_google, service_account, tmp_path, monkeypatch):
    """The SDK's Vertex AI side carries the same shapes (its own conversion of tools, calls and responses).
    The service account has a key id of its own: the process keeps each account's access token, which the fake
    forgets between tests, so the account of the other Vertex tests would arrive with a token it no longer knows."""
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps({**service_account, "private_key_id": "0123456789tools0"}))
    monkeypatch.delenv("GOOGLE_API_KEY")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", PROJECT)
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "us-central1")
    body = native("gemini-3-pro-preview", tool_choice={"name": "get_weather"})
    (call,) = (await post_inference(client, body, tenant.headers())).json()["data"]["responses"][0]["tool_calls"]
    body["inputs"]["messages"] += [{"role": "assistant", "content": None, "tool_calls": [call]},
                                   {"role": "tool", "tool_call_id": call["id"], "content": "rain"}]
    answer = await post_inference(client, body, tenant.headers())
    assert answer.json()["data"]["responses"][0]["text"] == "echo: rain"
    first, second = fake_google.requests()
    assert "/publishers/google/models/gemini-3-pro-preview:generateContent" in second.path
    assert calling_mode(first.body) == {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}
    assert declarations(second.body)[0]["parametersJsonSchema"] == WEATHER["parameters"]
    assert second.body["contents"][1]["parts"][0]["thoughtSignature"] == SKIPPED_SIGNATURE
