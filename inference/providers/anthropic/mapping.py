"""Request and response mapping between Infergate's call and Anthropic's Messages API: small pure
functions, tested without HTTP (tests/inference/providers/test_anthropic_mapping.py).

Wire format: POST /v1/messages with ``model``, ``max_tokens``, ``messages`` (``user``/``assistant``
turns whose content is a string or content blocks), optional ``system``, ``stop_sequences``, ``tools``
and ``tool_choice``; the answer's ``content`` blocks (``text``, ``tool_use``), ``stop_reason`` and
``usage`` (``input_tokens``, ``output_tokens``, and the prompt-cache counts).

Tool calling: the client's tools are ``{name, description, input_schema}``; an assistant turn that called
tools carries ``tool_use`` blocks, and their results go back in the next user turn as ``tool_result``
blocks, all of them first in that turn (https://docs.anthropic.com/en/docs/agents-and-tools/tool-use).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

from core.errors import BadRequestError, ValidationError
from inference.media.images import ProviderImage
from inference.tools import arguments_object
from inference.types import Message, Tool, ToolCall, ToolCallDelta, ToolChoice, Usage

# API version 2026-10-21 (what the SDK sends) refuses temperature, top_p and top_k at any value; the
# version that documents them is 2023-06-01. A request that sets one is sent with that version.
SAMPLING_API_VERSION = "2023-06-01"
SAMPLING = ("temperature", "top_p")
# ``parallel_tool_calls`` (OpenAI's name, which clients of /v1/chat/completions send) is Anthropic's
# ``tool_choice.disable_parallel_tool_use``, negated: never a body field of its own.
MODELLED = (*SAMPLING, "max_tokens", "stop", "schema", "tools", "tool_choice", "parallel_tool_calls")
STRUCTURED_TOOL = "structured_response"  # the tool's name when the schema has no usable title
WRAPPED = "value"  # a schema that is not an object travels as the one property of an object

TOOL_USE_ID = re.compile(r"[^A-Za-z0-9_-]")  # what Anthropic refuses in a tool_use id (ours also take . and :)
CHOICE_TYPES = {"auto": "auto", "required": "any", "none": "none", "function": "tool"}

# Anthropic's stop reasons -> ours (OpenAI's names, which the local and openai providers also use).
# ``tool_use`` is "tool_calls" when the client's tools were called; when a schema forced our own tool the
# answer is complete, so "stop".
FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "tool_use": "stop", "pause_turn": "stop",
                  "max_tokens": "length", "model_context_window_exceeded": "length"}


def finish_reason(stop_reason: str | None, *, called: bool = False) -> str:
    if stop_reason == "tool_use" and called:
        return "tool_calls"
    return FINISH_REASONS.get(stop_reason or "end_turn", "stop")


# -- the request ----------------------------------------------------------------------------------

def image_block(image: ProviderImage) -> dict[str, Any]:
    """Checked bytes as a base64 source with the sniffed media type; a URL (only for namespaces that
    pass URLs through: ``INFERGATE["MEDIA"]["PASS_URLS"]``) as a url source that Anthropic fetches."""
    if image.loaded is None:
        return {"type": "image", "source": {"type": "url", "url": image.url}}
    return {"type": "image", "source": {"type": "base64", "media_type": image.loaded.mime,
                                        "data": base64.b64encode(image.loaded.data).decode()}}


def tool_use_id(call_id: str | None) -> str:
    """A call's id as Anthropic takes it (letters, digits, _ and -). Ids from other providers may hold
    ``.`` or ``:``: those become ``_`` plus a hash of the id, so two ids never meet in one, and the
    ``tool_use`` and the ``tool_result`` that answers it get the same."""
    call_id = call_id or ""
    if call_id and not TOOL_USE_ID.search(call_id):
        return call_id
    return f"{TOOL_USE_ID.sub('_', call_id)}_{hashlib.sha256(call_id.encode()).hexdigest()[:8]}"


def tool_use_block(call: ToolCall) -> dict[str, Any]:
    return {"type": "tool_use", "id": tool_use_id(call.id), "name": call.name, "input": arguments_object(call.arguments)}


def tool_result_block(message: Message) -> dict[str, Any]:
    """A tool turn's result; empty text is left out (the result's ``content`` is optional, an empty text
    block is refused)."""
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_use_id(message.tool_call_id)}
    if message.content:
        block["content"] = message.content
    return block


def _blocks_of(turn: dict[str, Any]) -> list[dict[str, Any]]:
    content = turn["content"]
    return [{"type": "text", "text": content}] if isinstance(content, str) else content


def _results_count(turn: dict[str, Any]) -> int:
    """How many tool results lead a turn's content."""
    content = turn["content"] if isinstance(turn["content"], list) else []
    return next((i for i, block in enumerate(content) if block["type"] != "tool_result"), len(content))


