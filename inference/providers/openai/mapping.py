"""Request and response mapping between Infergate's call and OpenAI's wire format: small pure
functions, tested without HTTP (tests/inference/providers/test_openai_mapping.py)."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from core.errors import BadRequestError, ValidationError
from inference.media.images import ProviderImage
from inference.media.load import LoadedMedia
from inference.providers.upstream import answer_mapping
from inference.types import InferenceCall, Message, Tool, ToolCall, ToolChoice, Usage

SAMPLING = ("temperature", "top_p", "stop", "seed")

# What OpenAI's transcription endpoint takes, by the type sniffed from the bytes: the file name it is
# uploaded under (OpenAI infers the format from the name).
AUDIO_UPLOAD_NAMES = {"audio/wav": "audio.wav", "audio/mpeg": "audio.mp3", "audio/mp4": "audio.m4a",
                      "audio/flac": "audio.flac", "audio/ogg": "audio.ogg", "video/webm": "audio.webm",
                      "video/mp4": "audio.mp4"}


# -- media -----------------------------------------------------------------------------------------

def image_part_url(image: ProviderImage) -> str:
    """The ``image_url.url`` of a content part: the client's URL (pass-through namespaces), else the
    checked bytes as a data URL with their sniffed type."""
    if image.url is not None:
        return image.url
    return f"data:{image.loaded.mime};base64,{base64.b64encode(image.loaded.data).decode()}"


def audio_upload(audio: LoadedMedia, field: str) -> tuple[str, bytes, str]:
    """Checked audio as the (filename, bytes, content type) the SDK uploads; 422 for a format the
    endpoint does not take."""
    name = AUDIO_UPLOAD_NAMES.get(audio.mime)
    if name is None:
        raise ValidationError([{"field": field, "problem": f"is {audio.mime}; OpenAI transcribes WAV, MP3, M4A, "
                                                           "MP4, FLAC, OGG or WebM"}])
    return name, audio.data, audio.mime


# -- chat ------------------------------------------------------------------------------------------

def chat_message(message: Message) -> dict[str, Any]:
    """One turn: an assistant's tool calls as ``tool_calls`` of type function (its content null when it said
    nothing), a tool's result with the ``tool_call_id`` it answers."""
    if message.tool_calls:
        return {"role": "assistant", "content": message.content or None,
                "tool_calls": [{"id": call.id, "type": "function",
                                "function": {"name": call.name, "arguments": call.arguments}}
                               for call in message.tool_calls]}
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    return {"role": message.role, "content": message.content}


def chat_messages(conversation: tuple[Message, ...], images: list[str]) -> list[dict[str, Any]]:
    """OpenAI chat messages; images go with the last user message, after its text."""
    messages: list[dict[str, Any]] = [chat_message(m) for m in conversation]
    if images:
        last_user = max(i for i, m in enumerate(conversation) if m.role == "user") if any(
            m.role == "user" for m in conversation) else len(messages) - 1
        text = messages[last_user]["content"]
        messages[last_user]["content"] = [{"type": "text", "text": text}] + [
            {"type": "image_url", "image_url": {"url": url}} for url in images]
    return messages


def response_format(schema: dict[str, Any]) -> dict[str, Any]:
    """``parameters.schema`` as OpenAI's JSON-schema response format. Not strict: a strict schema
    needs every property required and ``additionalProperties: false``, which most schemas lack."""
    title = schema.get("title") if isinstance(schema.get("title"), str) else ""
    name = re.sub(r"[^A-Za-z0-9_-]", "_", title)[:64] or "response"
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": False}}


def tool_definitions(tools: tuple[Tool, ...]) -> list[dict[str, Any]]:
    definitions = []
    for tool in tools:
        function: dict[str, Any] = {"name": tool.name}
        if tool.description:
            function["description"] = tool.description
        if tool.parameters is not None:
            function["parameters"] = tool.parameters
        if tool.strict is not None:
            function["strict"] = tool.strict
        definitions.append({"type": "function", "function": function})
    return definitions


def tool_choice(choice: ToolChoice) -> str | dict[str, Any]:
    if choice.name is not None:
        return {"type": "function", "function": {"name": choice.name}}
    return choice.mode


def chat_options(parameters: dict[str, Any], max_tokens_field: str, tools: tuple[Tool, ...] = (),
                 choice: ToolChoice | None = None) -> dict[str, Any]:
    """The body's fields for the parameters Infergate models (``extra_parameters`` has the others)."""
    options = {name: parameters[name] for name in SAMPLING if name in parameters}
    if tools:
        options["tools"] = tool_definitions(tools)
    if choice is not None:
        options["tool_choice"] = tool_choice(choice)
    if "max_tokens" in parameters:
        options[max_tokens_field] = parameters["max_tokens"]
    if "schema" in parameters:
        options["response_format"] = response_format(parameters["schema"])
    return options


