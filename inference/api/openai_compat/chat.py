"""POST /v1/chat/completions: OpenAI's chat request as one native ``messages`` conversation, answered as a
``chat.completion`` or, with ``stream``, as ``chat.completion.chunk`` events ending with ``data: [DONE]``.

Mapping: text parts of a message are joined with newlines; ``image_url`` parts become the native
``images`` (which go with the last user message); ``developer`` is ``system``; ``max_completion_tokens``
(or ``max_tokens``) is ``max_tokens``; ``response_format`` json_schema is ``parameters.schema`` and
json_object a schema of any object. ``tools``, ``tool_choice``, an assistant's ``tool_calls`` and ``tool``
messages become the native tool shapes (inference/tools.py); the answer's tool calls come back as OpenAI's,
streamed as ``delta.tool_calls`` pieces. Only ``n=1``. Sampling parameters are checked against the model, as
on the native endpoint; every other field passes through to the target as a parameter.
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
            "response_format", "n", "stream", "stream_options", "user", "tools", "tool_choice")
PASSED = ("temperature", "top_p", "stop", "seed")
ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant", "tool": "tool"}
# ``name`` is kept by nobody; what the SDK sends back of an answer's message (refusal, annotations, audio,
# function_call: null or empty) is accepted and dropped, so that an answer's message can be appended as it came.
MESSAGE_KEYS = {"role", "content", "name", "tool_calls", "tool_call_id", "refusal", "annotations", "audio",
                "function_call"}
TOOL_FIELDS = ("name", "description", "parameters", "strict")
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


def _messages(messages: Any) -> tuple[list[dict[str, Any]], list[Any]]:
    if not isinstance(messages, list) or not messages:
        raise ValidationError([{"field": "messages", "problem": "must be a non-empty array of messages"}])
    native, images = [], []
    for i, message in enumerate(messages):
        field_ = f"messages[{i}]"
        if not isinstance(message, dict) or not {"role"} <= set(message) <= MESSAGE_KEYS:
            raise ValidationError([{"field": field_, "problem": "must be an object with role and content (an "
                                    "assistant message may have tool_calls, a tool message has tool_call_id)"}])
        role = ROLES.get(message["role"]) if isinstance(message["role"], str) else None
        if role is None:
            raise ValidationError([{"field": f"{field_}.role",
                                    "problem": f"must be one of {', '.join(ROLES)}"}])
        turn: dict[str, Any] = {"role": role}
        if message.get("tool_calls") is not None and role == "assistant":
            turn["tool_calls"] = _tool_calls(message["tool_calls"], f"{field_}.tool_calls")
            content = message.get("content")
            turn["content"] = None if content is None else _content(content, f"{field_}.content", images)
        else:
            turn["content"] = _content(message.get("content"), f"{field_}.content", images)
            turn.update({key: message[key] for key in ("tool_calls", "tool_call_id") if key in message})
        native.append(turn)
    return native, images


def _tool_calls(calls: Any, field_: str) -> Any:
    """OpenAI's ``{id, type: function, function: {name, arguments}}`` as native ``{id, name, arguments}``;
    anything else goes on as it is, for the native checks to name."""
    if not isinstance(calls, list):
        return calls
    native = []
    for call in calls:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or call.get("type", "function") != "function":
            raise ValidationError([{"field": field_, "problem": "each must be {id, type: function, function: "
                                    "{name, arguments}}"}])
        native.append({"id": call.get("id"), "name": function.get("name"), "arguments": function.get("arguments")})
    return native


def _tools(tools: Any) -> Any:
    """OpenAI's ``[{type: function, function: {name, description, parameters, strict}}]`` as native tools."""
    if not isinstance(tools, list):
        return tools
    native = []
    for i, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or tool.get("type") != "function":
            raise ValidationError([{"field": f"tools[{i}]", "problem": "must be {type: function, function: {name, "
                                    "description?, parameters?, strict?}}"}])
        native.append({key: function[key] for key in TOOL_FIELDS if function.get(key) is not None})
    return native


def _tool_choice(choice: Any) -> Any:
    if isinstance(choice, dict) and choice.get("type") == "function" and isinstance(choice.get("function"), dict):
        return {"name": choice["function"].get("name")}
    if isinstance(choice, dict):
        raise ValidationError([{"field": "tool_choice", "problem": "must be 'auto', 'none', 'required' or "
                                "{type: function, function: {name}}"}])
    return choice


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
    if "tools" in body:
        parameters["tools"] = _tools(body["tools"])
    if "tool_choice" in body:
        parameters["tool_choice"] = _tool_choice(body["tool_choice"])
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


def _tool_call(call: dict[str, str]) -> dict[str, Any]:
    return {"id": call["id"], "type": "function", "function": {"name": call["name"], "arguments": call["arguments"]}}


def chat_completion(response: dict[str, Any], request_id: str) -> dict[str, Any]:
    answer = response["data"]["responses"][0]
    message: dict[str, Any] = {"role": "assistant", "content": answer["text"], "refusal": None}
    if answer.get("tool_calls"):
        message["content"] = answer["text"] or None
        message["tool_calls"] = [_tool_call(call) for call in answer["tool_calls"]]
    return {"id": f"chatcmpl-{request_id}", "object": "chat.completion", "created": int(time.time()),
            "model": _model_id(response), "system_fingerprint": None,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": answer["finish_reason"]}],
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
        if kind == "tool_call":
            self.streamed = True
            piece: dict[str, Any] = {"index": event["call"], "function": {"arguments": event["arguments"]}}
            if "id" in event:
                piece.update(id=event["id"], type="function")
                piece["function"]["name"] = event["name"]
            return [self._chunk(self._choice({"tool_calls": [piece]}))]
        if kind == "done":
            response = event["response"]
            answer = response["data"]["responses"][0]
            lines = []
            if not self.streamed and answer["text"]:  # a target that answers whole (structured, plugins)
                lines.append(self._chunk(self._choice({"content": answer["text"]})))
            if not self.streamed and answer.get("tool_calls"):
                calls = [{"index": i, **_tool_call(call)} for i, call in enumerate(answer["tool_calls"])]
                lines.append(self._chunk(self._choice({"tool_calls": calls})))
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
