"""A local server that speaks Anthropic's documented Messages API wire format, for testing the adapter
through the real ``anthropic`` SDK. It checks what the SDK sends (path, key header, ``anthropic-version``,
content type, body shape, image blocks against their bytes, tool turns against each other) and answers with
documented payloads, or with what a test scripted: an error status and body, headers such as Retry-After, a
slow answer, or a stream of events of its own.

Documented shapes (https://docs.anthropic.com/en/api/messages, /en/api/messages-streaming, /en/api/errors,
/en/docs/agents-and-tools/tool-use): a Message ``{"id", "type": "message", "role": "assistant", "model",
"content": [text | tool_use blocks], "stop_reason", "stop_sequence", "usage": {"input_tokens",
"output_tokens"}}``; stream events ``message_start``, ``content_block_start``, ``ping``,
``content_block_delta`` (``text_delta``, ``input_json_delta``), ``content_block_stop``, ``message_delta``
(``stop_reason``, cumulative ``usage.output_tokens``), ``message_stop``; errors ``{"type": "error", "error":
{"type", "message"}, "request_id"}``.

Tools: ``tools`` ``[{name, description?, input_schema: {type: object, ...}}]``; ``tool_choice`` ``{type: auto |
any | tool (with name) | none}``, all but none with ``disable_parallel_tool_use``; an assistant's calls are
``tool_use`` blocks ``{id, name, input}``, and the next message (a user's) answers every one of them with
``tool_result`` blocks ``{tool_use_id, content?, is_error?}`` that come first in it. A result that answers no
call of the message before it, or a call left unanswered, is the API's 400 invalid_request_error.

Keys: the API reads ``x-api-key`` or ``Authorization: Bearer`` (the SDK's 2.x releases send the latter).
Versions: ``2023-06-01`` and ``2026-10-21``; the latter refuses temperature, top_p and top_k at any value.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.wire import ScriptedAnswer, WireError, WireFake, check, word_count

GOOD_KEY = "sk-ant-api03-fake-anthropic-key-0123456789"
VERSIONS = {"2023-06-01", "2026-10-21"}
SAMPLING = ("temperature", "top_p", "top_k")
BODY_KEYS = {"model", "max_tokens", "messages", "system", "stop_sequences", "stream", "tools", "tool_choice",
             "metadata", "thinking", "service_tier", "context_management", "container", "mcp_servers", "output_config",
             *SAMPLING}
COUNT_KEYS = {"model", "messages", "system", "tools", "tool_choice", "thinking"}
CACHED = 7  # what the fake says it read from its prompt cache when a request marks a block with cache_control
MEDIA_TYPES = {"image/png": (b"\x89PNG\r\n\x1a\n",), "image/jpeg": (b"\xff\xd8\xff",),
               "image/gif": (b"GIF87a", b"GIF89a"), "image/webp": (b"RIFF",)}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32  # enough of a PNG for type sniffing, here and in the gateway
TOOL_KEYS = {"type", "name", "description", "input_schema", "strict", "cache_control"}
SERVER_TOOL = re.compile(r"^web_search_\d{8}$")
SERVER_TOOL_KEYS = {"type", "name", "max_uses", "allowed_domains", "blocked_domains", "user_location", "cache_control"}
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
TOOL_USE_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
CHOICE_KEYS = {"auto": {"type", "disable_parallel_tool_use"}, "any": {"type", "disable_parallel_tool_use"},
               "tool": {"type", "name", "disable_parallel_tool_use"}, "none": {"type"}}
# The blocks each role's content may hold, with the keys each takes (required, allowed).
BLOCKS = {"user": {"text": ({"type", "text"}, {"type", "text", "cache_control"}),
                   "image": ({"type", "source"}, {"type", "source", "cache_control"}),
                   "document": ({"type", "source"}, {"type", "source", "title", "context", "citations",
                                                     "cache_control"}),
                   "tool_result": ({"type", "tool_use_id"},
                                   {"type", "tool_use_id", "content", "is_error", "cache_control"})},
          "assistant": {"text": ({"type", "text"}, {"type", "text", "cache_control"}),
                        "tool_use": ({"type", "id", "name", "input"}, {"type", "id", "name", "input", "cache_control"}),
                        "thinking": ({"type", "thinking", "signature"}, {"type", "thinking", "signature"}),
                        "redacted_thinking": ({"type", "data"}, {"type", "data"})}}


@dataclass
class Scripted(ScriptedAnswer):
    events: list[tuple[str, dict[str, Any]]] | None = None  # a stream of (event, data) to send instead
    event_delay_s: float = 0.0  # a pause before each streamed event


@dataclass
class Turn:
    """What the fake reads of one message: its texts (a tool result's among them), how many images, the
    ids of its ``tool_use`` blocks and the calls its ``tool_result`` blocks answer."""

    role: str
    texts: list[str] = field(default_factory=list)
    images: int = 0
    uses: list[str] = field(default_factory=list)
    results: list[str] = field(default_factory=list)


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes = b""  # the body's bytes as they came


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
            Route("/v1/messages/count_tokens", self._messages, methods=["POST"]),
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
        self.received.append(Received(request.method, request.url.path, headers, body, raw))
        if self._key(headers) not in self.keys:
            return JSONResponse(error_body("invalid x-api-key", "authentication_error"), status_code=401)
        version = headers.get("anthropic-version")
        if version not in VERSIONS:
            return JSONResponse(error_body(f"anthropic-version: {version!r} is not a valid version"), status_code=400)
        if (scripted := await self.scripted_next(self._key(headers))) is not None:
            if scripted.events is not None:
                return self._sse(scripted.events, scripted.event_delay_s)
            if (response := scripted.response()) is not None:
                return response
        try:
            if request.url.path.endswith("/count_tokens"):
                return self._count(body, version)
            return self._answer(body, version)
        except WireError as exc:
            return JSONResponse(error_body(f"fake server: {exc}"), status_code=400)

    # -- documented answers -------------------------------------------------------------------------

    @staticmethod
    def _image_check(block: dict[str, Any]) -> None:
        source = block["source"]
        if source.get("type") == "url":  # Anthropic fetches it: this fake only checks its shape
            check(set(source) == {"type", "url"} and str(source["url"]).startswith(("http://", "https://")),
                  f"bad url image source {source}")
            return
        check(source.get("type") == "base64" and source.get("media_type") in MEDIA_TYPES,
              f"bad image source {source.get('type')} {source.get('media_type')}")
        try:
            data = base64.b64decode(source["data"], validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise WireError("image data is not base64") from None
        check(data.startswith(MEDIA_TYPES[source["media_type"]]),
              f"image data does not match media_type {source['media_type']}")

    @staticmethod
    def _result_texts(block: dict[str, Any]) -> list[str]:
        content = block.get("content", "")
        if isinstance(content, str):
            return [content]
        check(isinstance(content, list) and all(isinstance(part, dict) and part.get("type") == "text"
                                                and isinstance(part.get("text"), str) for part in content),
              f"bad tool_result content {content}")
        return [part["text"] for part in content]

    @staticmethod
    def _turn(message: Any) -> Turn:
        check(isinstance(message, dict) and set(message) == {"role", "content"}
              and message["role"] in ("user", "assistant", "system"), f"bad message {message}")
        if message["role"] == "system":  # a system turn among the others (as Claude Code sends them)
            return Turn("system", texts=[FakeAnthropic._system(message["content"])])
        turn, content = Turn(message["role"]), message["content"]
        if isinstance(content, str):
            turn.texts.append(content)
            return turn
        check(isinstance(content, list) and content, "content must be a string or a non-empty array of blocks")
        for i, block in enumerate(content):
            kind = block.get("type") if isinstance(block, dict) else None
            required, allowed = BLOCKS[turn.role].get(kind, (None, set()))
            check(required is not None and required <= set(block) <= allowed, f"bad {turn.role} block {block}")
            check(kind != "tool_result" or all(b["type"] == "tool_result" for b in content[:i]),
                  f"content.{i}: tool_result blocks must come first in a user message")
            if kind == "text":
                check(isinstance(block["text"], str), f"bad block {block}")
                turn.texts.append(block["text"])
            elif kind == "image":
                FakeAnthropic._image_check(block)
                turn.images += 1
            elif kind in ("thinking", "redacted_thinking", "document"):
                check(kind == "document" or all(isinstance(v, str) for v in block.values()), f"bad {kind} {block}")
            elif kind == "tool_use":
                check(isinstance(block["id"], str) and TOOL_USE_ID.match(block["id"]) is not None,
                      f"content.{i}.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'")
                check(isinstance(block["name"], str) and isinstance(block["input"], dict), f"bad tool_use {block}")
                turn.uses.append(block["id"])
            else:
                check(isinstance(block["tool_use_id"], str) and isinstance(block.get("is_error", False), bool),
                      f"bad tool_result {block}")
                turn.texts += FakeAnthropic._result_texts(block)
                turn.results.append(block["tool_use_id"])
        return turn

    @staticmethod
    def _turns(messages: Any) -> list[Turn]:
        """The messages' turns, each tool result answering a call of the message right before it and each
        call answered in the message right after it, as the API requires (its 400 messages)."""
        check(isinstance(messages, list) and messages, "messages: at least one message is required")
        turns = [FakeAnthropic._turn(message) for message in messages]
        for i, turn in enumerate(turns):
            called = turns[i - 1].uses if i else []
            unexpected = [call for call in turn.results if call not in called]
            check(not unexpected, f"messages.{i}: unexpected `tool_use_id` found in `tool_result` blocks: "
                                  f"{', '.join(unexpected)}. Each `tool_result` block must have a corresponding "
                                  "`tool_use` block in the previous message.")
            unanswered = [call for call in called if call not in turn.results]
            check(not unanswered, f"messages.{i - 1}: `tool_use` ids were found without `tool_result` blocks "
                                  f"immediately after: {', '.join(unanswered)}. Each `tool_use` block must have a "
                                  "corresponding `tool_result` block in the next message.")
        return turns

    @staticmethod
    def _tools_check(body: dict[str, Any]) -> None:
        tools = body.get("tools")
        if tools is None:
            check("tool_choice" not in body, "tool_choice: only with tools")
            return
        check(isinstance(tools, list) and tools, "tools: must be a non-empty array")
        names = set()
        for tool in tools:
            if isinstance(tool, dict) and SERVER_TOOL.match(str(tool.get("type"))):  # Anthropic runs it (web search)
                check(set(tool) <= SERVER_TOOL_KEYS and tool.get("name") == "web_search", f"bad server tool {tool}")
                names.add(tool["name"])
                continue
            check(isinstance(tool, dict) and set(tool) <= TOOL_KEYS and tool.get("type", "custom") == "custom",
                  f"bad tool {tool}")
            check(isinstance(tool.get("name"), str) and TOOL_NAME.match(tool["name"]) is not None
                  and tool["name"] not in names, f"tools: bad or repeated name {tool.get('name')!r}")
            check(isinstance(tool.get("input_schema"), dict) and tool["input_schema"].get("type") == "object",
                  f"tools.{tool['name']}.input_schema: must be a JSON Schema of type object")
            check(isinstance(tool.get("description", ""), str) and isinstance(tool.get("strict", False), bool),
                  f"bad tool {tool}")
            names.add(tool["name"])
        choice = body.get("tool_choice", {"type": "auto"})
        kind = choice.get("type") if isinstance(choice, dict) else None
        check(kind in CHOICE_KEYS and set(choice) <= CHOICE_KEYS[kind] and (kind != "tool" or choice.get("name") in names)
              and isinstance(choice.get("disable_parallel_tool_use", False), bool), f"bad tool_choice {choice}")

    def _check_body(self, body: Any, version: str, keys: set[str] = BODY_KEYS) -> tuple[list[str], int, Turn]:
        """The texts (the system's first), how many images, and the last user turn."""
        check(isinstance(body, dict) and set(body) <= keys, f"unknown keys {sorted(set(body) - keys)}")
        check(isinstance(body.get("model"), str), "model: Field required")
        check(keys is COUNT_KEYS or isinstance(body.get("max_tokens"), int) and body["max_tokens"] >= 1,
              "max_tokens: Field required")
        for name in SAMPLING:
            if name in body:
                check(version != "2026-10-21", f"{name}: Extra inputs are not permitted")
                check(isinstance(body[name], (int, float)) and 0 <= body[name] <= 1, f"{name}: must be in [0, 1]")
        turns = self._turns(body.get("messages"))
        system = self._system(body.get("system", ""))
        stop = body.get("stop_sequences", [])
        check(isinstance(stop, list) and all(isinstance(s, str) and s for s in stop), "bad stop_sequences")
        check(all(s.strip() for s in stop), "stop_sequences: each stop sequence must contain non-whitespace")
        self._tools_check(body)
        users = [turn for turn in turns if turn.role == "user"]
        texts = [system, *(text for turn in turns for text in turn.texts)]
        return texts, sum(turn.images for turn in turns), users[-1] if users else Turn("user")

    @staticmethod
    def _system(system: Any) -> str:
        """``system``: a string, or text blocks (which may carry cache_control)."""
        if isinstance(system, str):
            return system
        check(isinstance(system, list) and all(isinstance(b, dict) and b.get("type") == "text"
                                                and isinstance(b.get("text"), str)
                                                and set(b) <= {"type", "text", "cache_control"} for b in system),
              "system: must be a string or an array of text blocks")
        return "\n".join(block["text"] for block in system)

    @staticmethod
    def _cached(body: dict[str, Any]) -> int:
        """The fake's prompt cache: a request that marks any block with cache_control reads CACHED tokens."""
        return CACHED if "cache_control" in json.dumps(body) else 0

    def _count(self, body: Any, version: str) -> Response:
        """count_tokens: the fake's count of the request's texts (a word a token) and images."""
        texts, images, _ = self._check_body(body, version, COUNT_KEYS)
        return JSONResponse({"input_tokens": sum(word_count(t) for t in texts) + 85 * images})

    @staticmethod
    def _tools_call(body: dict[str, Any], last: Turn) -> list[tuple[str, Any]]:
        """The fake's tool calls (name, input), as the OpenAI fake makes them: with tools offered (tool_choice
        not none) and no tool results in the last user turn, it calls the tool ``tool_choice`` names, else
        each tool offered, in parallel, or only the first with ``disable_parallel_tool_use``, with ``{"query":
        <the last text>}``. One tool offered and forced is how Infergate asks for a structured answer: that
        call's input is a value of the tool's schema."""
        tools = body.get("tools") or []
        choice = body.get("tool_choice", {"type": "auto"})
        if not tools or choice["type"] == "none" or last.results:
            return []
        text = last.texts[-1] if last.texts else ""
        if choice["type"] == "tool" and len(tools) == 1:
            return [(tools[0]["name"], _instance(tools[0]["input_schema"], text))]
        chosen = [choice["name"]] if choice["type"] == "tool" else [tool["name"] for tool in tools]
        if choice.get("disable_parallel_tool_use"):
            chosen = chosen[:1]
        return [(name, {"query": text}) for name in chosen]

    def _answer(self, body: Any, version: str) -> Response:
        """Tool calls (``_tools_call``), else text: ``echo:`` the last user text, or after tool results the
        texts of that turn (the results', then any text of the user's), joined by ``; ``."""
        texts, images, last = self._check_body(body, version)
        input_tokens = sum(word_count(t) for t in texts) + 85 * images
        message_id = f"msg_fake{next(self._ids)}"
        if calls := self._tools_call(body, last):
            return self._tool_answer(body, message_id, calls, input_tokens)
        said = "; ".join(last.texts) if last.results else (last.texts[-1] if last.texts else "")
        answer = f"echo: {said}" + (f" [{images} images]" if images else "")
        words = answer.split(" ")[: body["max_tokens"]]
        stop_reason = "max_tokens" if len(words) < len(answer.split(" ")) else "end_turn"
        answer = " ".join(words)
        if body.get("stream"):
            return self._sse(self._events(message_id, body["model"], words, stop_reason, input_tokens,
                                          self._cached(body)))
        return JSONResponse(self._message(message_id, body["model"], [{"type": "text", "text": answer}],
                                          stop_reason, input_tokens, len(words), self._cached(body)))

    def _tool_answer(self, body: dict[str, Any], message_id: str, calls: list[tuple[str, Any]],
                     input_tokens: int) -> Response:
        """Documented tool-use answers: ``tool_use`` blocks with stop_reason tool_use; streamed, each block
        starts with an empty ``input`` and its input's JSON follows in two ``input_json_delta`` pieces."""
        blocks = [{"type": "tool_use", "id": f"toolu_{message_id[len('msg_'):]}_{i}", "name": name, "input": value}
                  for i, (name, value) in enumerate(calls)]
        output_tokens = sum(word_count(json.dumps(block["input"])) for block in blocks)
        if not body.get("stream"):
            return JSONResponse(self._message(message_id, body["model"], blocks, "tool_use", input_tokens,
                                              output_tokens))
        pieces = []
        for block in blocks:
            arguments = json.dumps(block["input"])
            half = len(arguments) // 2
            pieces.append(({**block, "input": {}}, [{"type": "input_json_delta", "partial_json": part}
                                                    for part in (arguments[:half], arguments[half:])]))
        return self._sse(self._block_events(message_id, body["model"], pieces, "tool_use", input_tokens,
                                            output_tokens))

    @staticmethod
    def _message(message_id: str, model: str, content: list, stop_reason: str, input_tokens: int,
                 output_tokens: int, cached: int = 0) -> dict[str, Any]:
        return {"id": message_id, "type": "message", "role": "assistant", "model": model, "content": content,
                "stop_reason": stop_reason, "stop_sequence": None,
                "usage": {"input_tokens": max(0, input_tokens - cached), "output_tokens": output_tokens,
                          "cache_creation_input_tokens": 0, "cache_read_input_tokens": cached}}

    @staticmethod
    def _events(message_id: str, model: str, words: list[str], stop_reason: str,
                input_tokens: int, cached: int = 0) -> list[tuple[str, dict[str, Any]]]:
        """A streamed text answer: one text block, a delta a word (tests script streams of their own with it)."""
        deltas = [{"type": "text_delta", "text": (" " if i else "") + word} for i, word in enumerate(words)]
        return FakeAnthropic._block_events(message_id, model, [({"type": "text", "text": ""}, deltas)], stop_reason,
                                           input_tokens, len(words), cached)

    @staticmethod
    def _block_events(message_id: str, model: str, blocks: list[tuple[dict[str, Any], list[dict[str, Any]]]],
                      stop_reason: str, input_tokens: int, output_tokens: int,
                      cached: int = 0) -> list[tuple[str, dict[str, Any]]]:
        """A streamed message: each content block's start, its deltas and its stop (a ping after the first
        start), then the stop reason with the output tokens."""
        start = FakeAnthropic._message(message_id, model, [], None, input_tokens, 1, cached)
        events = [("message_start", {"type": "message_start", "message": start})]
        for index, (block, deltas) in enumerate(blocks):
            events.append(("content_block_start", {"type": "content_block_start", "index": index,
                                                   "content_block": block}))
            if index == 0:
                events.append(("ping", {"type": "ping"}))
            events += [("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
                       for delta in deltas]
            events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        events += [("message_delta", {"type": "message_delta",
                                      "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                                      "usage": {"output_tokens": output_tokens}}),
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
