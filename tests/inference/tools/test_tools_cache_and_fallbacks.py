"""Tool requests and the rest of the gateway: the semantic cache serves a tool-call answer only to a request
that offered the same tools (and never caches a conversation that holds tool turns); a fallback that takes no
tools is skipped; a stream falls back until its first tool call."""

from __future__ import annotations

from asgiref.sync import sync_to_async

from tests.conftest import ausage_records, post_inference, tenant_create
from tests.fakes.openai_server import Scripted, error_body
from tests.inference.tools.conftest import QUESTION, TIME, WEATHER
from tests.sse import sse_events


def ask(tools: list | None = None, messages: list | None = None, cache: bool = True) -> dict:
    parameters = {"temperature": 0, **({"tools": tools} if tools else {})}
    return {"provider": "openai", "model": "gpt-4o-mini", "parameters": parameters, "enable_semantic_cache": cache,
            "inputs": {"messages": messages or [{"role": "user", "content": QUESTION}]}}


async def test_a_tool_call_answer_is_served_only_to_the_same_tools(tenant, client, fake_openai):
    first = (await post_inference(client, ask([WEATHER]), tenant.headers())).json()
    assert first["cached"] is False and first["data"]["responses"][0]["tool_calls"]
    again = (await post_inference(client, ask([WEATHER]), tenant.headers())).json()
    assert again["cached"] is True and again["data"] == first["data"]
    other_tools = (await post_inference(client, ask([WEATHER, TIME]), tenant.headers())).json()
    assert other_tools["cached"] is False and len(other_tools["data"]["responses"][0]["tool_calls"]) == 2
    no_tools = (await post_inference(client, ask(), tenant.headers())).json()
    assert no_tools["cached"] is False and "tool_calls" not in no_tools["data"]["responses"][0]
    assert len(fake_openai.requests()) == 3

    # Streamed, a hit replays the calls as tool_call events.
    events = await sse_events(client, tenant, ask([WEATHER]))
    (piece,) = [e for e in events if e["type"] == "tool_call"]
    assert events[-1]["response"]["cached"] is True
    assert (piece["id"], piece["name"], piece["arguments"]) == tuple(
        first["data"]["responses"][0]["tool_calls"][0][k] for k in ("id", "name", "arguments"))
    assert len(fake_openai.requests()) == 3


async def test_a_conversation_with_tool_turns_is_not_cached(tenant, client, fake_openai):
    call = {"id": "call_1", "name": "get_weather", "arguments": "{}"}
    turns = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": None, "tool_calls": [call]},
             {"role": "tool", "tool_call_id": "call_1", "content": "18 degrees"}]
    for _ in range(2):
        answer = (await post_inference(client, ask([WEATHER], turns), tenant.headers())).json()
        assert answer["cached"] is False and answer["data"]["responses"][0]["text"] == "echo: 18 degrees"
    assert [r.cache_decision for r in await ausage_records()] == ["", ""]


async def test_a_fallback_that_takes_no_tools_is_skipped(transactional_db, client, fake_openai):
    tenant = await sync_to_async(tenant_create)("acme", "main", permissions=["admin", "read", "write"])
    routed = await client.patch(f"/v1/namespaces/{tenant.namespace.name}", {"routing": {"fallbacks": {
        "openai/gpt-4o-mini": ["local/smollm2-135m-instruct", "openai/gpt-4.1-mini"]}}},
        content_type="application/json", headers=tenant.headers())
    assert routed.status_code == 200, routed.content
    failing = Scripted(status=503, body=error_body("The server is overloaded", "server_error"))
    fake_openai.script(failing, failing, failing)
    response = await post_inference(client, ask([WEATHER], cache=False), tenant.headers())
    assert response.status_code == 200, response.content
    assert response.headers["X-Infergate-Attempts"] == ("openai/gpt-4o-mini;status=502, "
                                                        "local/smollm2-135m-instruct;status=422, "
                                                        "openai/gpt-4.1-mini;status=200")
    assert response.json()["data"]["responses"][0]["tool_calls"][0]["name"] == "get_weather"

    # A stream: the failing target sends nothing, the fallback's first tool call is what commits it.
    fake_openai.script(failing, failing, failing)
    events = await sse_events(client, tenant, ask([WEATHER], cache=False))
    assert [e["type"] for e in events][0] == "start" and events[-1]["type"] == "done"
    assert events[-1]["response"]["model"] == "gpt-4.1-mini"
    assert [e["name"] for e in events if e["type"] == "tool_call" and "name" in e] == ["get_weather"]