def turns_append(turns: list[dict[str, Any]], message: Message) -> None:
    """Add one turn. Anthropic takes the results of an answer's calls together, first in the one user turn
    after it: a tool's result joins the user turn before it (after the results there), a user's text right
    after results joins their turn (after them). An assistant's calls are ``tool_use`` blocks after its
    text, if it said any."""
    last = turns[-1] if turns else {"role": None, "content": ""}
    if message.role == "tool" and last["role"] == "user":
        blocks = _blocks_of(last)
        results = _results_count(last)
        last["content"] = [*blocks[:results], tool_result_block(message), *blocks[results:]]
    elif message.role == "tool":
        turns.append({"role": "user", "content": [tool_result_block(message)]})
    elif message.role == "user" and last["role"] == "user" and _results_count(last):
        last["content"] += [{"type": "text", "text": message.content}] if message.content else []
    elif message.tool_calls:
        text = [{"type": "text", "text": message.content}] if message.content else []
        turns.append({"role": "assistant", "content": [*text, *(tool_use_block(call) for call in message.tool_calls)]})
    else:
        turns.append({"role": message.role, "content": message.content})


def images_add(turns: list[dict[str, Any]], images: list[dict[str, Any]]) -> None:
    """The images go with the last user turn that has the user's text (else the last user turn), before
    that text and after any tool results, which must lead the turn."""
    users = [turn for turn in turns if turn["role"] == "user"]
    if not users:
        raise ValidationError([{"field": "inputs.messages", "problem": "images need a user message"}])
    turn = next((turn for turn in reversed(users) if len(_blocks_of(turn)) > _results_count(turn)), users[-1])
    blocks = _blocks_of(turn)
    results = _results_count(turn)
    turn["content"] = [*blocks[:results], *images, *blocks[results:]]


def chat_request(conversation: tuple[Message, ...], images: list[dict[str, Any]]) -> dict[str, Any]:
    """``messages`` and ``system`` for one conversation. System turns (``inputs.system`` and any
    ``system`` message) join into the top-level ``system``; tool turns become user turns of results; the
    images go with the last user turn, before its text, as Anthropic's vision guide advises."""
    system = "\n\n".join(m.content for m in conversation if m.role == "system")
    messages: list[dict[str, Any]] = []
    for message in conversation:
        if message.role != "system":
            turns_append(messages, message)
    if not messages:
        raise ValidationError([{"field": "inputs.messages", "problem": "needs a user or assistant message"}])
    if images:
        images_add(messages, images)
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


def tool_definitions(tools: tuple[Tool, ...]) -> list[dict[str, Any]]:
    """The client's tools as Anthropic's: ``input_schema`` is always an object schema (one that takes no
    arguments, an object of no properties)."""
    definitions = []
    for tool in tools:
        schema = {"type": "object", **(tool.parameters if tool.parameters is not None else {"properties": {}})}
        definition: dict[str, Any] = {"name": tool.name, "input_schema": schema}
        if tool.description:
            definition["description"] = tool.description
        if tool.strict is not None:
            definition["strict"] = tool.strict
        definitions.append(definition)
    return definitions


