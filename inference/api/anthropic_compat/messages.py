"""``POST /v1/messages`` and ``POST /v1/messages/count_tokens`` in Anthropic's wire format, so that the
Anthropic SDK and Claude Code work by pointing ``ANTHROPIC_BASE_URL`` at Infergate.

The key is an Infergate key, sent as ``x-api-key`` (what the SDK sends) or ``Authorization: Bearer``; the
namespace is ``X-Namespace``, or the key's only one. A model named without a provider (``claude-sonnet-4-6``)
is the namespace's alias of that name, else Anthropic's model. A Claude target gets the client's body as it
is and answers as Anthropic does, stream events included (inference/providers/anthropic/wire.py); any other
target answers the native translation (``translate``), shaped as Anthropic's Message and events.
"""

from __future__ import annotations

import json
from typing import Any

from core.errors import InfergateError, ValidationError
from core.strings import type_name, wire_json_problem
from inference.api.anthropic_compat.errors import anthropic_error, anthropic_error_from_envelope
from inference.api.anthropic_compat.translate import STOP_REASONS, message_object, native_body, usage_object
from inference.api.edge import EdgeRequest, edge_route, refusing
from inference.api.openai_compat.transport import namespace_default
from inference.request import WiredBody
from inference.service import COUNT_TOKENS
from inference.types import WireRequest
from tenancy.accounts.authentication import key_header

MESSAGES_FORMAT, COUNT_FORMAT = "anthropic.messages", "anthropic.count_tokens"
FORWARDED_HEADERS = ("anthropic-version", "anthropic-beta")


def authorization(headers: dict[str, str]) -> str | None:
    """The key: ``Authorization`` as on every route, else the Anthropic SDK's ``x-api-key``."""
    return key_header(authorization=headers.get("authorization"), api_key=headers.get("x-api-key"))


anthropic_route = edge_route(anthropic_error, namespace=namespace_default, authorization=authorization)


def wired(request: EdgeRequest, format_: str) -> WiredBody:
    """The client's request beside its native translation (a 400 or 422 in Anthropic's shape when it is not a
    Messages request at all)."""
    raw = request.body_bytes("application/json")
    body = request.json_body()
    if not isinstance(body, dict):
        raise ValidationError([{"field": "body", "problem": f"must be a JSON object, not {type_name(body)}"}])
    if problem := wire_json_problem(body):  # relayed as it is: nothing in it unstorable, no number out of range
        raise ValidationError([problem])
    if not isinstance(body.get("model"), str) or not body["model"].strip():
        raise ValidationError([{"field": "model", "problem": "required: a model id such as claude-sonnet-4-6, "
                                                              "or provider/model"}])
    native, untranslated = native_body(body, counting=format_ == COUNT_FORMAT)
    provider, slash, model = body["model"].partition("/")
    native.update({"provider": provider, "model": model} if slash else {"model": body["model"]})
    headers = {name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers}
    return WiredBody(native=native, wire=WireRequest(format=format_, provider="anthropic", body=body, headers=headers,
                                                     untranslated=tuple(untranslated), raw=raw))


def _parsed(request: EdgeRequest, format_: str) -> tuple[Any, bool]:
    """The service's body (or the refusal it raises after authentication) and whether to stream."""
    try:
        body = wired(request, format_)
    except InfergateError as error:
        return refusing(error), False
    stream = body.wire.body.get("stream", False)
    if not isinstance(stream, bool):
        return refusing(ValidationError([{"field": "stream", "problem": "must be true or false"}])), False
    return body, stream and format_ == MESSAGES_FORMAT


@anthropic_route
async def messages_endpoint(request: EdgeRequest) -> None:
    body, stream = _parsed(request, MESSAGES_FORMAT)
    if stream:
        events = request.stream(body)
        first = await anext(events)  # raises before anything is sent when the request is refused
        return await request.sse(events, first, EventEncoder(request.request_id))
    response = await request.run(body)
    await request.respond(response.get("wire") or message_object(response, f"msg_{request.request_id}"))


@anthropic_route
async def count_tokens_endpoint(request: EdgeRequest) -> None:
    body, _ = _parsed(request, COUNT_FORMAT)
    response = await request.run(body, purpose=COUNT_TOKENS)
    await request.respond(response.get("wire") or {"input_tokens": response["data"]["input_tokens"]})


