"""The anthropic adapter's ``stream()`` through the SDK's message stream: over Server-Sent Events and the
websocket, the fake's documented stream events become delta events whose text equals the final answer,
with Anthropic's token counts on the response and the usage record."""

from tests.conftest import ausage_records
from tests.fakes.anthropic_server import FakeAnthropic, Scripted, error_body
from tests.inference.providers.stream_checks import cancelled_midway, two_prompts_streamed
from tests.sse import sse_events, texts_from_deltas
from tests.wsclient import WebsocketClient

TARGET = {"provider": "anthropic", "model": "claude-sonnet-4-6"}


async def test_streamed_deltas_make_the_answer_with_usage_and_cost(tenant, client, fake_anthropic):
    events = await two_prompts_streamed(client, tenant, TARGET)
    assert sum(e["type"] == "delta" for e in events) == 5  # one per word
    for sent in fake_anthropic.requests():
        assert sent.body["stream"] is True and sent.body["max_tokens"] == 20
    (record,) = await ausage_records()
    assert (record.status, record.prompt_tokens, record.completion_tokens) == (200, 3, 5)
    assert float(record.cost_usd) == round((3 * 3.0 + 5 * 15.0) / 1e6, 8) and record.price_version


async def test_a_cut_answer_finishes_with_length(tenant, client, fake_anthropic):
    events = await sse_events(client, tenant, {**TARGET, "inputs": {"prompts": ["a b c d e"]},
                                               "parameters": {"max_tokens": 2}})
    assert events[-1]["response"]["data"]["responses"] == [{"text": "echo: a", "finish_reason": "length"}]


async def test_the_websocket_streams_the_same_events(tenant, client, fake_anthropic):
    from playground.asgi import application

    ws = WebsocketClient(application, "/v1/inference/stream", tenant.headers())
    assert await ws.connect()
    await ws.send({**TARGET, "inputs": {"messages": [{"role": "user", "content": "hello there"}]}})
    events = await ws.until("done", "error", timeout=20)
    await ws.close()
    assert events[-1]["type"] == "done", events[-1]
    assert texts_from_deltas(events) == {0: "echo: hello there"}
    assert events[-1]["response"]["tokens_used"] == {"prompt": 2, "completion": 3, "total": 5}


async def test_stream_errors_arrive_as_error_events(tenant, client, fake_anthropic):
    fake_anthropic.script(Scripted(status=429, headers={"retry-after": "3"},
                                   body=error_body("slow down", "rate_limit_error")))
    events = await sse_events(client, tenant, {**TARGET, "inputs": {"prompts": ["hi"]}})
    assert events[-1]["type"] == "error" and events[-1]["error"]["status"] == 429
    # an error event in the middle of a stream (documented: overloaded_error) is a 502, not retried
    start = {"type": "message_start", "message": {
        "id": "msg_x", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6", "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}}}
    fake_anthropic.script(Scripted(events=[
        ("message_start", start),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": "partial"}}),
        ("error", error_body("Overloaded", "overloaded_error"))]))
    events = await sse_events(client, tenant, {**TARGET, "inputs": {"prompts": ["hi"]}})
    assert texts_from_deltas(events) == {0: "partial"}
    assert events[-1]["type"] == "error" and events[-1]["error"]["status"] == 502
    assert events[-1]["error"]["error"]["details"] == {"provider": "anthropic", "upstream_status": None,
                                                       "upstream_type": "overloaded_error"}
    assert "mid-stream" in events[-1]["error"]["error"]["message"]
    assert len(fake_anthropic.requests()) == 2


async def test_structured_requests_stream_as_one_result(tenant, client, fake_anthropic):
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    events = await sse_events(client, tenant, {**TARGET, "inputs": {"prompts": ["hi"]},
                                               "parameters": {"schema": schema}})
    assert events[-1]["response"]["data"]["responses"][0]["structured"] == {"answer": "hi"}
    (sent,) = fake_anthropic.requests()
    assert "stream" not in sent.body


async def test_cancel_stops_the_upstream_stream_and_records_what_was_generated(tenant, client, fake_anthropic):
    words = [f"w{i}" for i in range(60)]
    fake_anthropic.script(Scripted(events=FakeAnthropic._events("msg_long", "claude-sonnet-4-6", words, "end_turn", 7),
                                   event_delay_s=0.05))
    await cancelled_midway(tenant, TARGET, fake_anthropic, words=len(words), prompt_tokens=7)
