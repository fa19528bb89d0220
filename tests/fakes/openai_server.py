"""A local server that speaks OpenAI's documented wire format, for testing adapters through the real
``openai`` SDK. It checks what the SDK sends (path, auth header, content type, body shape) and answers
with documented payloads, or with what a test scripted: an error status and body, headers such as
Retry-After, or a slow answer.

Documented shapes: https://platform.openai.com/docs/api-reference (chat/create, embeddings/create,
audio/createTranscription, responses/create and its streaming events, responses/get, delete, cancel and
input_items, and the error object
``{"error": {"message", "type", "param", "code"}}``); the SDK's own types (openai/types/responses) for the
Responses objects and events.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.wire import ScriptedAnswer, WireError, WireFake, check, unit_vector, word_count

GOOD_KEY = "sk-test-fake-openai-key-1234567890"
CHAT_KEYS = {"model", "messages", "temperature", "top_p", "stop", "seed", "max_tokens", "max_completion_tokens",
             "response_format", "n", "stream", "stream_options", "user", "reasoning_effort", "frequency_penalty",
             "presence_penalty", "logit_bias", "logprobs", "top_logprobs", "parallel_tool_calls", "service_tier",
             "metadata", "store", "prompt_cache_key", "safety_identifier", "verbosity", "tools", "tool_choice"}
REASONING = {"minimal": 0, "low": 2, "medium": 4, "high": 8}  # the fake's reasoning tokens by effort
ROLES = {"system", "developer", "user", "assistant", "tool"}
CHOICES = ("auto", "none", "required")
EMBEDDING_DIMENSIONS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072,
                        "text-embedding-ada-002": 1536}


Scripted = ScriptedAnswer  # what the OpenAI tests script: no streams of their own


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # decoded JSON, or {"fields": {...}, "files": {name: (filename, content_type, bytes)}}
    raw: bytes = b""  # the body's bytes as they came


@dataclass
class FailedStream(ScriptedAnswer):
    """A Responses stream that starts and then fails, as OpenAI's do: ``response.created``,
    ``response.in_progress``, then ``response.failed`` carrying ``error`` {code, message}."""

    code: str = "server_error"
    message: str = "The model failed."
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> StreamingResponse:
        snapshot = {"id": "resp_fakefailed", "object": "response", "created_at": int(time.time()),
                    "status": "in_progress", "model": "gpt-5.2", "output": [], "error": None,
                    "incomplete_details": None, "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
                    "usage": None}
        failed = {**snapshot, "status": "failed", "error": {"code": self.code, "message": self.message}}
        events = [("response.created", {"response": snapshot}), ("response.in_progress", {"response": snapshot}),
                  ("response.failed", {"response": failed})]
        return _sse([{"type": kind, "sequence_number": n, **fields} for n, (kind, fields) in enumerate(events)])


def error_body(message: str, type_: str = "invalid_request_error", code: str | None = None,
               param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


class FakeOpenAI(WireFake):
    def __init__(self) -> None:
        super().__init__(name="fake-openai", key=GOOD_KEY, url_path="/v1", routes=[
            Route("/v1/chat/completions", self._chat, methods=["POST"]),
            Route("/v1/embeddings", self._embeddings, methods=["POST"]),
            Route("/v1/audio/transcriptions", self._transcriptions, methods=["POST"]),
            Route("/v1/responses", self._responses, methods=["POST"]),
            Route("/v1/responses/{response_id}", self._stored, methods=["GET", "DELETE"]),
            Route("/v1/responses/{response_id}/cancel", self._stored, methods=["POST"]),
            Route("/v1/responses/{response_id}/input_items", self._stored, methods=["GET"]),
        ])
        self.stored: dict[str, list[dict[str, Any]]] = {}  # a stored response's id -> its conversation's items
        self.responses: dict[str, dict[str, Any]] = {}  # a stored response's id -> the response object
        self.inputs: dict[str, list[dict[str, Any]]] = {}  # a stored response's id -> the input items it had

    def reset(self) -> None:
        super().reset()
        self.stored.clear()
        self.responses.clear()
        self.inputs.clear()

    async def _stored(self, request: Request) -> JSONResponse:
        """A stored response, as responses/get, responses/delete, responses/cancel and responses/input_items
        answer: the object, its deletion, its cancellation (a background one only), its input items as a list.
        A background response is stored as done: it answers ``queued`` when created, ``completed`` when got."""
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.received.append(Received(request.method, request.url.path, headers, dict(request.query_params), b""))
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[len("Bearer "):] not in self.keys:
            return JSONResponse(error_body("Incorrect API key provided.", code="invalid_api_key"), status_code=401)
        response_id = request.path_params["response_id"]
        response = self.responses.get(response_id)
        if response is None:
            return JSONResponse(error_body(f"Response with id '{response_id}' not found.", param="response_id"),
                                status_code=404)
        if request.url.path.endswith("/input_items"):
            items = [{"id": item.get("id") or _item_id("msg"), **item} for item in self.inputs[response_id]]
            return JSONResponse({"object": "list", "data": items, "has_more": False,
                                 "first_id": items[0]["id"] if items else None,
                                 "last_id": items[-1]["id"] if items else None})
        if request.method == "DELETE":
            del self.responses[response_id], self.stored[response_id], self.inputs[response_id]
            return JSONResponse({"id": response_id, "object": "response", "deleted": True})
        if request.url.path.endswith("/cancel"):
            if not response["background"]:
                return JSONResponse(error_body("Only responses created with background=true can be cancelled."),
                                    status_code=400)
            response["status"] = "cancelled"
        return JSONResponse(response)

    def requests(self, path: str | None = None) -> list[Received]:
        return [r for r in self.received if path is None or r.path == path]

    async def _handle(self, request: Request, answer) -> JSONResponse:
        headers = {k.lower(): v for k, v in request.headers.items()}
        raw = await request.body()
        try:
            body = self._decode(headers, raw)
        except WireError as exc:
            return JSONResponse(error_body(f"fake server: {exc}"), status_code=400)
        self.received.append(Received(request.method, request.url.path, headers, body, raw))
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[len("Bearer "):] not in self.keys:
            # OpenAI's documented 401 quotes the key; the gateway must not pass it on.
            return JSONResponse(error_body(f"Incorrect API key provided: {auth[len('Bearer '):]}. You can find "
                                           "your API key at https://platform.openai.com/account/api-keys.",
                                           code="invalid_api_key"), status_code=401)
        scripted = await self.scripted_next(auth[len("Bearer "):])
        if scripted is not None and (response := scripted.response()) is not None:
            return response
        try:
            result = answer(body)
            return result if isinstance(result, Response) else JSONResponse(result)
        except WireError as exc:
            return JSONResponse(error_body(f"fake server: {exc}"), status_code=400)

    @staticmethod
    def _decode(headers: dict[str, str], raw: bytes) -> Any:
        content_type = headers.get("content-type", "")
        if content_type.startswith("application/json"):
            try:
                return json.loads(raw)
            except ValueError:
                raise WireError("body is not JSON") from None
        if content_type.startswith("multipart/form-data"):
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
            fields, files = {}, {}
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                filename = part.get_filename()
                if filename is not None:
                    files[name] = (filename, part.get_content_type(), part.get_payload(decode=True))
                else:
                    fields[name] = part.get_payload(decode=True).decode()
            return {"fields": fields, "files": files}
        raise WireError(f"unexpected content type {content_type!r}")

    # -- documented answers -------------------------------------------------------------------------

    async def _chat(self, request: Request) -> JSONResponse:
        return await self._handle(request, self._chat_answer)

    @staticmethod
    def _chat_answer(body: Any) -> dict[str, Any]:
        check(isinstance(body, dict) and set(body) <= CHAT_KEYS, f"unknown chat keys {sorted(set(body) - CHAT_KEYS)}")
        check(isinstance(body.get("model"), str), "model must be a string")
        messages = body.get("messages")
        check(isinstance(messages, list) and messages, "messages must be a non-empty array")
        texts, images, called = [], 0, set()
        for message in messages:
            check(isinstance(message, dict) and message.get("role") in ROLES, f"bad message {message}")
            if message["role"] == "assistant" and "tool_calls" in message:
                check(set(message) == {"role", "content", "tool_calls"}, f"bad assistant message {message}")
                called |= FakeOpenAI._tool_calls_check(message["tool_calls"])
                if message["content"] is None:
                    continue
            elif message["role"] == "tool":
                check(set(message) == {"role", "content", "tool_call_id"} and message["tool_call_id"] in called,
                      f"a tool message must answer an earlier call: {message}")
            else:
                check(set(message) == {"role", "content"}, f"bad message {message}")
            content = message["content"]
            if isinstance(content, str):
                texts.append(content)
                continue
            check(isinstance(content, list) and content, "content must be a string or an array of parts")
            for part in content:
                if part.get("type") == "text":
                    check(isinstance(part.get("text"), str), "text part needs text")
                    texts.append(part["text"])
                else:
                    check(part.get("type") == "image_url" and isinstance(part.get("image_url", {}).get("url"), str),
                           f"bad content part {part}")
                    images += 1
        if "response_format" in body:
            format_ = body["response_format"]
            check(format_.get("type") == "json_schema" and isinstance(format_["json_schema"].get("name"), str)
                   and isinstance(format_["json_schema"].get("schema"), dict), "bad response_format")
        for name in ("max_tokens", "max_completion_tokens", "seed"):
            check(name not in body or isinstance(body[name], int), f"{name} must be an integer")
        check(body.get("reasoning_effort", "low") in REASONING, "reasoning_effort must be minimal, low, medium or high")
        last = texts[-1] if texts else ""
        answer = f"echo: {last}" + (f" [{images} images]" if images else "")
        prompt_tokens = sum(word_count(t) for t in texts) + 85 * images
        calls = FakeOpenAI._tools_call(body, last)
        if calls:
            return FakeOpenAI._tool_answer(body, calls, prompt_tokens)
        if body.get("stream"):
            return FakeOpenAI._chat_stream(body, answer, prompt_tokens)
        return {
            "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer, "refusal": None},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": FakeOpenAI._usage(body, prompt_tokens, word_count(answer)),
        }

    @staticmethod
    def _tool_calls_check(calls: Any) -> set[str]:
        check(isinstance(calls, list) and calls, "tool_calls must be a non-empty array")
        for call in calls:
            check(isinstance(call, dict) and set(call) == {"id", "type", "function"} and call["type"] == "function"
                  and isinstance(call["id"], str) and set(call["function"]) == {"name", "arguments"}
                  and isinstance(call["function"]["arguments"], str), f"bad tool call {call}")
        return {call["id"] for call in calls}

    @staticmethod
    def _tools_call(body: dict[str, Any], last: str) -> list[dict[str, Any]]:
        """The fake's tool calls: with tools offered and the last turn a user's, it calls the tool
        ``tool_choice`` names, else (tool_choice not none) each tool offered, in parallel, or only the first
        with ``parallel_tool_calls: false``, with ``{"query": <the last text>}``. After a tool's result it
        answers text (the default answer echoes the result)."""
        tools = body.get("tools")
        if tools is None:
            check("tool_choice" not in body, "tool_choice without tools")
            return []
        check(isinstance(tools, list) and tools, "tools must be a non-empty array")
        for tool in tools:
            check(isinstance(tool, dict) and tool.get("type") == "function" and isinstance(tool.get("function"), dict)
                  and set(tool["function"]) <= {"name", "description", "parameters", "strict"}
                  and isinstance(tool["function"].get("name"), str), f"bad tool {tool}")
        names = [tool["function"]["name"] for tool in tools]
        choice = body.get("tool_choice", "auto")
        check(choice in CHOICES or (isinstance(choice, dict) and choice.get("type") == "function"
                                    and choice.get("function", {}).get("name") in names), f"bad tool_choice {choice}")
        if choice == "none" or body["messages"][-1]["role"] != "user":
            return []
        chosen = [choice["function"]["name"]] if isinstance(choice, dict) else names
        if body.get("parallel_tool_calls") is False:
            chosen = chosen[:1]
        return [{"id": f"call_{i}_{name}", "type": "function",
                 "function": {"name": name, "arguments": json.dumps({"query": last})}} for i, name in enumerate(chosen)]

    @staticmethod
    def _tool_answer(body: dict[str, Any], calls: list[dict[str, Any]], prompt_tokens: int) -> Any:
        """Documented tool-call answers: ``message.tool_calls`` with finish_reason tool_calls; streamed, a chunk
        naming each call (id, type, function name, empty arguments) then its arguments in two pieces."""
        usage = FakeOpenAI._usage(body, prompt_tokens, 5 * len(calls))
        if not body.get("stream"):
            return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                    "model": body["model"], "usage": usage,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": None, "refusal": None,
                                                         "tool_calls": calls},
                                 "logprobs": None, "finish_reason": "tool_calls"}]}
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": None}]
        for i, call in enumerate(calls):
            arguments = call["function"]["arguments"]
            half = len(arguments) // 2
            deltas.append({"tool_calls": [{"index": i, "id": call["id"], "type": "function",
                                           "function": {"name": call["function"]["name"], "arguments": ""}}]})
            deltas += [{"tool_calls": [{"index": i, "function": {"arguments": piece}}]}
                       for piece in (arguments[:half], arguments[half:])]
        return FakeOpenAI._chunks(body, deltas, "tool_calls", usage)

    @staticmethod
    def _usage(body: dict[str, Any], prompt_tokens: int, answer_tokens: int) -> dict[str, Any]:
        """OpenAI's usage object. With ``prompt_cache_key`` the fake says half the prompt came from its cache;
        with ``reasoning_effort``, that the model reasoned (tokens counted in the completion, as OpenAI does)."""
        reasoning = REASONING[body["reasoning_effort"]] if "reasoning_effort" in body else 0
        completion = answer_tokens + reasoning
        return {"prompt_tokens": prompt_tokens, "completion_tokens": completion,
                "total_tokens": prompt_tokens + completion,
                "prompt_tokens_details": {"cached_tokens": prompt_tokens // 2 if "prompt_cache_key" in body else 0,
                                          "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0,
                                              "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}

    @staticmethod
    def _chat_stream(body: dict[str, Any], answer: str, prompt_tokens: int) -> StreamingResponse:
        """Documented chat.completion.chunk events: a role delta, one delta per word, the finish, then
        (with ``stream_options.include_usage``) a usage chunk with no choices, then ``[DONE]``."""
        check(body.get("stream_options", {}).get("include_usage") in (True, None), "bad stream_options")

        words = answer.split(" ")
        deltas = [{"role": "assistant", "content": ""}]
        deltas += [{"content": (" " if i else "") + word} for i, word in enumerate(words)]
        return FakeOpenAI._chunks(body, deltas, "stop", FakeOpenAI._usage(body, prompt_tokens, len(words)))

    @staticmethod
    def _chunks(body: dict[str, Any], deltas: list[dict[str, Any]], finish: str, usage: dict[str, Any]) -> Any:
        def chunk(delta: dict[str, Any] | None, finish: str | None = None, usage=None) -> str:
            choices = [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
            return "data: " + json.dumps({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1,
                                          "model": body["model"], "choices": choices, "usage": usage}) + "\n\n"

        events = [chunk(delta) for delta in deltas]
        events.append(chunk({}, finish))
        if body.get("stream_options", {}).get("include_usage"):
            events.append(chunk(None, usage=usage))
        events.append("data: [DONE]\n\n")

        async def emit():
            for event in events:
                yield event.encode()

        return StreamingResponse(emit(), media_type="text/event-stream")

    async def _embeddings(self, request: Request) -> JSONResponse:
        return await self._handle(request, self._embedding_answer)

    @staticmethod
    def _embedding_answer(body: Any) -> dict[str, Any]:
        check(set(body) <= {"model", "input", "dimensions", "encoding_format", "user"}, "unknown embedding keys")
        inputs = body.get("input")
        inputs = [inputs] if isinstance(inputs, str) else inputs
        check(isinstance(inputs, list) and inputs and all(isinstance(i, str) for i in inputs),
               "input must be a string or an array of strings")
        check(body.get("encoding_format", "float") in ("float", "base64"), "bad encoding_format")
        if body.get("encoding_format") == "base64":
            raise WireError("this fake answers floats only")
        dimensions = body.get("dimensions") or EMBEDDING_DIMENSIONS.get(body["model"], 8)
        return {"object": "list", "model": body["model"],
                "data": [{"object": "embedding", "index": i, "embedding": unit_vector(text, dimensions)}
                         for i, text in enumerate(inputs)],
                "usage": {"prompt_tokens": sum(word_count(t) for t in inputs),
                          "total_tokens": sum(word_count(t) for t in inputs)}}

    async def _transcriptions(self, request: Request) -> JSONResponse:
        return await self._handle(request, self._transcription_answer)

    @staticmethod
    def _transcription_answer(body: Any) -> dict[str, Any]:
        check(isinstance(body, dict) and "files" in body, "transcriptions take multipart/form-data")
        check("file" in body["files"] and "model" in body["fields"], "file and model are required")
        filename, _, data = body["files"]["file"]
        text = f"heard {len(data)} bytes of {filename.rsplit('.', 1)[-1]}"
        if body["fields"].get("response_format") == "verbose_json":
            return {"task": "transcribe", "language": "english", "duration": 1.5, "text": text,
                    "segments": [{"id": 0, "seek": 0, "start": 0.0, "end": 1.5, "text": f" {text}",
                                  "tokens": [1, 2], "temperature": 0.0, "avg_logprob": -0.2,
                                  "compression_ratio": 1.0, "no_speech_prob": 0.01}],
                    "usage": {"type": "duration", "seconds": 2}}
        return {"text": text, "usage": {"type": "tokens", "input_tokens": 12, "output_tokens": word_count(text),
                                        "total_tokens": 12 + word_count(text)}}

    # -- the Responses API ----------------------------------------------------------------------------

    async def _responses(self, request: Request) -> JSONResponse:
        return await self._handle(request, self._responses_answer)

    def _responses_answer(self, body: Any) -> Any:
        """A ``response`` object (or its stream of events) for a Responses request, checked as OpenAI would. Like
        the chat fake it echoes the last text and calls the function tools it is offered after a user's turn; with
        a web_search tool (and no function to call) it searches first and cites its result; with
        ``reasoning.effort`` it reasons first (a reasoning item, ``REASONING`` tokens). The conversation is the
        stored one ``previous_response_id`` names, then ``input``; each response is stored unless ``store`` is
        false, so that the next can continue it."""
        check(isinstance(body, dict) and set(body) <= RESPONSES_KEYS,
              f"unknown responses keys {sorted(set(body) - RESPONSES_KEYS)}")
        check(isinstance(body.get("model"), str), "model must be a string")
        history: list[dict[str, Any]] = []
        if "previous_response_id" in body:
            previous = body["previous_response_id"]
            if previous not in self.stored:
                return JSONResponse(error_body(f"Previous response with id '{previous}' not found.",
                                               param="previous_response_id", code="previous_response_not_found"),
                                    status_code=400)
            history = self.stored[previous]
        conversation = history + self._input_items(body, history)
        tools, choice = self._responses_tools(body)
        check(isinstance(body.get("include", []), list), "include must be an array")
        check(body.get("max_output_tokens") is None or isinstance(body["max_output_tokens"], int),
              "max_output_tokens must be an integer")
        reasoning = body.get("reasoning") or {}
        check(isinstance(reasoning, dict) and reasoning.get("effort", "low") in RESPONSES_REASONING,
              "reasoning.effort must be none, minimal, low, medium, high or xhigh")
        texts, images = _conversation_texts(conversation)
        last = texts[-1] if texts else ""
        input_tokens = sum(word_count(t) for t in texts) + word_count(body.get("instructions") or "") + 85 * images
        reasoned = RESPONSES_REASONING[reasoning["effort"]] if "effort" in reasoning else 0
        output: list[dict[str, Any]] = []
        if "effort" in reasoning:
            output.append({"id": _item_id("rs"), "type": "reasoning", "summary": [],
                           **({"encrypted_content": "gAAAAfake"}
                              if "reasoning.encrypted_content" in body.get("include", []) else {})})
        user_turn = bool(conversation) and conversation[-1].get("type") == "message" \
            and conversation[-1].get("role") == "user"
        calls = _function_calls(body, tools, choice, last) if user_turn else []
        incomplete = False
        if calls:
            output += calls
            answered = 5 * len(calls)
        else:
            text = f"echo: {last}" + (f" [{images} images]" if images else "")
            searched = user_turn and choice != "none" and any(tool["type"] in WEB_SEARCH for tool in tools)
            if searched:
                output.append({"id": _item_id("ws"), "type": "web_search_call", "status": "completed",
                               "action": {"type": "search", "query": last}})
            budget = body.get("max_output_tokens")
            if budget is not None and word_count(text) + reasoned > budget:
                text, incomplete = " ".join(text.split(" ")[:max(budget - reasoned, 0)]), True
            citation = [{"type": "url_citation", "start_index": 0, "end_index": len(text), "title": "Fake search",
                         "url": f"https://search.example/?q={uuid.uuid5(uuid.NAMESPACE_URL, last).hex}"}]
            output.append({"id": _item_id("msg"), "type": "message", "role": "assistant",
                           "status": "incomplete" if incomplete else "completed",
                           "content": [{"type": "output_text", "text": text, "logprobs": [],
                                        "annotations": citation if searched else []}]})
            answered = word_count(text)
        response = _response_object(body, output, incomplete, self._responses_usage(body, input_tokens, answered,
                                                                                    reasoned))
        if body.get("store", True):
            self.stored[response["id"]] = conversation + output
            self.responses[response["id"]] = response
            self.inputs[response["id"]] = conversation
        if body.get("background") and not body.get("stream"):
            return {**response, "status": "queued", "output": [], "completed_at": None, "usage": None}
        return _response_events(response) if body.get("stream") else response

    def _input_items(self, body: dict[str, Any], history: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``input`` as items (a string is one user message), each checked; an ``item_reference`` is the stored
        item it names, and a ``function_call_output`` must answer a call of the conversation."""
        value = body.get("input")
        if value is None:
            check(bool(history) or "conversation" in body or "prompt" in body,
                  "input is required without previous_response_id")
            return []
        if isinstance(value, str):
            return [{"type": "message", "role": "user", "content": value}]
        check(isinstance(value, list) and value, "input must be a string or a non-empty array of items")
        called = {item["call_id"] for item in history if item.get("type") == "function_call"}
        stored = {item["id"]: item for items in self.stored.values() for item in items if "id" in item}
        items = []
        for item in value:
            check(isinstance(item, dict), f"bad input item {item}")
            kind = item.get("type", "message" if "role" in item else None)
            if kind == "item_reference":
                check(item.get("id") in stored, f"Item with id '{item.get('id')}' not found.")
                item = stored[item["id"]]
                kind = item["type"]
            if kind == "message":
                _message_check(item)
            elif kind == "function_call":
                check(all(isinstance(item.get(key), str) for key in ("call_id", "name", "arguments")),
                      f"bad function_call item {item}")
                called.add(item["call_id"])
            elif kind == "function_call_output":
                check(item.get("call_id") in called,
                      f"No tool call found for function call output with call_id {item.get('call_id')}.")
                output = item.get("output")
                check(isinstance(output, str) or isinstance(output, list) and all(
                    isinstance(part, dict) and part.get("type") in INPUT_PARTS for part in output),
                      f"bad function_call_output item {item}")
            else:
                check(kind in STORED_ITEMS and isinstance(item.get("id"), str), f"bad input item {item}")
            items.append({**item, "type": kind})
        return items

    @staticmethod
    def _responses_tools(body: dict[str, Any]) -> tuple[list[dict[str, Any]], Any]:
        tools = body.get("tools", [])
        check(isinstance(tools, list), "tools must be an array")
        for tool in tools:
            kind = tool.get("type") if isinstance(tool, dict) else None
            if kind == "function":
                check(set(tool) <= {"type", "name", "description", "parameters", "strict"}
                      and isinstance(tool.get("name"), str)
                      and isinstance(tool.get("parameters", {}), (dict, type(None))), f"bad function tool {tool}")
            elif kind == "file_search":
                check(isinstance(tool.get("vector_store_ids"), list), "file_search needs vector_store_ids")
            else:
                check(kind in BUILT_IN_TOOLS, f"unknown tool {tool}")
        kinds = {tool["type"] for tool in tools}
        names = [tool["name"] for tool in tools if tool["type"] == "function"]
        choice = body.get("tool_choice", "auto")
        check(choice in CHOICES or isinstance(choice, dict) and (
            choice.get("type") == "function" and choice.get("name") in names or choice.get("type") in kinds - {
                "function"}), f"bad tool_choice {choice}")
        return tools, choice

    @staticmethod
    def _responses_usage(body: dict[str, Any], input_tokens: int, answered: int, reasoned: int) -> dict[str, Any]:
        """A Responses usage object: with ``prompt_cache_key`` half the input came from the cache; reasoning
        tokens are counted in the output, as OpenAI does."""
        cached = input_tokens // 2 if "prompt_cache_key" in body else 0
        return {"input_tokens": input_tokens, "input_tokens_details": {"cached_tokens": cached},
                "output_tokens": answered + reasoned, "output_tokens_details": {"reasoning_tokens": reasoned},
                "total_tokens": input_tokens + answered + reasoned}