CHAT_MODELLED = (*SAMPLING, "max_tokens", "schema", "tools", "tool_choice")


def extra_parameters(parameters: dict[str, Any], modelled: tuple[str, ...]) -> dict[str, Any]:
    """Parameters Infergate does not model, as the client sent them (reasoning_effort, logit_bias, ...): they
    go into the body unchanged, and the provider decides."""
    return {name: value for name, value in parameters.items() if name not in modelled}


@answer_mapping
def chat_answer(completion: dict[str, Any], *, provider: str, structured: bool) -> dict[str, Any]:
    """One ``data.responses`` item from a chat completion's JSON; a refusal is the client's 400."""
    choice = completion["choices"][0]
    message, finish = choice["message"], choice.get("finish_reason")
    refusal = message.get("refusal")
    if refusal or finish == "content_filter":
        raise refused(provider, refusal)
    text = message.get("content") or ""
    if not isinstance(text, str):
        raise TypeError("content")
    answer: dict[str, Any] = {"text": text, "finish_reason": finish or "stop"}
    if structured:
        answer["structured"] = parse_structured(text)
    calls = [tool_call(call) for call in message.get("tool_calls") or ()]
    if calls:
        answer["tool_calls"] = [call.as_dict() for call in calls]
    return answer


def tool_call(call: dict[str, Any]) -> ToolCall:
    """A function call of an answer (``{id, type: function, function: {name, arguments}}``)."""
    if call.get("type", "function") != "function":
        raise TypeError(f"a tool call of type {call['type']!r}")
    function = call["function"]
    return ToolCall(str(call["id"]), str(function["name"]), str(function.get("arguments") or ""))


def refused(provider: str, reason: str | None) -> BadRequestError:
    reason = reason or "the provider's content filter stopped the answer"
    return BadRequestError(f"{provider} refused to answer: {reason}",
                           details={"provider": provider, "reason": reason, "refused": True})


def parse_structured(text: str) -> Any:
    """The JSON value of a structured answer; None when it is not JSON (e.g. cut by max_tokens)."""
    try:
        return json.loads(text)
    except ValueError:
        return None


def usage_add(usage: Usage, reported: Any) -> None:
    """Add a response's usage fields (chat and embeddings: prompt/completion_tokens; transcription:
    input/output_tokens), with the prompt tokens read from OpenAI's prompt cache
    (``prompt_tokens_details.cached_tokens``, part of the prompt) and the reasoning tokens
    (``completion_tokens_details.reasoning_tokens``, part of the completion). Servers that report none add
    nothing."""
    if reported is None:
        return
    usage.prompt += int(_field(reported, "prompt_tokens") or _field(reported, "input_tokens") or 0)
    usage.completion += int(_field(reported, "completion_tokens") or _field(reported, "output_tokens") or 0)
    prompt_details = _field(reported, "prompt_tokens_details") or _field(reported, "input_tokens_details")
    usage.cache_read += int(_field(prompt_details, "cached_tokens") or 0)
    usage.reasoning += int(_field(_field(reported, "completion_tokens_details"), "reasoning_tokens") or 0)


def _field(value: Any, name: str) -> Any:
    """A field of an SDK object or of the JSON object it was built from (a stream's chunks are read as JSON)."""
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


# -- embeddings and transcription ------------------------------------------------------------------

def embedding_data(response: dict[str, Any], call: InferenceCall) -> dict[str, Any]:
    """``data.embedding(s)`` from an embeddings answer's JSON, in input order."""
    vectors = [item["embedding"] for item in sorted(response["data"], key=lambda item: item["index"])]
    if any(not isinstance(vector, list) for vector in vectors):
        raise TypeError("embedding")
    dimensions = len(vectors[0]) if vectors else 0
    if call.single:
        return {"embedding": vectors[0], "dimensions": dimensions}
    return {"embeddings": vectors, "dimensions": dimensions}


def transcription_seconds(response: Any) -> float:
    """The audio seconds a transcription is billed for (whisper-1 is priced per minute): the usage's
    ``seconds`` when it is of type ``duration``, else the verbose answer's ``duration``, else 0."""
    usage = getattr(response, "usage", None)
    if getattr(usage, "type", None) == "duration" and getattr(usage, "seconds", None) is not None:
        return float(usage.seconds)
    duration = getattr(response, "duration", None)
    return float(duration) if duration is not None else 0.0


def transcription_data(response: Any, language: str | None) -> dict[str, Any]:
    segments = [{"start_s": float(s.start), "end_s": float(s.end), "text": s.text.strip()}
                for s in (getattr(response, "segments", None) or [])]
    duration = getattr(response, "duration", None)
    return {"text": response.text, "language": getattr(response, "language", None) or language,
            "duration_s": float(duration) if duration is not None else None, "segments": segments}
