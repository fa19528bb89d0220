"""Request and response mapping between Infergate's call and Anthropic's Messages API: small pure
functions, tested without HTTP (tests/inference/providers/test_anthropic_mapping.py).

Wire format: POST /v1/messages with ``model``, ``max_tokens``, ``messages`` (``user``/``assistant``
turns whose content is a string or content blocks), optional ``system``, ``stop_sequences``, ``tools``
and ``tool_choice``; the answer's ``content`` blocks (``text``, ``tool_use``), ``stop_reason`` and
``usage`` (``input_tokens``, ``output_tokens``, and the prompt-cache counts).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from core.errors import BadRequestError, ValidationError
from inference.media.images import ProviderImage
from inference.types import Message, Usage

# API version 2026-10-21 (what the SDK sends) refuses temperature, top_p and top_k at any value; the
# version that documents them is 2023-06-01. A request that sets one is sent with that version.
SAMPLING_API_VERSION = "2023-06-01"
SAMPLING = ("temperature", "top_p")
MODELLED = (*SAMPLING, "max_tokens", "stop", "schema")
STRUCTURED_TOOL = "structured_response"  # the tool's name when the schema has no usable title
WRAPPED = "value"  # a schema that is not an object travels as the one property of an object

# Anthropic's stop reasons -> ours (OpenAI's names, which the local and openai providers also use).
# ``tool_use`` only happens here when a schema forced our own tool: the answer is complete, so "stop".
FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "tool_use": "stop", "pause_turn": "stop",
                  "max_tokens": "length", "model_context_window_exceeded": "length"}


def finish_reason(stop_reason: str | None) -> str:
    return FINISH_REASONS.get(stop_reason or "end_turn", "stop")


# -- the request ----------------------------------------------------------------------------------

def image_block(image: ProviderImage) -> dict[str, Any]:
    """Checked bytes as a base64 source with the sniffed media type; a URL (only for namespaces that
    pass URLs through: ``INFERGATE["MEDIA"]["PASS_URLS"]``) as a url source that Anthropic fetches."""
    if image.loaded is None:
        return {"type": "image", "source": {"type": "url", "url": image.url}}
    return {"type": "image", "source": {"type": "base64", "media_type": image.loaded.mime,
                                        "data": base64.b64encode(image.loaded.data).decode()}}


def chat_request(conversation: tuple[Message, ...], images: list[dict[str, Any]]) -> dict[str, Any]:
    """``messages`` and ``system`` for one conversation. System turns (``inputs.system`` and any
    ``system`` message) join into the top-level ``system``; the images go with the last user turn,
    before its text, as Anthropic's vision guide advises."""
    system = "\n\n".join(m.content for m in conversation if m.role == "system")
    messages: list[dict[str, Any]] = [{"role": m.role, "content": m.content}
                                      for m in conversation if m.role != "system"]
    if not messages:
        raise ValidationError([{"field": "inputs.messages", "problem": "needs a user or assistant message"}])
    if images:
        users = [i for i, m in enumerate(messages) if m["role"] == "user"]
        if not users:
            raise ValidationError([{"field": "inputs.messages", "problem": "images need a user message"}])
        last = messages[users[-1]]
        last["content"] = [*images, {"type": "text", "text": last["content"]}]
    request: dict[str, Any] = {"messages": messages}
    if system:
        request["system"] = system
    return request


