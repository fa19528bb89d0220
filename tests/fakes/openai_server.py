"""A local server that speaks OpenAI's documented wire format, for testing adapters through the real
``openai`` SDK. It checks what the SDK sends (path, auth header, content type, body shape) and answers
with documented payloads, or with what a test scripted: an error status and body, headers such as
Retry-After, or a slow answer.

Documented shapes: https://platform.openai.com/docs/api-reference (chat/create, embeddings/create,
audio/createTranscription, and the error object ``{"error": {"message", "type", "param", "code"}}``).
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import time
from dataclasses import dataclass
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


def error_body(message: str, type_: str = "invalid_request_error", code: str | None = None,
               param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


class FakeOpenAI(WireFake):
    def __init__(self) -> None:
        super().__init__(name="fake-openai", key=GOOD_KEY, url_path="/v1", routes=[
            Route("/v1/chat/completions", self._chat, methods=["POST"]),
            Route("/v1/embeddings", self._embeddings, methods=["POST"]),
            Route("/v1/audio/transcriptions", self._transcriptions, methods=["POST"]),
        ])

    def requests(self, path: str | None = None) -> list[Received]:
        return [r for r in self.received if path is None or r.path == path]

    async def _handle(self, request: Request, answer) -> JSONResponse:
        headers = {k.lower(): v for k, v in request.headers.items()}
        raw = await request.body()
        try:
            body = self._decode(headers, raw)
        except WireError as exc:
            return JSONResponse(error_body(f"fake server: {exc}"), status_code=400)
        self.received.append(Received(request.method, request.url.path, headers, body))
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[len("Bearer "):] not in self.keys:
            # OpenAI's documented 401 quotes the key; the gateway must not pass it on.
            return JSONResponse(error_body(f"Incorrect API key provided: {auth[len('Bearer '):]}. You can find "
                                           "your API key at https://platform.openai.com/account/api-keys.",
                                           code="invalid_api_key"), status_code=401)
        if (scripted := await self.scripted_next()) is not None and (response := scripted.response()) is not None:
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