RESPONSES_KEYS = {"model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "text",
                  "max_output_tokens", "reasoning", "temperature", "top_p", "stream", "stream_options", "metadata",
                  "user", "store", "include", "truncation", "background", "previous_response_id", "conversation",
                  "prompt", "prompt_cache_key", "prompt_cache_retention", "safety_identifier", "service_tier",
                  "max_tool_calls", "top_logprobs"}
RESPONSES_REASONING = {**REASONING, "none": 0, "xhigh": 16}
MESSAGE_ROLES = {"user", "assistant", "system", "developer"}
INPUT_PARTS = {"input_text", "input_image", "input_file", "input_audio", "output_text", "refusal"}
WEB_SEARCH = {"web_search", "web_search_2025_08_26", "web_search_preview", "web_search_preview_2025_03_11"}
BUILT_IN_TOOLS = WEB_SEARCH | {"file_search", "code_interpreter", "image_generation", "mcp", "computer_use_preview"}
STORED_ITEMS = {"reasoning", "web_search_call", "file_search_call", "code_interpreter_call", "image_generation_call"}


def _item_id(prefix: str) -> str:
    return f"{prefix}_fake{uuid.uuid4().hex[:16]}"


def _message_check(item: dict[str, Any]) -> None:
    check(item.get("role") in MESSAGE_ROLES, f"bad message role in {item}")
    content = item.get("content")
    if isinstance(content, str):
        return
    check(isinstance(content, list) and content, f"message content must be a string or parts: {item}")
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        check(kind in INPUT_PARTS, f"bad content part {part}")
        if kind in ("input_text", "output_text"):
            check(isinstance(part.get("text"), str), f"{kind} needs text")
        elif kind == "input_image":
            check(isinstance(part.get("image_url") or part.get("file_id"), str), "input_image needs image_url or file_id")
        elif kind == "input_file":
            check(any(isinstance(part.get(key), str) for key in ("file_id", "file_data", "file_url")),
                  "input_file needs file_id, file_data or file_url")


