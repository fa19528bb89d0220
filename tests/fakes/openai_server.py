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
ROLES = {"system", "developer", "user", "assistant"}
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
        texts, images = [], 0
        for message in messages:
            check(set(message) == {"role", "content"} and message["role"] in ROLES, f"bad message {message}")
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
        if body.get("stream"):
            return FakeOpenAI._chat_stream(body, answer, prompt_tokens)
        return {
            "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer, "refusal": None},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": FakeOpenAI._usage(body, prompt_tokens, word_count(answer)),
        }

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

        def chunk(delta: dict[str, Any] | None, finish: str | None = None, usage=None) -> str:
            choices = [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
            return "data: " + json.dumps({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1,
                                          "model": body["model"], "choices": choices, "usage": usage}) + "\n\n"

        words = answer.split(" ")
        events = [chunk({"role": "assistant", "content": ""})]
        events += [chunk({"content": (" " if i else "") + word}) for i, word in enumerate(words)]
        events.append(chunk({}, "stop"))
        if body.get("stream_options", {}).get("include_usage"):
            events.append(chunk(None, usage=FakeOpenAI._usage(body, prompt_tokens, len(words))))
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
