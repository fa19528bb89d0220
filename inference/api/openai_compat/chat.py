"""POST /v1/chat/completions: OpenAI's chat request as one native ``messages`` conversation, answered as a
``chat.completion`` or, with ``stream``, as ``chat.completion.chunk`` events ending with ``data: [DONE]``.

Mapping: text parts of a message are joined with newlines; ``image_url`` parts become the native
``images`` (which go with the last user message); ``developer`` is ``system``; ``max_completion_tokens``
(or ``max_tokens``) is ``max_tokens``; ``response_format`` json_schema is ``parameters.schema`` and
json_object a schema of any object. Only ``n=1``; no tools, logprobs or audio. Sampling parameters pass
through and are checked against the model, as on the native endpoint.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from core.errors import InfergateError, ValidationError
from inference.api.edge import EdgeRequest, refusing
from inference.api.openai_compat.errors import openai_error_from_envelope
from inference.api.openai_compat.transport import (
    cache_headers,
    cache_report,
    extra_parameters,
    model_target,
    object_check,
    openai_route,
    sse_data,
)

ACCEPTED = ("model", "messages", "temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "seed",
            "response_format", "n", "stream", "stream_options", "user")
PASSED = ("temperature", "top_p", "stop", "seed")
ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
MESSAGE_KEYS = {"role", "content", "name"}
DONE = b"data: [DONE]\n\n"


@dataclass
class ChatRequest:
    body: dict[str, Any]  # the native body
    stream: bool = False
    include_usage: bool = False


def _content(content: Any, field_: str, images: list[Any]) -> str:
    """A message's text; its image parts are appended to ``images``."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list) or not content:
        raise ValidationError([{"field": field_, "problem": "must be a string or a non-empty array of parts"}])
    texts = []
    for i, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "image_url" and isinstance(part.get("image_url"), dict) \
                and isinstance(part["image_url"].get("url"), str):
            images.append(part["image_url"]["url"])
        else:
            raise ValidationError([{"field": f"{field_}[{i}]", "problem": "only parts {type: text, text} and "
                                    "{type: image_url, image_url: {url}} are supported"}])
    return "\n".join(texts)


def _messages(messages: Any) -> tuple[list[dict[str, str]], list[Any]]:
    if not isinstance(messages, list) or not messages:
        raise ValidationError([{"field": "messages", "problem": "must be a non-empty array of messages"}])
    native, images = [], []
    for i, message in enumerate(messages):
        field_ = f"messages[{i}]"
        if not isinstance(message, dict) or not {"role", "content"} <= set(message) <= MESSAGE_KEYS:
            raise ValidationError([{"field": field_, "problem": "must be an object with role and content "
                                    "(and optionally name); tool calls are not supported"}])
        role = ROLES.get(message["role"]) if isinstance(message["role"], str) else None
        if role is None:
            raise ValidationError([{"field": f"{field_}.role",
                                    "problem": f"must be one of {', '.join(ROLES)}"}])
        native.append({"role": role, "content": _content(message["content"], f"{field_}.content", images)})
    return native, images


def _response_format(value: Any) -> dict[str, Any] | None:
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "object"}
    if kind == "json_schema" and isinstance(value.get("json_schema"), dict) \
            and isinstance(value["json_schema"].get("schema"), dict):
        return value["json_schema"]["schema"]
    raise ValidationError([{"field": "response_format", "problem": "must be {type: text}, {type: json_object} "
                            "or {type: json_schema, json_schema: {name, schema}}"}])


def _parameters(body: dict[str, Any]) -> dict[str, Any]:
    parameters = {**extra_parameters(body, ACCEPTED), **{name: body[name] for name in PASSED if name in body}}
    limits = [body[name] for name in ("max_tokens", "max_completion_tokens") if name in body]
    if len(limits) > 1 and limits[0] != limits[1]:
        raise ValidationError([{"field": "max_completion_tokens", "problem": "differs from max_tokens; send one"}])
    if limits:
        parameters["max_tokens"] = limits[0]
    if "response_format" in body and (schema := _response_format(body["response_format"])) is not None:
        parameters["schema"] = schema
    if body.get("n", 1) != 1:
        raise ValidationError([{"field": "n", "problem": "only n=1 is supported"}])
    return parameters


