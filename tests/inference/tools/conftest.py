"""What the tool-calling tests share: a tool, a conversation that calls it and answers, and the OpenAI SDK
pointed at the app in-process."""

from __future__ import annotations

import pytest
from openai import AsyncOpenAI

WEATHER = {"name": "get_weather", "description": "The weather in a city now.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
TIME = {"name": "get_time", "description": "The local time in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
QUESTION = "What is the weather in Paris?"


def openai_tool(tool: dict) -> dict:
    """A native tool as OpenAI's ``{type: function, function}``."""
    return {"type": "function", "function": tool}


def chunk_calls(chunks: list) -> tuple[dict[int, dict], str | None]:
    """Tool calls as the OpenAI SDK's stream chunks build them up, and the finish reason."""
    calls: dict[int, dict] = {}
    finish = None
    for chunk in chunks:
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for piece in choice.delta.tool_calls or ():
                call = calls.setdefault(piece.index, {"id": None, "name": None, "arguments": ""})
                call["id"] = piece.id or call["id"]
                call["name"] = (piece.function.name if piece.function else None) or call["name"]
                call["arguments"] += (piece.function.arguments if piece.function else None) or ""
    return calls, finish


@pytest.fixture
def openai_sdk(tenant, client) -> AsyncOpenAI:
    """The official OpenAI SDK against the app (in-process, through the test client's transport)."""
    return AsyncOpenAI(api_key=tenant.secret, base_url="http://testserver/v1", http_client=client.http,
                       default_headers={"X-Namespace": tenant.namespace.name}, max_retries=0)
