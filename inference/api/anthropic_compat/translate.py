"""Anthropic's Messages API request as the native body, and the native answer as Anthropic's Message.

A Claude target gets the client's own body (inference/providers/anthropic/wire.py); the native translation
then only serves the checks every request passes (the target, the model's declared parameters, the tool
turns) and the limits' estimate. Any other target answers the translation: text, images, tools and tool
turns, sampling and stop parameters. What it cannot carry (documents, server tools, images in an earlier turn,
``container``, ``mcp_servers``...) is listed in ``untranslated``, which only such a target refuses (a 400 naming
each field). What means nothing to another model is dropped: ``cache_control`` marks, earlier turns'
``thinking`` blocks, ``thinking`` and ``metadata``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from core.errors import ValidationError
from core.strings import type_name

# Keys of a Messages request: translated, ignored for other targets (meaningless to them), or neither.
TRANSLATED = {"model", "messages", "system", "max_tokens", "temperature", "top_p", "top_k", "stop_sequences",
              "tools", "tool_choice", "stream", "output_config"}
# Claude's own controls, which mean nothing to another model: its reasoning (thinking, output_config.effort), how
# it trims its context (context_management), who asks (metadata), its capacity tier.
DROPPED = {"metadata", "thinking", "service_tier", "context_management"}
COUNT_KEYS = {"model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers"}
ROLES = ("user", "assistant", "system")  # Claude Code puts system turns between the others
NATIVE_STOPS = 4  # native ``stop`` takes up to 4 sequences
EMPTY = "(empty)"  # a turn with nothing but what the native shape keeps apart (images, a silent tool)
STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "cancelled": "end_turn"}


@dataclass
class Translation:
    """The native body being built, and what it could not carry (``{"field", "problem"}`` each)."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    images: list[dict[str, str]] = field(default_factory=list)
    image_turn: int | None = None  # the native message the images belong with
    untranslated: list[dict[str, str]] = field(default_factory=list)

    def leave(self, field_: str, problem: str) -> None:
        self.untranslated.append({"field": field_, "problem": problem})


def _required_list(body: dict[str, Any], key: str) -> list[Any]:
    value = body.get(key)
    if not isinstance(value, list) or not value:
        raise ValidationError([{"field": key, "problem": f"must be a non-empty array, not {type_name(value)}"}])
    return value


def _text_of(content: Any, field_: str, out: Translation, *, kind: str) -> str:
    """The text blocks of a ``system`` or a tool result (a string, or text blocks); others are left out."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise ValidationError([{"field": field_, "problem": "must be a string or an array of content blocks"}])
    texts = []
    for i, block in enumerate(content):
        if isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        else:
            out.leave(f"{field_}[{i}]", f"only text blocks of a {kind} translate to other providers")
    return "\n\n".join(texts)


def _image(block: dict[str, Any], field_: str, out: Translation) -> dict[str, str] | None:
    source = block.get("source")
    if isinstance(source, dict) and source.get("type") == "base64" and isinstance(source.get("data"), str):
        return {"image_base64": f"data:{source.get('media_type', 'image/png')};base64,{source['data']}"}
    if isinstance(source, dict) and source.get("type") == "url" and isinstance(source.get("url"), str):
        return {"image_url": source["url"]}
    out.leave(field_, "only base64 and url image sources translate to other providers")
    return None


def _turn(message: Any, i: int, out: Translation) -> None:
    """One Anthropic turn as native turns: a user's tool results first (one ``tool`` turn each), then its text
    and images; an assistant's text with its ``tool_use`` blocks as tool calls."""
    field_ = f"messages[{i}]"
    if not isinstance(message, dict) or message.get("role") not in ROLES or "content" not in message:
        raise ValidationError([{"field": field_, "problem": "must be {role: user|assistant, content}"}])
    role, content = message["role"], message["content"]
    if role == "system":
        out.messages.append({"role": "system", "content": _text_of(content, f"{field_}.content", out,
                                                                   kind="system turn") or EMPTY})
        return
    if isinstance(content, str):
        out.messages.append({"role": role, "content": content or EMPTY})
        return
    if not isinstance(content, list):
        raise ValidationError([{"field": f"{field_}.content", "problem": "must be a string or an array of blocks"}])
    texts, calls, images = [], [], []
    for j, block in enumerate(content):
        here = f"{field_}.content[{j}]"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif kind == "image" and role == "user":
            images += [image] if (image := _image(block, here, out)) else []
        elif kind == "tool_use" and role == "assistant" and isinstance(block.get("id"), str):
            calls.append({"id": block["id"], "name": block.get("name"),
                          "arguments": json.dumps(block.get("input", {}), ensure_ascii=False)})
        elif kind == "tool_result" and role == "user":
            result = _text_of(block.get("content", ""), f"{here}.content", out, kind="tool result")
            if block.get("is_error") is True:
                result = f"Error: {result}"
            out.messages.append({"role": "tool", "tool_call_id": block.get("tool_use_id"), "content": result})
        elif kind in ("thinking", "redacted_thinking") and role == "assistant":
            continue  # the model's earlier reasoning: Claude's own, meaningless to another model
        else:
            out.leave(here, f"a {kind or type_name(block)} block does not translate to other providers")
    if calls:
        out.messages.append({"role": "assistant", "content": "\n".join(texts) or None, "tool_calls": calls})
    elif texts or images or not out.messages or out.messages[-1]["role"] != "tool":
        out.messages.append({"role": role, "content": "\n".join(texts) or EMPTY})
    if images:
        if out.images:
            out.leave(f"{field_}.content", "images in more than one turn do not translate to other providers "
                                           "(they take the images of the last user turn)")
        out.images, out.image_turn = images, len(out.messages) - 1