def chat_request_parse(body: Any, headers: dict[str, str]) -> ChatRequest:
    body = object_check(body, ACCEPTED, required=("model", "messages"), passed_through=True)
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise ValidationError([{"field": "stream", "problem": "must be true or false"}])
    options = body.get("stream_options", {})
    if not isinstance(options, dict) or not set(options) <= {"include_usage"} \
            or not isinstance(options.get("include_usage", False), bool):
        raise ValidationError([{"field": "stream_options", "problem": "must be {include_usage: true|false}"}])
    if options and not stream:
        raise ValidationError([{"field": "stream_options", "problem": "only allowed with stream: true"}])
    messages, images = _messages(body["messages"])
    inputs: dict[str, Any] = {"messages": messages}
    if images:
        inputs["images"] = images
    native = {**model_target(body["model"]), "inputs": inputs, "parameters": _parameters(body),
              **cache_headers(headers)}
    return ChatRequest(body=native, stream=stream, include_usage=options.get("include_usage", False))


def _model_id(response_or_start: dict[str, Any]) -> str:
    return f"{response_or_start['provider']}/{response_or_start['model']}"


def _usage(tokens: dict[str, int]) -> dict[str, Any]:
    """OpenAI's usage object, with the prompt tokens read from the provider's cache and the reasoning tokens
    in its details objects (0 where there were none)."""
    return {"prompt_tokens": tokens["prompt"], "completion_tokens": tokens["completion"],
            "total_tokens": tokens["total"],
            "prompt_tokens_details": {"cached_tokens": tokens.get("cache_read", 0)},
            "completion_tokens_details": {"reasoning_tokens": tokens.get("reasoning", 0)}}


def chat_completion(response: dict[str, Any], request_id: str) -> dict[str, Any]:
    answer = response["data"]["responses"][0]
    return {"id": f"chatcmpl-{request_id}", "object": "chat.completion", "created": int(time.time()),
            "model": _model_id(response), "system_fingerprint": None,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer["text"], "refusal": None},
                         "logprobs": None, "finish_reason": answer["finish_reason"]}],
            "usage": _usage(response["tokens_used"])}


class ChunkEncoder:
    """Service events as OpenAI chunks: the role first, a chunk per delta, the finish, then (with
    ``include_usage``: every chunk carries ``usage: null``) a last chunk with no choices and the usage.
    ``data: [DONE]`` ends a complete stream; a failure after the stream started is a
    ``data: {"error": ...}`` line instead, which the SDK raises."""

    def __init__(self, request_id: str, include_usage: bool) -> None:
        self.id = f"chatcmpl-{request_id}"
        self.created = int(time.time())
        self.include_usage = include_usage
        self.model = ""
        self.streamed = False

    def _chunk(self, choices: list[dict[str, Any]], usage: dict[str, int] | None = None) -> bytes:
        chunk = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                 "system_fingerprint": None, "choices": choices}
        if self.include_usage:
            chunk["usage"] = usage
        return sse_data(chunk)

    def _choice(self, delta: dict[str, Any], finish_reason: str | None = None) -> list[dict[str, Any]]:
        return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]

    def __call__(self, event: dict[str, Any]) -> list[bytes]:
        kind = event["type"]
        if kind == "start":
            self.model = _model_id(event)
            return [self._chunk(self._choice({"role": "assistant", "content": ""}))]
        if kind == "delta":
            self.streamed = True
            return [self._chunk(self._choice({"content": event["text"]}))]
        if kind == "done":
            response = event["response"]
            answer = response["data"]["responses"][0]
            lines = []
            if not self.streamed and answer["text"]:  # a target that answers whole (structured, plugins)
                lines.append(self._chunk(self._choice({"content": answer["text"]})))
            lines.append(self._chunk(self._choice({}, answer["finish_reason"])))
            if self.include_usage:
                lines.append(self._chunk([], _usage(response["tokens_used"])))
            return lines + [DONE]
        if kind == "error":
            return [sse_data(openai_error_from_envelope(event["error"]))]
        return []


@openai_route
async def chat_completions_endpoint(request: EdgeRequest) -> None:
    try:
        chat: ChatRequest | None = chat_request_parse(request.json_body(), request.headers)
        body: Any = chat.body
    except InfergateError as error:
        chat, body = None, refusing(error)
    if chat is not None and chat.stream:
        events = request.stream(body)
        first = await anext(events)  # raises before anything is sent when the request is refused
        encoder = ChunkEncoder(request.request_id, chat.include_usage)
        # Headers go out before the answer: whether it came from the cache is what ``start`` says.
        return await request.sse(events, first, encoder, headers=cache_report(request.headers, first))
    response = await request.run(body)
    await request.respond(chat_completion(response, request.request_id), cache_report(request.headers, response))