def structured_tool(schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """``parameters.schema`` as the one tool the model must call, and whether the schema was wrapped
    (a tool's input is always an object: another schema becomes the ``value`` property of one)."""
    title = schema.get("title") if isinstance(schema.get("title"), str) else ""
    name = re.sub(r"[^A-Za-z0-9_-]", "_", title)[:64] or STRUCTURED_TOOL
    wrapped = schema.get("type") != "object"
    input_schema = {"type": "object", "properties": {WRAPPED: schema}, "required": [WRAPPED]} if wrapped else schema
    description = schema.get("description") if isinstance(schema.get("description"), str) else ""
    tool = {"name": name, "input_schema": input_schema,
            "description": description or "Answer by calling this tool with the answer as its input."}
    return tool, wrapped


def chat_options(parameters: dict[str, Any], default_max_tokens: int) -> dict[str, Any]:
    """Keyword arguments of ``messages.create``/``stream`` besides model and messages. The SDK has no
    arguments for sampling parameters: they travel in ``extra_body``, with the API version that takes
    them. Anthropic refuses temperature and top_p together on current models, and whitespace-only stop
    sequences: a 422 here says so, before any call."""
    options: dict[str, Any] = {"max_tokens": parameters.get("max_tokens", default_max_tokens)}
    if "stop" in parameters:
        stop = parameters["stop"]
        options["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
        if not all(sequence.strip() for sequence in options["stop_sequences"]):
            raise ValidationError([{"field": "parameters.stop", "problem": "Anthropic refuses a stop sequence of "
                                                                          "whitespace only"}])
    sampling = {name: parameters[name] for name in SAMPLING if name in parameters}
    if len(sampling) > 1:
        raise ValidationError([{"field": "parameters.top_p",
                                "problem": "set temperature or top_p, not both: Anthropic refuses the pair"}])
    if sampling:
        options["extra_headers"] = {"anthropic-version": SAMPLING_API_VERSION}
    # What Infergate does not model (thinking, metadata, top_k, service_tier, ...) goes as the client sent it.
    extra = {name: value for name, value in parameters.items() if name not in MODELLED}
    if sampling or extra:
        options["extra_body"] = {**extra, **sampling}
    if "schema" in parameters:
        tool, _ = structured_tool(parameters["schema"])
        options["tools"] = [tool]
        options["tool_choice"] = {"type": "tool", "name": tool["name"]}
    return options


# -- the answer -----------------------------------------------------------------------------------

def refused(provider: str, reason: str | None) -> BadRequestError:
    reason = reason or "the model declined to answer (stop_reason 'refusal')"
    return BadRequestError(f"{provider} refused to answer: {reason}",
                           details={"provider": provider, "reason": reason, "refused": True})


def _blocks(message: Any) -> list[Any]:
    """The answer's content blocks; anything but a list is an answer of the wrong shape (TypeError, which
    ``upstream.answer_shape`` turns into the provider's 502)."""
    content = message.content
    if not isinstance(content, list):
        raise TypeError(f"content is {type(content).__name__}, not a list of blocks")
    return content


def message_text(message: Any) -> str:
    return "".join(block.text for block in _blocks(message) if getattr(block, "type", None) == "text")


def structured_value(message: Any, *, wrapped: bool) -> Any:
    """The input of the answer's tool call: the structured answer (None when there is none, e.g. the
    answer was cut by max_tokens before the call was complete)."""
    for block in _blocks(message):
        if getattr(block, "type", None) == "tool_use" and isinstance(block.input, dict):
            return block.input.get(WRAPPED) if wrapped else block.input
    return None


def chat_answer(message: Any, *, provider: str, schema: dict[str, Any] | None) -> dict[str, Any]:
    """One ``data.responses`` item from a Message. With a schema, ``structured`` is the tool call's
    input and ``text`` its JSON; a refusal is the client's 400 with whatever reason came with it."""
    if message.stop_reason == "refusal":
        raise refused(provider, message_text(message).strip() or None)
    answer: dict[str, Any] = {"finish_reason": finish_reason(message.stop_reason)}
    if schema is None:
        return {"text": message_text(message), **answer}
    _, wrapped = structured_tool(schema)
    value = structured_value(message, wrapped=wrapped)
    text = json.dumps(value, ensure_ascii=False) if value is not None else message_text(message)
    return {"text": text, **answer, "structured": value}


def usage_add(usage: Usage, reported: Any) -> None:
    """Add a response's usage: prompt tokens are the uncached input plus what was written to and read
    from Anthropic's prompt cache (all billed input); completion tokens are ``output_tokens``."""
    if reported is None:
        return
    read = int(getattr(reported, "cache_read_input_tokens", None) or 0)
    written = int(getattr(reported, "cache_creation_input_tokens", None) or 0)
    usage.prompt += int(getattr(reported, "input_tokens", None) or 0) + read + written
    usage.cache_read += read
    usage.cache_write += written
    usage.completion += int(getattr(reported, "output_tokens", None) or 0)
