"""Tool calling, as every interface and provider shares it: the native shapes of ``parameters.tools``,
``parameters.tool_choice`` and of the tool turns of ``inputs.messages``, checked here into the typed
``Tool``/``ToolChoice``/``ToolCall`` that adapters translate to their provider's (docs/contract.md, tools).

- A tool: ``{"name", "description"?, "parameters"?: JSON Schema of its arguments, "strict"?}``.
- ``tool_choice``: ``"auto"``, ``"none"``, ``"required"``, or ``{"name"}`` (that tool, always).
- An assistant turn that called tools: ``{"role": "assistant", "content": text or null, "tool_calls":
  [{"id", "name", "arguments": JSON text}]}``; a tool's result: ``{"role": "tool", "tool_call_id", "content"}``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings

from core.errors import ValidationError
from core.strings import text_problem
from inference.types import Message, Tool, ToolCall, ToolChoice

MAX_TOOLS = 1024  # an agent with many MCP servers offers hundreds; a provider may take fewer (OpenAI: 128)
TOOL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")  # what OpenAI, Anthropic and Gemini all take
CALL_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
TOOL_KEYS = {"name", "description", "parameters", "strict"}
CALL_KEYS = {"id", "name", "arguments"}
CHOICES = ("auto", "none", "required")


def tool_name_problem(value: Any) -> str | None:
    if not isinstance(value, str) or not TOOL_NAME.match(value):
        return "must be a name of 1 to 64 letters, digits, '_' or '-', starting with a letter or '_'"
    return None


def tools_problems(value: Any, field: str = "parameters.tools") -> list[dict[str, str]]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_TOOLS:
        return [{"field": field, "problem": f"must be an array of 1 to {MAX_TOOLS} tools "
                                            "{name, description?, parameters?}"}]
    problems, names = [], set()
    for i, tool in enumerate(value):
        here = f"{field}[{i}]"
        if not isinstance(tool, dict) or "name" not in tool or not set(tool) <= TOOL_KEYS:
            problems.append({"field": here, "problem": "must be an object {name, description?, parameters?, strict?}"})
            continue
        if problem := tool_name_problem(tool["name"]):
            problems.append({"field": f"{here}.name", "problem": problem})
        elif tool["name"] in names:
            problems.append({"field": f"{here}.name", "problem": "repeats an earlier tool's name"})
        names.add(tool["name"])
        # A description is a prompt of its own (Claude Code's Bash tool explains itself in 10,000+ characters).
        max_chars = settings.INFERGATE["MAX_PROMPT_CHARS"]
        if "description" in tool and (problem := text_problem(tool["description"], max_chars=max_chars)):
            problems.append({"field": f"{here}.description", "problem": problem})
        schema = tool.get("parameters")
        if schema is not None and (not isinstance(schema, dict) or schema.get("type", "object") != "object"):
            problems.append({"field": f"{here}.parameters", "problem": "must be a JSON Schema of type object"})
        if "strict" in tool and not isinstance(tool["strict"], bool):
            problems.append({"field": f"{here}.strict", "problem": "must be true or false"})
    return problems


def tool_choice_problem(value: Any) -> str | None:
    if value in CHOICES:
        return None
    if isinstance(value, dict) and set(value) == {"name"} and tool_name_problem(value["name"]) is None:
        return None
    return "must be 'auto', 'none', 'required' or {name} of one of the tools"


def tools_parse(parameters: dict[str, Any]) -> tuple[tuple[Tool, ...], ToolChoice | None]:
    """The checked tools and tool choice of a call (its parameters' types already checked)."""
    tools = tuple(Tool(name=t["name"], description=t.get("description", ""), parameters=t.get("parameters"),
                       strict=t.get("strict")) for t in parameters.get("tools") or ())
    value = parameters.get("tool_choice")
    if value is None:
        return tools, None
    choice = ToolChoice(value) if isinstance(value, str) else ToolChoice("function", value["name"])
    if choice.mode != "none" and not tools:
        raise ValidationError([{"field": "parameters.tool_choice", "problem": "needs parameters.tools"}])
    if choice.name is not None and choice.name not in {tool.name for tool in tools}:
        raise ValidationError([{"field": "parameters.tool_choice.name", "problem": "names no tool in parameters.tools"}])
    return tools, choice


def arguments_text(value: Any) -> str:
    """A call's arguments as JSON text: as sent when a string, encoded when an object."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def tool_calls_parse(value: Any, field: str, problems: list[dict[str, str]], max_chars: int) -> tuple[ToolCall, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_TOOLS:
        problems.append({"field": field, "problem": f"must be an array of 1 to {MAX_TOOLS} calls {{id, name, arguments}}"})
        return ()
    calls = []
    for i, call in enumerate(value):
        here = f"{field}[{i}]"
        if not isinstance(call, dict) or set(call) != CALL_KEYS:
            problems.append({"field": here, "problem": "must be an object {id, name, arguments}"})
            continue
        if not isinstance(call["id"], str) or not CALL_ID.match(call["id"]):
            problems.append({"field": f"{here}.id", "problem": "must be an id of 1 to 128 letters, digits or _ . : -"})
        if problem := tool_name_problem(call["name"]):
            problems.append({"field": f"{here}.name", "problem": problem})
        arguments = call["arguments"]
        if not isinstance(arguments, (str, dict)) or len(arguments_text(arguments)) > max_chars:
            problems.append({"field": f"{here}.arguments", "problem": "must be JSON text or an object, at most "
                                                                      f"{max_chars} characters"})
            continue
        calls.append(ToolCall(call["id"], call["name"], arguments_text(arguments)))
    return tuple(calls)


def tool_turns_check(messages: tuple[Message, ...]) -> None:
    """The tool turns right after an assistant turn that called tools answer its calls, each once, and all of
    them, before the conversation goes on: what OpenAI and Anthropic require (Gemini is lenient), checked here so
    that every provider's client gets the same 422 before any call."""
    problems: list[dict[str, str]] = []
    pending: dict[str, str] = {}  # the calls awaiting their results: id -> where the call is

    def unanswered() -> None:
        problems.extend({"field": field, "problem": f"the call {call_id!r} has no tool turn answering it"}
                        for call_id, field in pending.items())
        pending.clear()

    for i, message in enumerate(messages):
        if message.role == "tool":
            if pending.pop(message.tool_call_id or "", None) is None:
                problems.append({"field": f"inputs.messages[{i}].tool_call_id", "problem": "answers no call of the "
                                 "assistant turn before it (or one answered already)"})
            continue
        unanswered()
        for position, call in enumerate(message.tool_calls):
            if call.id in pending:
                problems.append({"field": f"inputs.messages[{i}].tool_calls[{position}].id",
                                 "problem": "repeats the id of another call"})
            pending[call.id] = f"inputs.messages[{i}].tool_calls[{position}]"
    unanswered()
    if problems:
        raise ValidationError(problems)


def tool_name_of(messages: tuple[Message, ...], call_id: str | None) -> str:
    """The name of the tool whose call ``call_id`` is (Gemini's function responses carry the name)."""
    for message in messages:
        for call in message.tool_calls:
            if call.id == call_id:
                return call.name
    return ""


def arguments_object(text: str) -> dict[str, Any]:
    """Arguments as an object, for providers that take one (Anthropic, Gemini): JSON text that is not an
    object travels as ``{"value": ...}``; text that is not JSON as ``{"text": ...}``."""
    try:
        value = json.loads(text) if text.strip() else {}
    except ValueError:
        return {"text": text}
    return value if isinstance(value, dict) else {"value": value}