def tool_choice(choice: ToolChoice | None, *, parallel: bool | None) -> dict[str, Any] | None:
    """Anthropic's ``tool_choice``: auto, any (ours ``required``), none, or tool (a name). ``parallel:
    False`` (``parallel_tool_calls``) is ``disable_parallel_tool_use``, on an ``auto`` choice when none was
    made; ``none`` calls nothing, so it takes no such flag. None: Anthropic's default (auto, in parallel)."""
    if choice is None and parallel is not False:
        return None
    mode = choice.mode if choice is not None else "auto"
    mapped: dict[str, Any] = {"type": CHOICE_TYPES[mode]}
    if choice is not None and choice.name is not None:
        mapped["name"] = choice.name
    if parallel is False and mode != "none":
        mapped["disable_parallel_tool_use"] = True
    return mapped


def tool_options(parameters: dict[str, Any], tools: tuple[Tool, ...], choice: ToolChoice | None) -> dict[str, Any]:
    """``tools`` and ``tool_choice`` for the client's tools. A schema is answered through a tool of our own
    that the model must call, so it cannot come with the client's: a 422 says so. Without tools there is
    nothing to choose or to call in parallel (``tool_choice: none`` is then what happens anyway)."""
    parallel = parameters.get("parallel_tool_calls")
    if parallel is not None and not isinstance(parallel, bool):
        raise ValidationError([{"field": "parameters.parallel_tool_calls", "problem": "must be true or false"}])
    if not tools:
        return {}
    if "schema" in parameters:
        raise ValidationError([{"field": "parameters.schema", "problem": "not together with parameters.tools: "
                                                                       "Anthropic answers a schema through a tool"}])
    options: dict[str, Any] = {"tools": tool_definitions(tools)}
    if (mapped := tool_choice(choice, parallel=parallel)) is not None:
        options["tool_choice"] = mapped
    return options


def chat_options(parameters: dict[str, Any], default_max_tokens: int, tools: tuple[Tool, ...] = (),
                 choice: ToolChoice | None = None) -> dict[str, Any]:
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
    options.update(tool_options(parameters, tools, choice))
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


def tool_calls(message: Any) -> list[ToolCall]:
    """The answer's calls of the client's tools, their input as JSON text."""
    return [ToolCall(block.id, block.name, json.dumps(block.input, ensure_ascii=False))
            for block in _blocks(message) if getattr(block, "type", None) == "tool_use"]


def chat_answer(message: Any, *, provider: str, schema: dict[str, Any] | None) -> dict[str, Any]:
    """One ``data.responses`` item from a Message. With a schema, ``structured`` is the tool call's
    input and ``text`` its JSON; a refusal is the client's 400 with whatever reason came with it."""
    if message.stop_reason == "refusal":
        raise refused(provider, message_text(message).strip() or None)
    if schema is None:
        calls = tool_calls(message)
        answer: dict[str, Any] = {"text": message_text(message),
                                  "finish_reason": finish_reason(message.stop_reason, called=bool(calls))}
        if calls:
            answer["tool_calls"] = [call.as_dict() for call in calls]
        return answer
    _, wrapped = structured_tool(schema)
    value = structured_value(message, wrapped=wrapped)
    text = json.dumps(value, ensure_ascii=False) if value is not None else message_text(message)
    return {"text": text, "finish_reason": finish_reason(message.stop_reason), "structured": value}


def tool_call_piece(event: Any, index: int, positions: dict[int, int]) -> ToolCallDelta | None:
    """A streamed event as a piece of tool call (None for any other): a ``tool_use`` block's start names
    the call, each ``input_json_delta`` of that block adds to its arguments. ``positions`` maps the
    answer's content block indexes to the calls' positions (the tool_use blocks counted so far). Only the
    raw events count: the SDK's own ``input_json`` event repeats each delta. The input of a server tool's
    block (``server_tool_use``: Anthropic runs it) streams the same way, and is no call of the client's."""
    if event.type == "content_block_start" and event.content_block.type == "tool_use":
        positions[event.index] = len(positions)
        return ToolCallDelta(index, positions[event.index], event.content_block.id, event.content_block.name, "")
    if event.type == "content_block_delta" and event.delta.type == "input_json_delta" and event.index in positions:
        return ToolCallDelta(index, positions[event.index], None, None, event.delta.partial_json)
    return None


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
