"""What a prompt version says, checked when it is saved, and the request body it makes with a call's variables.

A variable is ``{{name}}`` (spaces inside the braces allowed; a name is a letter or ``_`` then letters, digits and
``_``), in the system text and in the messages' contents. Rendering replaces each with the call's value as text:
a string as it is, a number or boolean as JSON writes it. Every variable of the version must be given, and nothing
else (a misspelt name is a 422, not a silent gap in the prompt). Nothing else in the text is touched: no escapes,
no expressions, no conditionals, so that what was saved is what the model reads, bar the values.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from core.errors import ValidationError
from core.strings import json_problem, text_problem

VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]{0,63})\s*\}\}")
ROLES = ("user", "assistant")
MESSAGES_MAX = 200
VERSION_KEYS = ("system", "messages", "target", "parameters", "note")
VALUE_TYPES = (str, int, float, bool)


@dataclass(frozen=True)
class Content:
    """A version's content as saved (and as rendered: the same, with values in place of its variables)."""

    system: str
    messages: tuple[tuple[str, str], ...]
    target: str
    parameters: dict[str, Any]
    variables: tuple[str, ...]


def variables_of(system: str, messages: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for text in (system, *(content for _, content in messages)):
        for name in VARIABLE.findall(text):
            seen.setdefault(name, None)
    return tuple(seen)


def content_check(body: Any, *, target_problem) -> Content:
    """A version as a client sends it (``system``, ``messages``, ``target``, ``parameters``, ``note``), with every
    problem listed in one 422. ``target_problem(target)`` says what is wrong with a target (None: nothing)."""
    if not isinstance(body, dict):
        raise ValidationError([{"field": "body", "problem": "must be a JSON object"}])
    problems = [{"field": key, "problem": f"unknown key; accepted: {', '.join(VERSION_KEYS)}"}
                for key in body if key not in VERSION_KEYS]
    limit = settings.INFERGATE["MAX_PROMPT_CHARS"]
    system = body.get("system", "")
    if not isinstance(system, str) or system and (problem := text_problem(system, max_chars=limit)):
        problems.append({"field": "system", "problem": "must be text" if not isinstance(system, str) else problem})
        system = ""
    messages = _messages(body.get("messages", []), limit, problems)
    if not system and not messages:
        problems.append({"field": "messages", "problem": "a prompt needs a system text or at least one message"})
    target = body.get("target", "")
    if not isinstance(target, str) or len(target) > 300:
        problems.append({"field": "target", "problem": "must be 'provider/model', a model alias, or empty"})
    elif target and (problem := target_problem(target)):
        problems.append({"field": "target", "problem": problem})
    parameters = body.get("parameters", {})
    if not isinstance(parameters, dict):
        problems.append({"field": "parameters", "problem": "must be an object"})
    elif found := json_problem(parameters, "parameters"):
        problems.append(found)
    note = body.get("note", "")
    if not isinstance(note, str) or len(note) > 500:
        problems.append({"field": "note", "problem": "text of at most 500 characters"})
    if problems:
        raise ValidationError(problems)
    return Content(system=system, messages=messages, target=target, parameters=parameters,
                   variables=variables_of(system, messages))


def _messages(messages: Any, limit: int, problems: list[dict[str, str]]) -> tuple[tuple[str, str], ...]:
    if not isinstance(messages, list) or len(messages) > MESSAGES_MAX:
        problems.append({"field": "messages", "problem": f"an array of at most {MESSAGES_MAX} {{role, content}}"})
        return ()
    checked = []
    for i, message in enumerate(messages):
        field = f"messages[{i}]"
        if not isinstance(message, dict) or set(message) != {"role", "content"}:
            problems.append({"field": field, "problem": "must be {role, content}"})
        elif message["role"] not in ROLES:
            problems.append({"field": f"{field}.role", "problem": f"one of {', '.join(ROLES)} (the system text is "
                                                                  "`system`)"})
        elif not isinstance(message["content"], str) or (problem := text_problem(message["content"], max_chars=limit)):
            problems.append({"field": f"{field}.content",
                             "problem": "must be text" if not isinstance(message["content"], str) else problem})
        else:
            checked.append((message["role"], message["content"]))
    return tuple(checked)


def rendered(content: Content, variables: Any) -> Content:
    """The content with the call's values in place of its variables; a 422 naming each one missing, unknown or
    not a string, number or boolean."""
    if variables is None:
        variables = {}
    if not isinstance(variables, dict):
        raise ValidationError([{"field": "prompt.variables", "problem": "must be an object of name: value"}])
    problems = [{"field": f"prompt.variables.{name}", "problem": "required"} for name in content.variables
                if name not in variables]
    problems += [{"field": f"prompt.variables.{str(name)[:64]}",
                  "problem": "not a variable of this prompt version" + (
                      f" (it has {', '.join(content.variables)})" if content.variables else " (it has none)")}
                 for name in variables if name not in content.variables]
    values = {}
    for name in content.variables:
        value = variables.get(name)
        if name in variables and not isinstance(value, VALUE_TYPES):
            problems.append({"field": f"prompt.variables.{name}", "problem": "must be a string, number or boolean"})
        elif name in variables:
            values[name] = value if isinstance(value, str) else json.dumps(value)
            if problem := text_problem(values[name], max_chars=settings.INFERGATE["MAX_PROMPT_CHARS"]):
                problems.append({"field": f"prompt.variables.{name}", "problem": problem})
    if problems:
        raise ValidationError(problems)

    def fill(text: str) -> str:
        return VARIABLE.sub(lambda match: values[match.group(1)], text)

    return Content(system=fill(content.system), messages=tuple((role, fill(text)) for role, text in content.messages),
                   target=content.target, parameters=content.parameters, variables=content.variables)


def body_of(content: Content, request: dict[str, Any]) -> dict[str, Any]:
    """The native request body a rendered version makes, under what the request says itself: its target if it
    names one (else the version's), its parameters over the version's."""
    inputs: dict[str, Any] = {"messages": [{"role": role, "content": text} for role, text in content.messages]}
    if content.system:
        inputs["system"] = content.system
    body = {key: value for key, value in request.items() if key != "prompt"}
    names_target = any(key in request for key in ("provider", "model", "inference_name", "feature_uri"))
    if not names_target and content.target:
        provider, slash, model = content.target.partition("/")
        body.update({"provider": provider, "model": model} if slash else {"model": content.target})
    body["inputs"] = inputs
    body["parameters"] = {**content.parameters, **(request.get("parameters") or {})} \
        if isinstance(request.get("parameters", {}), dict) else request["parameters"]
    return body


def text_of(content: Content) -> str:
    """A version as lines of text, for a diff: the system text, each message, the target and the parameters."""
    lines = [f"target: {content.target or '(the request names it)'}",
             f"parameters: {json.dumps(content.parameters, sort_keys=True)}", "system:"]
    lines += [f"  {line}" for line in content.system.splitlines()] or ["  (none)"]
    for i, (role, text) in enumerate(content.messages):
        lines.append(f"messages[{i}] {role}:")
        lines += [f"  {line}" for line in text.splitlines()] or ["  (empty)"]
    return "\n".join(lines) + "\n"