def _conversation_texts(items: list[dict[str, Any]]) -> tuple[list[str], int]:
    """The texts of a conversation's messages and function results, in order, and its images."""
    texts, images = [], 0
    for item in items:
        content = item.get("content") if item.get("type") == "message" else item.get("output") \
            if item.get("type") == "function_call_output" else None
        if isinstance(content, str):
            texts.append(content)
        for part in content if isinstance(content, list) else ():
            if part.get("type") in ("input_text", "output_text"):
                texts.append(part["text"])
            images += part.get("type") == "input_image"
    return texts, images


def _function_calls(body: dict[str, Any], tools: list[dict[str, Any]], choice: Any, last: str) -> list[dict[str, Any]]:
    """As the chat fake: the function ``tool_choice`` names, else (not none, no built-in tool chosen) each function
    offered, or only the first with ``parallel_tool_calls: false``, with ``{"query": <the last text>}``."""
    names = [tool["name"] for tool in tools if tool["type"] == "function"]
    if not names or choice == "none" or isinstance(choice, dict) and choice["type"] != "function":
        return []
    chosen = [choice["name"]] if isinstance(choice, dict) else names
    if body.get("parallel_tool_calls") is False:
        chosen = chosen[:1]
    return [{"id": _item_id("fc"), "type": "function_call", "status": "completed", "call_id": f"call_{i}_{name}",
             "name": name, "arguments": json.dumps({"query": last})} for i, name in enumerate(chosen)]


