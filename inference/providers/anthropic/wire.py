"""Anthropic's Messages API spoken as it is: a request that came in on ``POST /v1/messages`` (or its
``count_tokens``) for a Claude target goes to Anthropic with the client's own body, byte for byte when the
client named the model by Anthropic's id (else with only ``model`` replaced), and with the client's
``anthropic-version`` and ``anthropic-beta`` headers; the answer and every stream event come back as they are.
They are read only for the usage record and the stream's bookkeeping (text, tool calls, finish, tokens).

The provider's key is the namespace's (or the server's), never the client's Infergate key.
"""

from __future__ import annotations

import json
from typing import Any, AsyncIterator

import httpx2

from core.errors import ProviderError
from inference.providers.anthropic import mapping
from inference.providers.anthropic.client import PROVIDER, Session
from inference.providers.upstream import SHAPE_ERRORS, common_error_map, scrub, sse_events, unexpected_answer, wire_post
from inference.types import (
    Delta,
    Finish,
    InferenceCall,
    InferenceResult,
    StreamEvent,
    TokenCount,
    ToolCall,
    ToolCallDelta,
    Usage,
    WireEvent,
    WireRequest,
)

MESSAGES = "anthropic.messages"
COUNT_TOKENS = "anthropic.count_tokens"
FORMATS = frozenset({MESSAGES, COUNT_TOKENS})
PATHS = {MESSAGES: "/v1/messages", COUNT_TOKENS: "/v1/messages/count_tokens"}
FORWARDED_HEADERS = ("anthropic-version", "anthropic-beta")


def _request(wire: WireRequest, model: str) -> dict[str, Any]:
    """The SDK's ``post`` arguments, with the client's version and beta headers."""
    return wire_post(wire, model, {name: value for name, value in wire.headers.items() if name in FORWARDED_HEADERS})


async def wire_run(session: Session, call: InferenceCall, model: str) -> InferenceResult:
    """One answer (or a token count) as Anthropic gave it, with its usage."""
    assert call.wire is not None
    response = await session.call(lambda client: client.post(PATHS[call.wire.format], cast_to=httpx2.Response,
                                                              **_request(call.wire, model)))
    try:
        data = json.loads(await response.aread())
    except ValueError:
        raise unexpected_answer(PROVIDER, "a body that is not JSON") from None
    finally:
        await response.aclose()
    if not isinstance(data, dict):
        raise unexpected_answer(PROVIDER, "a body that is not a JSON object")
    if call.wire.format == COUNT_TOKENS:
        return InferenceResult(data={"input_tokens": data.get("input_tokens")}, wire=data)
    try:
        usage = usage_of(data.get("usage"))
        return InferenceResult(data={"responses": [answer_of(data)]}, usage=usage, wire=data)
    except SHAPE_ERRORS as exc:
        raise unexpected_answer(PROVIDER, type(exc).__name__) from None


def usage_of(reported: Any) -> Usage:
    """Anthropic's usage object (as JSON): the prompt is the uncached input plus what was read from and written
    to its prompt cache."""
    usage = Usage()
    if isinstance(reported, dict):
        usage.cache_read = int(reported.get("cache_read_input_tokens") or 0)
        usage.cache_write = int(reported.get("cache_creation_input_tokens") or 0)
        usage.prompt = int(reported.get("input_tokens") or 0) + usage.cache_read + usage.cache_write
        usage.completion = int(reported.get("output_tokens") or 0)
    return usage


def answer_of(message: dict[str, Any]) -> dict[str, Any]:
    """The native answer of a Message (as JSON), for the usage record's bookkeeping and a fallback's cache."""
    blocks = message.get("content") or []
    calls = [ToolCall(block["id"], block["name"], json.dumps(block.get("input", {}), ensure_ascii=False)).as_dict()
             for block in blocks if block.get("type") == "tool_use"]
    answer: dict[str, Any] = {"text": "".join(block.get("text", "") for block in blocks if block.get("type") == "text"),
                              "finish_reason": mapping.finish_reason(message.get("stop_reason"), called=bool(calls))}
    if calls:
        answer["tool_calls"] = calls
    return answer


class StreamReading:
    """What a relayed stream says, kept for the usage record and the stream's bookkeeping: the text as
    deltas, each tool call's pieces, the finish, the tokens so far."""

    def __init__(self, index: int, secret: str = "") -> None:
        self.index = index
        self.secret = secret  # never repeated in an error
        self.usage = Usage()
        self.calls: dict[int, int] = {}  # content block index -> tool call position

    def read(self, name: str, data: dict[str, Any]) -> list[StreamEvent]:
        kind = data.get("type", name)
        if kind == "error":  # e.g. overloaded_error once the answer started: Anthropic's own failure
            error = data.get("error") or {}
            message = scrub(str(error.get("message") or error.get("type")), self.secret)
            raise ProviderError(f"{PROVIDER} failed mid-stream: {message}",
                                details={"provider": PROVIDER, "upstream_status": None,
                                         "upstream_type": error.get("type")})
        if kind == "message_start":
            self.usage = usage_of(data["message"].get("usage"))
            return [TokenCount.of(self.usage)]
        if kind == "content_block_start" and data["content_block"].get("type") == "tool_use":
            block = data["content_block"]
            self.calls[data["index"]] = len(self.calls)
            return [ToolCallDelta(self.index, self.calls[data["index"]], block["id"], block["name"], "")]
        if kind == "content_block_delta":
            delta = data["delta"]
            if delta.get("type") == "text_delta":
                self.usage.completion += 1  # a lower bound until message_delta says (each delta holds a token)
                return [Delta(self.index, delta["text"]), TokenCount.of(self.usage)]
            if delta.get("type") == "input_json_delta" and data["index"] in self.calls:
                return [ToolCallDelta(self.index, self.calls[data["index"]], None, None, delta["partial_json"])]
        if kind == "message_delta":
            self.usage.completion = int((data.get("usage") or {}).get("output_tokens") or self.usage.completion)
            reason = mapping.finish_reason(data["delta"].get("stop_reason"), called=bool(self.calls))
            return [TokenCount.of(self.usage), Finish(self.index, reason)]
        return []


async def wire_stream(session: Session, call: InferenceCall, model: str) -> AsyncIterator[StreamEvent]:
    """Anthropic's events as they come (each a ``WireEvent``, first), with what they say for the bookkeeping.
    Opening the stream is retried like any call; closing this generator closes the upstream stream."""
    assert call.wire is not None
    response = await session.call(lambda client: client.post(PATHS[MESSAGES], cast_to=httpx2.Response,
                                                              **_request(call.wire, model)))
    reading = StreamReading(0, session.secret)
    try:
        async for name, data in sse_events(response.aiter_lines(), PROVIDER):
            yield WireEvent(name, data)  # an error event too: its client gets Anthropic's own words, then we fail
            for event in reading.read(name, data):
                yield event
    except httpx2.HTTPError as exc:  # the connection broke, or went quiet past the timeout, mid-stream
        raise common_error_map(exc, provider=PROVIDER, timeout_s=session.timeout_s, timeouts=httpx2.TimeoutException,
                               connection=httpx2.HTTPError, status=()) from None
    except SHAPE_ERRORS as exc:
        raise unexpected_answer(PROVIDER, type(exc).__name__) from None
    finally:
        await response.aclose()
