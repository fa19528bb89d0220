"""A local server that speaks Anthropic's documented Messages API wire format, for testing the adapter
through the real ``anthropic`` SDK. It checks what the SDK sends (path, key header, ``anthropic-version``,
content type, body shape, image blocks against their bytes) and answers with documented payloads, or
with what a test scripted: an error status and body, headers such as Retry-After, a slow answer, or a
stream of events of its own.

Documented shapes (https://docs.anthropic.com/en/api/messages, /en/api/messages-streaming, /en/api/errors):
a Message ``{"id", "type": "message", "role": "assistant", "model", "content": [text | tool_use blocks],
"stop_reason", "stop_sequence", "usage": {"input_tokens", "output_tokens"}}``; stream events
``message_start``, ``content_block_start``, ``ping``, ``content_block_delta`` (``text_delta``),
``content_block_stop``, ``message_delta`` (``stop_reason``, cumulative ``usage.output_tokens``),
``message_stop``; errors ``{"type": "error", "error": {"type", "message"}, "request_id"}``.

Keys: the API reads ``x-api-key`` or ``Authorization: Bearer`` (the SDK's 2.x releases send the latter).
Versions: ``2023-06-01`` and ``2026-10-21``; the latter refuses temperature, top_p and top_k at any value.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import json
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.wire import ScriptedAnswer, WireError, WireFake, check, word_count

GOOD_KEY = "sk-ant-api03-fake-anthropic-key-0123456789"
VERSIONS = {"2023-06-01", "2026-10-21"}
SAMPLING = ("temperature", "top_p", "top_k")
BODY_KEYS = {"model", "max_tokens", "messages", "system", "stop_sequences", "stream", "tools", "tool_choice",
             "metadata", "thinking", "service_tier", *SAMPLING}
MEDIA_TYPES = {"image/png": (b"\x89PNG\r\n\x1a\n",), "image/jpeg": (b"\xff\xd8\xff",),
               "image/gif": (b"GIF87a", b"GIF89a"), "image/webp": (b"RIFF",)}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32  # enough of a PNG for type sniffing, here and in the gateway


@dataclass
class Scripted(ScriptedAnswer):
    events: list[tuple[str, dict[str, Any]]] | None = None  # a stream of (event, data) to send instead
    event_delay_s: float = 0.0  # a pause before each streamed event


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


def error_body(message: str, type_: str = "invalid_request_error") -> dict[str, Any]:
    return {"type": "error", "error": {"type": type_, "message": message}, "request_id": "req_fake"}


def _instance(schema: Any, text: str) -> Any:
    """A value of a JSON schema's shape, for the default answer to a forced tool call."""
    kind = schema.get("type") if isinstance(schema, dict) else None
    if kind == "object":
        return {name: _instance(sub, text) for name, sub in (schema.get("properties") or {}).items()}
    return {"string": text, "integer": word_count(text), "number": float(word_count(text)), "boolean": True,
            "array": []}.get(kind)