def sse_event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()  # escaped: a lone surrogate from upstream encodes


class EventEncoder:
    """Service events as Anthropic's stream. A Claude target's own events (``wire``) are relayed as they came,
    and nothing else is sent; any other target's text and tool-call pieces become Anthropic's events:
    ``message_start``, a ``content_block_start``/``_delta``/``_stop`` run per text or tool call,
    ``message_delta`` with the stop reason and usage, ``message_stop``. A failure after the start is an
    ``error`` event, as Anthropic sends one."""

    def __init__(self, request_id: str) -> None:
        self.message_id = f"msg_{request_id}"
        self.relaying = False
        self.relayed_error = False
        self.started = False
        self.block: tuple[str, int] | None = None  # the open content block: ("text", -1) or ("tool", call)
        self.index = -1
        self.model = ""

    def __call__(self, event: dict[str, Any]) -> list[bytes]:
        kind = event["type"]
        if kind == "start":
            self.model = f"{event['provider']}/{event['model']}"
            return []
        if kind == "error":  # unless the provider's own error event was relayed already
            return [] if self.relayed_error else [sse_event("error", anthropic_error_from_envelope(event["error"]))]
        if kind == "wire":
            self.relaying = True
            self.relayed_error = self.relayed_error or event["event"] == "error"
            return [sse_event(event["event"], event["data"])]
        if self.relaying:
            return []  # the Claude target's own events said it all
        return self._translated(event)

    def _start(self, response: dict[str, Any] | None = None) -> list[bytes]:
        if self.started:
            return []
        self.started = True
        model = f"{response['provider']}/{response['model']}" if response else self.model
        return [sse_event("message_start", {"type": "message_start", "message": {
            "id": self.message_id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0}}})]

    def _open(self, block: tuple[str, int], content_block: dict[str, Any]) -> list[bytes]:
        if self.block == block:
            return []
        lines = self._close()
        self.index += 1
        self.block = block
        return lines + [sse_event("content_block_start", {"type": "content_block_start", "index": self.index,
                                                          "content_block": content_block})]

    def _close(self) -> list[bytes]:
        if self.block is None:
            return []
        self.block = None
        return [sse_event("content_block_stop", {"type": "content_block_stop", "index": self.index})]

    def _delta(self, delta: dict[str, Any]) -> bytes:
        return sse_event("content_block_delta", {"type": "content_block_delta", "index": self.index, "delta": delta})

    def _translated(self, event: dict[str, Any]) -> list[bytes]:
        kind = event["type"]
        if kind == "delta" and event["text"]:
            return [*self._start(), *self._open(("text", -1), {"type": "text", "text": ""}),
                    self._delta({"type": "text_delta", "text": event["text"]})]
        if kind == "tool_call":
            opened = self._open(("tool", event["call"]), {"type": "tool_use", "id": event.get("id") or "",
                                                          "name": event.get("name") or "", "input": {}})
            piece = [self._delta({"type": "input_json_delta", "partial_json": event["arguments"]})] \
                if event["arguments"] else []
            return [*self._start(), *opened, *piece]
        if kind == "done":
            return self._done(event["response"])
        return []

    def _done(self, response: dict[str, Any]) -> list[bytes]:
        """The end; a target that answered whole (a plugin, a structured answer) sends its blocks here."""
        lines = self._start(response)
        if self.index < 0:  # nothing streamed: the whole answer at once
            message = message_object(response, self.message_id)
            for block in message["content"]:
                if block["type"] == "text":
                    lines += self._open(("text", -1), {"type": "text", "text": ""})
                    lines.append(self._delta({"type": "text_delta", "text": block["text"]}))
                else:
                    lines += self._open(("tool", self.index + 1), {**block, "input": {}})
                    lines.append(self._delta({"type": "input_json_delta", "partial_json": json.dumps(block["input"])}))
        answer = response["data"]["responses"][0]
        usage = usage_object(response["tokens_used"])
        return lines + self._close() + [
            sse_event("message_delta", {"type": "message_delta", "delta": {
                "stop_reason": STOP_REASONS.get(answer["finish_reason"], "end_turn"), "stop_sequence": None},
                "usage": usage}),
            sse_event("message_stop", {"type": "message_stop"})]