def _response_object(body: dict[str, Any], output: list[dict[str, Any]], incomplete: bool,
                     usage: dict[str, Any]) -> dict[str, Any]:
    now = int(time.time())
    reasoning = body.get("reasoning") or {}
    return {"id": _item_id("resp"), "object": "response", "created_at": now,
            "status": "incomplete" if incomplete else "completed", "background": bool(body.get("background")),
            "completed_at": None if incomplete else now, "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
            "instructions": body.get("instructions"), "max_output_tokens": body.get("max_output_tokens"),
            "max_tool_calls": body.get("max_tool_calls"), "model": body["model"], "output": output,
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": body.get("previous_response_id"), "prompt_cache_key": body.get("prompt_cache_key"),
            "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
            "store": body.get("store", True), "temperature": body.get("temperature", 1.0),
            "text": body.get("text", {"format": {"type": "text"}, "verbosity": "medium"}),
            "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools", []),
            "top_p": body.get("top_p", 1.0), "truncation": body.get("truncation", "disabled"), "usage": usage,
            "user": body.get("user"), "metadata": body.get("metadata", {})}


def _response_events(response: dict[str, Any]) -> StreamingResponse:
    """The documented stream of a response: ``response.created`` and ``response.in_progress`` (no output yet),
    then each item added, its pieces (a message's part and one text delta per word, its citations; a call's
    arguments in two deltas; a web search's progress) and done, then ``response.completed`` (or
    ``response.incomplete``) with the whole response; every event numbered by ``sequence_number``."""
    events: list[dict[str, Any]] = []
    numbers = itertools.count()

    def event(kind: str, **fields: Any) -> None:
        events.append({"type": kind, "sequence_number": next(numbers), **fields})

    started = {**response, "status": "in_progress", "output": [], "usage": None, "incomplete_details": None,
               "completed_at": None}
    event("response.created", response=started)
    event("response.in_progress", response=started)
    for index, item in enumerate(response["output"]):
        at = {"item_id": item["id"], "output_index": index}
        if item["type"] == "message":
            event("response.output_item.added", output_index=index,
                  item={**item, "status": "in_progress", "content": []})
            part = item["content"][0]
            event("response.content_part.added", **at, content_index=0,
                  part={**part, "text": "", "annotations": []})
            for i, word in enumerate(part["text"].split(" ")):
                event("response.output_text.delta", **at, content_index=0, delta=(" " if i else "") + word,
                      logprobs=[])
            for i, annotation in enumerate(part["annotations"]):
                event("response.output_text.annotation.added", **at, content_index=0, annotation_index=i,
                      annotation=annotation)
            event("response.output_text.done", **at, content_index=0, text=part["text"], logprobs=[])
            event("response.content_part.done", **at, content_index=0, part=part)
        elif item["type"] == "function_call":
            event("response.output_item.added", output_index=index,
                  item={**item, "arguments": "", "status": "in_progress"})
            half = len(item["arguments"]) // 2
            for piece in (item["arguments"][:half], item["arguments"][half:]):
                event("response.function_call_arguments.delta", **at, delta=piece)
            event("response.function_call_arguments.done", **at, arguments=item["arguments"])
        elif item["type"] == "web_search_call":
            event("response.output_item.added", output_index=index, item={**item, "status": "in_progress"})
            for stage in ("in_progress", "searching", "completed"):
                event(f"response.web_search_call.{stage}", **at)
        else:
            event("response.output_item.added", output_index=index, item=item)
        event("response.output_item.done", output_index=index, item=item)
    event(f"response.{response['status']}", response=response)
    return _sse(events)


def _sse(events: list[dict[str, Any]]) -> StreamingResponse:
    """Server-Sent Events as OpenAI sends the Responses ones: an ``event:`` line naming each, its ``data:``."""

    async def emit():
        for event in events:
            yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()

    return StreamingResponse(emit(), media_type="text/event-stream")