def _tools(tools: Any, out: Translation) -> list[dict[str, Any]]:
    if not isinstance(tools, list):
        raise ValidationError([{"field": "tools", "problem": "must be an array of tools"}])
    native = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise ValidationError([{"field": f"tools[{i}]", "problem": "must be {name, description?, input_schema}"}])
        if tool.get("type", "custom") != "custom" or "input_schema" not in tool:
            out.leave(f"tools[{i}]", f"Anthropic's {tool.get('type', 'server')} tool does not translate to other "
                                     "providers")
            continue
        native.append({"name": tool["name"], "parameters": tool["input_schema"],
                       **({"description": tool["description"]} if tool.get("description") else {})})
    return native


def _tool_choice(choice: Any, parameters: dict[str, Any], out: Translation) -> None:
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind not in ("auto", "any", "tool", "none"):
        raise ValidationError([{"field": "tool_choice", "problem": "must be {type: auto|any|tool|none}"}])
    if kind == "tool" and choice.get("name") not in {tool["name"] for tool in parameters.get("tools", ())}:
        out.leave("tool_choice", f"it names {choice.get('name')!r}, a tool that does not translate to other providers")
        return
    parameters["tool_choice"] = {"auto": "auto", "any": "required", "none": "none"}.get(kind) or {"name": choice.get("name")}
    if choice.get("disable_parallel_tool_use") is True:
        parameters["parallel_tool_calls"] = False


def _output_config(config: Any, parameters: dict[str, Any], out: Translation) -> None:
    """``output_config``: its json_schema ``format`` is the native ``schema``; its ``effort`` is Claude's
    reasoning budget, dropped for others; anything else does not translate."""
    if not isinstance(config, dict):
        raise ValidationError([{"field": "output_config", "problem": "must be an object"}])
    format_ = config.get("format")
    if isinstance(format_, dict) and format_.get("type") == "json_schema" and isinstance(format_.get("schema"), dict):
        parameters["schema"] = format_["schema"]
    elif format_ is not None:
        out.leave("output_config.format", "only a json_schema format translates to other providers")
    out.untranslated += [{"field": f"output_config.{key}", "problem": "does not translate to other providers"}
                         for key in config if key not in ("format", "effort")]


def _parameters(body: dict[str, Any], out: Translation) -> dict[str, Any]:
    parameters = {name: body[name] for name in ("max_tokens", "temperature", "top_p", "top_k") if name in body}
    stops = body.get("stop_sequences")
    if isinstance(stops, list) and 0 < len(stops) <= NATIVE_STOPS:
        parameters["stop"] = stops
    elif stops:
        out.leave("stop_sequences", f"more than {NATIVE_STOPS} stop sequences do not translate to other providers")
    if "output_config" in body:
        _output_config(body["output_config"], parameters, out)
    if body.get("tools"):
        if tools := _tools(body["tools"], out):
            parameters["tools"] = tools
        if "tool_choice" in body:
            _tool_choice(body["tool_choice"], parameters, out)
    return parameters


def native_body(body: dict[str, Any], *, counting: bool = False) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The native body of a Messages (or count_tokens) request, and what it could not carry."""
    out = Translation()
    for i, message in enumerate(_required_list(body, "messages")):
        _turn(message, i, out)
    inputs: dict[str, Any] = {"messages": out.messages}
    if body.get("system"):
        inputs["system"] = _text_of(body["system"], "system", out, kind="system prompt") or EMPTY
    if out.images:
        if out.image_turn != max(i for i, m in enumerate(out.messages) if m["role"] == "user"):
            out.leave("messages", "images of a turn before the last user turn do not translate to other providers")
        inputs["images"] = out.images
    known = COUNT_KEYS | DROPPED if counting else TRANSLATED | DROPPED
    out.untranslated += [{"field": key, "problem": "does not translate to other providers"}
                         for key in body if key not in known]
    if counting:  # only what the count reads: the turns, the system prompt and the tools
        tools = _tools(body["tools"], out) if body.get("tools") else []
        parameters = {"tools": tools} if tools else {}
    else:
        parameters = _parameters(body, out)
    return {"model": body.get("model"), "inputs": inputs, "parameters": parameters}, out.untranslated


# -- the answer -------------------------------------------------------------------------------------

def usage_object(tokens: dict[str, int]) -> dict[str, int]:
    """Native ``tokens_used`` as Anthropic's usage: its input excludes what was read from or written to the cache."""
    read, written = tokens.get("cache_read", 0), tokens.get("cache_write", 0)
    return {"input_tokens": max(0, tokens["prompt"] - read - written), "output_tokens": tokens["completion"],
            "cache_read_input_tokens": read, "cache_creation_input_tokens": written}


def arguments_input(arguments: str) -> Any:
    """A tool call's arguments as Anthropic's ``input`` object (``{}`` for none; text that is not an object is
    kept as ``{"arguments": text}``: the client sees what the model wrote)."""
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return {"arguments": arguments}
    return value if isinstance(value, dict) else {"arguments": value}


def message_object(response: dict[str, Any], message_id: str) -> dict[str, Any]:
    """A native chat answer as Anthropic's Message (a target that is not Claude; model ``provider/model``)."""
    answer = response["data"]["responses"][0]
    content: list[dict[str, Any]] = [{"type": "text", "text": answer["text"]}] if answer.get("text") else []
    content += [{"type": "tool_use", "id": call["id"], "name": call["name"], "input": arguments_input(call["arguments"])}
                for call in answer.get("tool_calls") or ()]
    return {"id": message_id, "type": "message", "role": "assistant",
            "model": f"{response['provider']}/{response['model']}", "content": content,
            "stop_reason": STOP_REASONS.get(answer["finish_reason"], "end_turn"), "stop_sequence": None,
            "usage": usage_object(response["tokens_used"])}