class FakeAnthropic(WireFake):
    def __init__(self) -> None:
        super().__init__(name="fake-anthropic", key=GOOD_KEY, routes=[
            Route("/v1/messages", self._messages, methods=["POST"]),
            Route("/images/{name}", self._image, methods=["GET"]),
        ])
        self.images: dict[str, bytes] = {"/images/dot.png": PNG}
        self.streams = {"completed": 0, "cut": 0}  # streams sent to the end, and streams the client left
        self._ids = itertools.count(1)

    def reset(self) -> None:
        super().reset()
        self.streams = {"completed": 0, "cut": 0}

    def requests(self, path: str = "/v1/messages") -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def _image(self, request: Request) -> Response:
        self.received.append(Received(request.method, request.url.path, dict(request.headers), None))
        data = self.images.get(request.url.path)
        return Response(data, media_type="image/png") if data else Response(status_code=404)

    @staticmethod
    def _key(headers: dict[str, str]) -> str:
        if "x-api-key" in headers:  # the API prefers it when both are sent
            return headers["x-api-key"]
        auth = headers.get("authorization", "")
        return auth[len("Bearer "):] if auth.startswith("Bearer ") else ""

    async def _messages(self, request: Request) -> Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        raw = await request.body()
        try:
            check(headers.get("content-type", "").startswith("application/json"), "content type must be JSON")
            body = json.loads(raw)
        except (WireError, ValueError) as exc:
            return JSONResponse(error_body(f"fake server: {exc}"), status_code=400)
        self.received.append(Received(request.method, request.url.path, headers, body))
        if self._key(headers) not in self.keys:
            return JSONResponse(error_body("invalid x-api-key", "authentication_error"), status_code=401)
        version = headers.get("anthropic-version")
        if version not in VERSIONS:
            return JSONResponse(error_body(f"anthropic-version: {version!r} is not a valid version"), status_code=400)
        if (scripted := await self.scripted_next()) is not None:
            if scripted.events is not None:
                return self._sse(scripted.events, scripted.event_delay_s)
            if (response := scripted.response()) is not None:
                return response
        try:
            return self._answer(body, version)
        except WireError as exc:
            return JSONResponse(error_body(f"fake server: {exc}"), status_code=400)

    # -- documented answers -------------------------------------------------------------------------

    @staticmethod
    def _content(content: Any) -> tuple[list[str], int]:
        if isinstance(content, str):
            return [content], 0
        check(isinstance(content, list) and content, "content must be a string or a non-empty array of blocks")
        texts, images = [], 0
        for block in content:
            if block.get("type") == "text":
                check(set(block) <= {"type", "text"} and isinstance(block.get("text"), str), f"bad block {block}")
                texts.append(block["text"])
                continue
            check(block.get("type") == "image" and set(block) == {"type", "source"}, f"bad block {block}")
            source = block["source"]
            if source.get("type") == "url":  # Anthropic fetches it: this fake only checks its shape
                check(set(source) == {"type", "url"} and str(source["url"]).startswith(("http://", "https://")),
                       f"bad url image source {source}")
                images += 1
                continue
            check(source.get("type") == "base64" and source.get("media_type") in MEDIA_TYPES,
                   f"bad image source {source.get('type')} {source.get('media_type')}")
            try:
                data = base64.b64decode(source["data"], validate=True)
            except (binascii.Error, ValueError, TypeError):
                raise WireError("image data is not base64") from None
            check(data.startswith(MEDIA_TYPES[source["media_type"]]),
                   f"image data does not match media_type {source['media_type']}")
            images += 1
        return texts, images

    def _check_body(self, body: Any, version: str) -> tuple[list[str], int, str]:
        check(isinstance(body, dict) and set(body) <= BODY_KEYS, f"unknown keys {sorted(set(body) - BODY_KEYS)}")
        check(isinstance(body.get("model"), str), "model: Field required")
        check(isinstance(body.get("max_tokens"), int) and body["max_tokens"] >= 1, "max_tokens: Field required")
        for name in SAMPLING:
            if name in body:
                check(version != "2026-10-21", f"{name}: Extra inputs are not permitted")
                check(isinstance(body[name], (int, float)) and 0 <= body[name] <= 1, f"{name}: must be in [0, 1]")
        messages = body.get("messages")
        check(isinstance(messages, list) and messages, "messages: at least one message is required")
        texts, images, last_user = [], 0, ""
        for message in messages:
            check(set(message) == {"role", "content"} and message["role"] in ("user", "assistant"),
                   f"bad message {message}")
            found, pictures = self._content(message["content"])
            texts += found
            images += pictures
            if message["role"] == "user":
                last_user = found[-1] if found else ""
        system = body.get("system", "")
        check(isinstance(system, str), "this fake takes system as a string")
        stop = body.get("stop_sequences", [])
        check(isinstance(stop, list) and all(isinstance(s, str) and s for s in stop), "bad stop_sequences")
        check(all(s.strip() for s in stop), "stop_sequences: each stop sequence must contain non-whitespace")
        tools = body.get("tools", [])
        for tool in tools:
            check(isinstance(tool.get("name"), str) and tool.get("input_schema", {}).get("type") == "object",
                   f"bad tool {tool}")
        choice = body.get("tool_choice")
        if choice is not None:
            check(choice.get("type") == "tool" and choice.get("name") in {t["name"] for t in tools},
                   f"bad tool_choice {choice}")
        return [system, *texts], images, last_user

    def _answer(self, body: Any, version: str) -> Response:
        texts, images, last = self._check_body(body, version)
        input_tokens = sum(word_count(t) for t in texts) + 85 * images
        message_id = f"msg_fake{next(self._ids)}"
        if body.get("tool_choice"):
            tool = next(t for t in body["tools"] if t["name"] == body["tool_choice"]["name"])
            value = _instance(tool["input_schema"], last)
            content = [{"type": "tool_use", "id": "toolu_fake", "name": tool["name"], "input": value}]
            return JSONResponse(self._message(message_id, body["model"], content, "tool_use", input_tokens,
                                              word_count(json.dumps(value))))
        answer = f"echo: {last}" + (f" [{images} images]" if images else "")
        words = answer.split(" ")[: body["max_tokens"]]
        stop_reason = "max_tokens" if len(words) < len(answer.split(" ")) else "end_turn"
        answer = " ".join(words)
        if body.get("stream"):
            return self._sse(self._events(message_id, body["model"], words, stop_reason, input_tokens))
        return JSONResponse(self._message(message_id, body["model"], [{"type": "text", "text": answer}],
                                          stop_reason, input_tokens, len(words)))

    @staticmethod
    def _message(message_id: str, model: str, content: list, stop_reason: str, input_tokens: int,
                 output_tokens: int) -> dict[str, Any]:
        return {"id": message_id, "type": "message", "role": "assistant", "model": model, "content": content,
                "stop_reason": stop_reason, "stop_sequence": None,
                "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens,
                          "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}

    @staticmethod
    def _events(message_id: str, model: str, words: list[str], stop_reason: str,
                input_tokens: int) -> list[tuple[str, dict[str, Any]]]:
        start = FakeAnthropic._message(message_id, model, [], None, input_tokens, 1)
        events = [("message_start", {"type": "message_start", "message": start}),
                  ("content_block_start", {"type": "content_block_start", "index": 0,
                                           "content_block": {"type": "text", "text": ""}}),
                  ("ping", {"type": "ping"})]
        events += [("content_block_delta", {"type": "content_block_delta", "index": 0,
                                            "delta": {"type": "text_delta", "text": (" " if i else "") + word}})
                   for i, word in enumerate(words)]
        events += [("content_block_stop", {"type": "content_block_stop", "index": 0}),
                   ("message_delta", {"type": "message_delta",
                                      "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                                      "usage": {"output_tokens": len(words)}}),
                   ("message_stop", {"type": "message_stop"})]
        return events

    def _sse(self, events: list[tuple[str, dict[str, Any]]], delay_s: float = 0.0) -> StreamingResponse:
        async def emit():
            sent = 0
            try:
                for name, data in events:
                    if delay_s:
                        await asyncio.sleep(delay_s)
                    yield f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
                    sent += 1
            finally:
                self.streams["completed" if sent == len(events) else "cut"] += 1

        return StreamingResponse(emit(), media_type="text/event-stream")
