"""The Server-Sent Events side of POST /v1/inference/stream, as the tests read it: the events of an answer,
and the text the delta events add up to."""

from __future__ import annotations

import json

PATH = "/v1/inference/stream"


def parse_sse(raw: str) -> list[dict]:
    """The events' data, each checked to be named after its ``type``."""
    events = []
    for block in raw.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        event = json.loads(lines["data"])
        assert lines["event"] == event["type"]
        events.append(event)
    return events


async def sse_events(client, tenant, body: dict) -> list[dict]:
    """Stream ``body`` over SSE through Django's async test client; the stream must be accepted (200)."""
    response = await client.post(PATH, json.dumps(body), content_type="application/json",
                                 headers={**tenant.headers(), "Accept": "text/event-stream"})
    assert response.status_code == 200, response.content
    return parse_sse(response.text)


def texts_from_deltas(events: list[dict]) -> dict[int, str]:
    """Each answer's text (by index) as its delta events built it up."""
    texts: dict[int, str] = {}
    for event in events:
        if event["type"] == "delta":
            texts[event["index"]] = texts.get(event["index"], "") + event["text"]
    return texts
