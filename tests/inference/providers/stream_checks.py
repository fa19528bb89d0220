"""What the provider stream tests check alike, whichever wire-format fake answers: its echo of two
prompts streamed over SSE, and a long answer cancelled part-way over the websocket."""

from __future__ import annotations

from tests.conftest import ausage_records
from tests.sse import PATH, sse_events, texts_from_deltas
from tests.wsclient import WebsocketClient

TWO_PROMPTS = {"inputs": {"prompts": ["one two", "three"]}, "parameters": {"max_tokens": 20}}


async def two_prompts_streamed(client, tenant, target: dict) -> list[dict]:
    """``TWO_PROMPTS`` to ``target`` over SSE: the deltas add up to the fakes' echo of each prompt, which
    the done event repeats with the fakes' token counts (a token a word). The events, for more checks."""
    events = await sse_events(client, tenant, {**target, **TWO_PROMPTS})
    assert events[0]["type"] == "start" and events[-1]["type"] == "done"
    assert texts_from_deltas(events) == {0: "echo: one two", 1: "echo: three"}
    done = events[-1]["response"]
    assert done["data"]["responses"] == [{"text": "echo: one two", "finish_reason": "stop"},
                                        {"text": "echo: three", "finish_reason": "stop"}]
    assert done["tokens_used"] == {"prompt": 3, "completion": 5, "total": 8}
    return events


async def cancelled_midway(tenant, target: dict, fake, *, words: int, prompt_tokens: int) -> None:
    """Over the websocket, ``target`` starts the long answer the test scripted on ``fake`` (``words`` deltas,
    slowly); a cancel after the first delta ends it with a 499, the next request on the same socket is
    answered, the fake saw the cut stream closed, and the usage record holds what was generated."""
    from playground.asgi import application

    ws = WebsocketClient(application, PATH, tenant.headers())
    assert await ws.connect()
    await ws.send({**target, "inputs": {"prompts": ["count"]}})
    events = await ws.until("delta", timeout=20)
    await ws.send({"type": "cancel"})
    events += await ws.until("error", timeout=20)
    assert events[-1]["error"]["status"] == 499
    generated = sum(e["type"] == "delta" for e in events)
    await ws.send({**target, "inputs": {"prompts": ["next"]}})
    assert (await ws.until("done", "error", timeout=20))[-1]["type"] == "done"
    await ws.close()
    assert fake.streams == {"completed": 1, "cut": 1}
    (cancelled,) = await ausage_records(status=499)
    assert cancelled.error_type == "Cancelled" and cancelled.prompt_tokens == prompt_tokens
    assert generated <= cancelled.completion_tokens < words
