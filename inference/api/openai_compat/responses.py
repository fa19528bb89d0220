"""POST /v1/responses: OpenAI's Responses API. An ``openai`` target gets the client's body as it is and answers as
OpenAI does, stream events included (inference/providers/openai/wire.py): built-in tools, reasoning items,
``include``, ``previous_response_id`` and ``conversation`` with OpenAI's own stored state. Any other target
(compatible endpoints too) answers one native ``messages`` conversation, shaped as a ``response`` object or, with
``stream``, as the Responses stream events (``response.created`` ... ``response.completed``), each with its
``sequence_number``. A model named without a provider is the namespace's alias of that name, else OpenAI's model
(as ``/v1/messages`` names Claude's); plugins are ``plugin/{inference_name}``.

The translation: ``input`` a string (one user message) or items: messages (roles user, assistant, system and
developer, the last two as ``system``; content a string or ``input_text``/``output_text``/``input_image``
parts, images going with the last user message as natively), ``function_call`` items (joined into the
assistant turn before them) and ``function_call_output`` items (``tool`` turns); ``instructions`` is the
native ``system``; function ``tools``, ``tool_choice``, ``parallel_tool_calls``; ``text.format``
json_schema/json_object is ``parameters.schema``; ``max_output_tokens`` is ``max_tokens``;
``reasoning.effort`` is ``reasoning_effort``; every other field passes through to the target as a parameter.
What has no native form (OpenAI's stored state: ``previous_response_id``, ``conversation``, ``prompt``, a
``function_call_output`` answering a stored call; ``background``; built-in tools and a ``tool_choice`` naming
one; reasoning, item_reference and other items; ``input_file``/``input_audio`` parts; images by ``file_id``) is
left out of the native body and listed as ``untranslated``: a 400 naming each field for any target but OpenAI
(inference/targets.py, ``wire_call``). ``metadata``, ``user``, ``truncation`` are repeated in the response object
and go no further; ``store``, ``include``, ``stream_options`` are accepted and ignored.

The translation is pure: ``responses_request_parse`` takes the parsed Responses body and returns the native
body (keeping the body it came from and what it left out), ``response_object`` and ``ResponseEventEncoder``
shape the service's answer, or relay OpenAI's own. Errors are OpenAI's (``openai_route``), with the native field
at fault renamed to the Responses one (``inputs.messages[2].content`` -> ``input[4].content``,
``parameters.max_tokens`` -> ``max_output_tokens``).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from core.errors import InfergateError, ValidationError
from core.strings import name_problem, wire_json_problem
from inference.api.edge import EdgeRequest, refusing
from inference.api.openai_compat.errors import openai_error_from_envelope
from inference.api.openai_compat.transport import (
    cache_headers,
    cache_report,
    extra_parameters,
    model_target,
    object_check,
    openai_route,
)
from inference.request import WiredBody
from inference.types import WireRequest

RESPONSES_FORMAT = "openai.responses"
# Translated, or accepted and kept out of the target's parameters; any other key passes through to it.
ACCEPTED = ("model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "text",
            "max_output_tokens", "reasoning", "temperature", "top_p", "stream", "stream_options", "metadata",
            "user", "store", "include", "truncation", "background", "previous_response_id", "conversation", "prompt")
PASSED = ("temperature", "top_p")
# What OpenAI keeps for the client: only an openai target has it.
INSTEAD = ("; for other targets send the whole conversation as input items (the earlier input, the response's "
           "output items, your function_call_output items)")
STORED = {
    "previous_response_id": "continues a response OpenAI stored: only an openai target has it" + INSTEAD,
    "conversation": "continues a conversation OpenAI stored: only an openai target has it" + INSTEAD,
    "prompt": "a prompt template OpenAI stored: only an openai target has it; for other targets send its text as "
              "instructions and input",
}
ID_CHARS = 200
ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}
TEXT_PARTS = ("input_text", "output_text")
PART_SHAPES = {"input_text": "{type: input_text, text}", "input_image": "{type: input_image, image_url}",
               "output_text": "{type: output_text, text}", "refusal": "{type: refusal, refusal}"}
UNTRANSLATED_PARTS = ("input_file", "input_audio")
ITEM_TYPES = ("message", "function_call", "function_call_output")
TOOL_FIELDS = ("name", "description", "parameters", "strict")
MAX_METADATA = 16
LEFT_OUT = "(left out)"  # the native text of a turn whose every part was left out (only OpenAI gets the request)
# A native parameter -> the Responses field it came from, for the errors that name it.
PARAMETER_FIELDS = {"max_tokens": "max_output_tokens", "schema": "text.format.schema",
                    "reasoning_effort": "reasoning.effort", "verbosity": "text.verbosity"}
NATIVE_TURN = re.compile(r"^inputs\.messages\[(\d+)\](?:\.tool_calls\[(\d+)\])?(.*)$")
# A failure's status -> the ``error.code`` of a failed response (one of those OpenAI's SDK lists).
FAILURE_CODES = {400: "invalid_prompt", 413: "invalid_prompt", 422: "invalid_prompt", 429: "rate_limit_exceeded"}
# A native finish_reason that leaves the response incomplete -> OpenAI's incomplete_details.reason.
INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}
# The events after which a relayed stream has said that it failed.
FAILURE_EVENTS = ("response.failed", "error")


@dataclass
class Origin:
    """Where a native turn came from: the input item (``input[3]``, or ``input`` for a string), the items
    of the calls it made, and whether it is a tool turn (its content was the item's ``output``)."""

    item: str
    calls: list[str] = field(default_factory=list)
    tool: bool = False


@dataclass
class ResponsesRequest:
    source: dict[str, Any]  # the Responses body as the client sent it (parsed), for an OpenAI target
    body: dict[str, Any]  # the native body
    stream: bool
    echo: dict[str, Any]  # the request's settings, repeated in every response object
    origins: list[Origin]  # per native turn
    untranslated: list[dict[str, str]] = field(default_factory=list)  # what the native body leaves out

    def wired(self, raw: bytes | None) -> WiredBody:
        """What the service takes: the native body beside the client's own (``raw``: its bytes)."""
        return WiredBody(native=self.body, wire=WireRequest(format=RESPONSES_FORMAT, provider="openai",
                                                            body=self.source, raw=raw,
                                                            untranslated=tuple(self.untranslated)))


# -- the request -------------------------------------------------------------------------------------

def _left(where: str, problem: str) -> dict[str, str]:
    return {"field": where, "problem": problem}


def _parts_text(parts: Any, where: str, images: list[Any] | None, allowed: tuple[str, ...],
                left: list[dict[str, str]]) -> str:
    """The text of content parts (joined with newlines); ``input_image`` URLs are appended to ``images`` (None:
    images have no native form here). Parts with no native form are added to ``left``; a turn that kept no text
    of them says ``LEFT_OUT``."""
    if not isinstance(parts, list) or not parts:
        raise ValidationError([{"field": where, "problem": "must be a string or a non-empty array of parts"}])
    texts, leaving = [], len(left)
    for j, part in enumerate(parts):
        here = f"{where}[{j}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in allowed and kind in TEXT_PARTS and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind in allowed and kind == "refusal" and isinstance(part.get("refusal"), str):
            texts.append(part["refusal"])
        elif kind in allowed and kind == "input_image" and images is None:
            left.append(_left(here, "images in a function_call_output have no native form"))
        elif kind in allowed and kind == "input_image":
            if not isinstance(part.get("image_url"), str):
                left.append(_left(here, "an image given by file_id has no native form: only images given by "
                                        "image_url (a URL or a data: URL) are translated"))
            else:
                images.append(part["image_url"])
        elif kind in UNTRANSLATED_PARTS:
            left.append(_left(here, f"{kind} parts have no native form"))
        else:
            raise ValidationError([{"field": here, "problem": "must be one of the parts "
                                                              + ", ".join(PART_SHAPES[name] for name in allowed)}])
    return "\n".join(texts) if texts or len(left) == leaving else LEFT_OUT


class _Conversation:
    """Native turns built from Responses input items, each with its ``Origin``, and what they left out.
    ``stateful``: the request continues what OpenAI stored, whose calls its results may answer."""

    def __init__(self, stateful: bool) -> None:
        self.stateful = stateful
        self.messages: list[dict[str, Any]] = []
        self.origins: list[Origin] = []
        self.images: list[Any] = []
        self.left: list[dict[str, str]] = []
        self.called: set[Any] = set()  # the call ids of the function_call items so far

    def add(self, turn: dict[str, Any], origin: Origin) -> None:
        self.messages.append(turn)
        self.origins.append(origin)

    def message(self, item: dict[str, Any], where: str) -> None:
        role = ROLES.get(item.get("role")) if isinstance(item.get("role"), str) else None
        if role is None:
            raise ValidationError([{"field": f"{where}.role", "problem": f"must be one of {', '.join(ROLES)}"}])
        content = item.get("content")
        if not isinstance(content, str):
            allowed = ("output_text", "refusal") if role == "assistant" else ("input_text", "input_image")
            content = _parts_text(content, f"{where}.content", self.images, allowed, self.left)
        self.add({"role": role, "content": content}, Origin(where))

    def function_call(self, item: dict[str, Any], where: str) -> None:
        """A call joins the assistant turn right before it (its text, or the calls made with it)."""
        call = {"id": item.get("call_id"), "name": item.get("name"), "arguments": item.get("arguments")}
        self.called.add(call["id"] if isinstance(call["id"], str) else None)
        last = self.messages[-1] if self.messages else None
        if last is not None and last["role"] == "assistant":
            if "tool_calls" not in last:
                last["tool_calls"] = []
            last["tool_calls"].append(call)
            self.origins[-1].calls.append(where)
            return
        self.add({"role": "assistant", "content": None, "tool_calls": [call]}, Origin(where, calls=[where]))

    def function_call_output(self, item: dict[str, Any], where: str) -> None:
        """A ``tool`` turn; one that answers a call OpenAI stored (not in the input) is left out, and stands as a
        user turn for the native checks."""
        output = item.get("output")
        if isinstance(output, list):
            output = _parts_text(output, f"{where}.output", None, ("input_text", "input_image"), self.left)
        if self.stateful and item.get("call_id") not in self.called:
            self.left.append(_left(where, "answers a call of the response or conversation OpenAI stored: only an "
                                          "openai target has it" + INSTEAD))
            blank = isinstance(output, str) and not output.strip()
            self.add({"role": "user", "content": LEFT_OUT if blank else output}, Origin(where))
            return
        self.add({"role": "tool", "tool_call_id": item.get("call_id"), "content": output}, Origin(where, tool=True))


def _stateful(body: dict[str, Any]) -> bool:
    """Whether the request continues what OpenAI stored: a response, a conversation, a prompt, stored items."""
    items = body.get("input") if isinstance(body.get("input"), list) else []
    return any(name in body for name in STORED) or any(
        isinstance(item, dict) and item.get("type") == "item_reference" for item in items)


def _conversation(body: dict[str, Any]) -> _Conversation:
    """The native turns of ``input``; a request whose every item was left out (or that continues a stored
    response with no input) stands as one ``LEFT_OUT`` user turn for the native checks."""
    conversation = _Conversation(_stateful(body))
    value = body.get("input")
    if isinstance(value, str):
        conversation.add({"role": "user", "content": value}, Origin("input"))
    elif value is not None or not conversation.stateful:
        _items(value, conversation)
    if not conversation.messages:
        conversation.add({"role": "user", "content": LEFT_OUT}, Origin("input"))
    return conversation


def _items(value: Any, conversation: _Conversation) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError([{"field": "input", "problem": "required: a string or a non-empty array of items"}])
    for i, item in enumerate(value):
        where = f"input[{i}]"
        if not isinstance(item, dict):
            raise ValidationError([{"field": where, "problem": "must be an object: a message, a function_call or a "
                                                               "function_call_output item"}])
        kind = item.get("type", "message" if "role" in item else None)
        if kind == "message":
            conversation.message(item, where)
        elif kind == "function_call":
            conversation.function_call(item, where)
        elif kind == "function_call_output":
            conversation.function_call_output(item, where)
        elif isinstance(kind, str):
            conversation.left.append(_left(where, f"items of type {kind!r} have no native form: only "
                                                  f"{', '.join(ITEM_TYPES)} items are translated"))
        else:
            raise ValidationError([{"field": f"{where}.type", "problem": "must be message, function_call or "
                                                                         "function_call_output"}])


def _tools(tools: Any, left: list[dict[str, str]]) -> list[dict[str, Any]] | Any:
    """Function tools ``{type: function, name, description?, parameters?, strict?}`` as native tools; any
    other tool (web_search, file_search, computer use, mcp, ...) runs at OpenAI, and is left out."""
    if not isinstance(tools, list):
        return tools  # for the native check to name
    native = []
    for i, tool in enumerate(tools):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind == "function":
            native.append({key: tool[key] for key in TOOL_FIELDS if tool.get(key) is not None})
        elif isinstance(kind, str):
            left.append(_left(f"tools[{i}]", f"the tool type {kind!r} runs at OpenAI: only an openai target has it; "
                                             "other targets take function tools"))
        else:
            raise ValidationError([{"field": f"tools[{i}]", "problem": "must be {type: function, name, description?, "
                                                                       "parameters?, strict?}"}])
    return native


def _tool_choice(choice: Any, left: list[dict[str, str]]) -> Any:
    if isinstance(choice, dict) and choice.get("type") == "function":
        return {"name": choice.get("name")}
    if isinstance(choice, dict) and isinstance(choice.get("type"), str):
        left.append(_left("tool_choice", f"{{type: {choice['type']}}} names what only an openai target has; other "
                                         "targets take 'auto', 'none', 'required' or {type: function, name}"))
        return None
    if isinstance(choice, dict):
        raise ValidationError([{"field": "tool_choice", "problem": "must be 'auto', 'none', 'required' or "
                                                                   "{type: function, name}"}])
    return choice


def _text(value: Any) -> dict[str, Any]:
    """``text``: its ``format`` as ``parameters.schema`` (json_object: a schema of any object; text: none),
    its ``verbosity`` passed on."""
    if not isinstance(value, dict):
        raise ValidationError([{"field": "text", "problem": "must be an object {format?, verbosity?}"}])
    parameters = {"verbosity": value["verbosity"]} if value.get("verbosity") is not None else {}
    format_ = value.get("format")
    kind = format_.get("type") if isinstance(format_, dict) else None
    if format_ is None or kind == "text":
        return parameters
    if kind == "json_object":
        return {**parameters, "schema": {"type": "object"}}
    if kind == "json_schema" and isinstance(format_.get("schema"), dict):
        return {**parameters, "schema": format_["schema"]}
    raise ValidationError([{"field": "text.format", "problem": "must be {type: text}, {type: json_object} or "
                                                               "{type: json_schema, name, schema, strict?}"}])


def _reasoning_effort(value: Any) -> Any:
    if not isinstance(value, dict):
        raise ValidationError([{"field": "reasoning", "problem": "must be an object {effort?, summary?}"}])
    return value.get("effort")


def _parameters(body: dict[str, Any], left: list[dict[str, str]]) -> dict[str, Any]:
    parameters = {**extra_parameters(body, ACCEPTED), **{name: body[name] for name in PASSED if name in body}}
    if "max_output_tokens" in body:
        parameters["max_tokens"] = body["max_output_tokens"]
    if "reasoning" in body and (effort := _reasoning_effort(body["reasoning"])) is not None:
        parameters["reasoning_effort"] = effort
    if "text" in body:
        parameters.update(_text(body["text"]))
    leaving = len(left)
    tools = _tools(body["tools"], left) if "tools" in body else []
    if tools != []:
        parameters["tools"] = tools
    # Without tools, "auto" and "none" say nothing and parallel_tool_calls means nothing: clients that always
    # send them still reach models that take no tool parameters. Without the tools left out, nothing is chosen.
    choice = _tool_choice(body["tool_choice"], left) if "tool_choice" in body else None
    if choice is not None and (tools != [] or (choice not in ("auto", "none") and len(left) == leaving)):
        parameters["tool_choice"] = choice
    if "parallel_tool_calls" in body and tools != []:
        parameters["parallel_tool_calls"] = body["parallel_tool_calls"]
    return parameters


def _stored_check(body: dict[str, Any]) -> list[dict[str, str]]:
    """What continues OpenAI's stored state (or runs in its background), checked for its shape and left out."""
    problems = []
    if "previous_response_id" in body and (problem := name_problem(body["previous_response_id"], max_chars=ID_CHARS)):
        problems.append({"field": "previous_response_id", "problem": problem})
    conversation = body.get("conversation")
    if "conversation" in body and name_problem(conversation, max_chars=ID_CHARS) and (
            not isinstance(conversation, dict) or name_problem(conversation.get("id"), max_chars=ID_CHARS)):
        problems.append({"field": "conversation", "problem": "must be a conversation id, or {id}"})
    if "prompt" in body and (not isinstance(body["prompt"], dict)
                             or name_problem(body["prompt"].get("id"), max_chars=ID_CHARS)):
        problems.append({"field": "prompt", "problem": "must be {id, version?, variables?}"})
    if not isinstance(body.get("background", False), bool):
        problems.append({"field": "background", "problem": "must be true or false"})
    if problems:
        raise ValidationError(problems)
    left = [_left(name, problem) for name, problem in STORED.items() if name in body]
    if body.get("background") is True:
        left.append(_left("background", "background responses run at OpenAI: only an openai target has them; "
                                        "use stream: true for long answers"))
    return left


def _settings_check(body: dict[str, Any]) -> bool:
    """The fields that are only checked here: ``stream`` (returned), ``metadata``, ``include``, ``truncation``."""
    problems = []
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        problems.append({"field": "stream", "problem": "must be true or false"})
    metadata = body.get("metadata", {})
    if not isinstance(metadata, dict) or len(metadata) > MAX_METADATA or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in metadata.items()):
        problems.append({"field": "metadata", "problem": f"must be an object of at most {MAX_METADATA} string values"})
    if not isinstance(body.get("include", []), list):
        problems.append({"field": "include", "problem": "must be an array"})
    if body.get("truncation", "disabled") not in ("auto", "disabled"):
        problems.append({"field": "truncation", "problem": "must be 'auto' or 'disabled'"})
    if problems:
        raise ValidationError(problems)
    return stream


def _echo(body: dict[str, Any], tools: list[dict[str, Any]]) -> dict[str, Any]:
    """What a response object repeats of the request (OpenAI's defaults where it sent nothing)."""
    return {"instructions": body.get("instructions"), "metadata": body.get("metadata", {}),
            "parallel_tool_calls": body.get("parallel_tool_calls", True), "temperature": body.get("temperature"),
            "top_p": body.get("top_p"), "tool_choice": body.get("tool_choice", "auto"),
            "tools": [{"type": "function", "name": tool["name"], "description": tool.get("description"),
                       "parameters": tool.get("parameters"), "strict": tool.get("strict")} for tool in tools],
            "max_output_tokens": body.get("max_output_tokens"), "previous_response_id": None,
            "reasoning": body.get("reasoning"), "text": body.get("text", {"format": {"type": "text"}}),
            "truncation": body.get("truncation", "disabled"), "user": body.get("user"), "background": False}


def responses_request_parse(body: Any, headers: dict[str, str]) -> ResponsesRequest:
    """A Responses body (parsed JSON) as the native body, with what the answer repeats of it and what the native
    body leaves out. The whole body is checked first for what no peer may be sent (an OpenAI target gets it as
    it is): NUL, lone surrogates, integers past 64 bits."""
    if problem := wire_json_problem(body):
        raise ValidationError([problem])
    source = body
    body = object_check(body, ACCEPTED, required=("model",), passed_through=True)
    left = _stored_check(body)
    stream = _settings_check(body)
    if "input" not in body and not _stateful(body):
        raise ValidationError([{"field": "input", "problem": "required: a string or an array of items"}])
    conversation = _conversation(body)
    inputs: dict[str, Any] = {"messages": conversation.messages}
    if conversation.images:
        inputs["images"] = conversation.images
    if "instructions" in body:
        inputs["system"] = body["instructions"]
    left += conversation.left
    parameters = _parameters(body, left)
    # The semantic cache keys a request by its native translation: one that left something out is not all there.
    cache = {key: value for key, value in cache_headers(headers).items() if not left or key != "enable_semantic_cache"}
    native = {**model_target(body["model"]), "inputs": inputs, "parameters": parameters, **cache}
    tools = parameters.get("tools") if isinstance(parameters.get("tools"), list) else []
    return ResponsesRequest(source=source, body=native, stream=stream, echo=_echo(body, tools),
                            origins=conversation.origins, untranslated=left)


# -- errors: native fields as the Responses fields they came from -------------------------------------

def _field_renamed(name: Any, origins: list[Origin]) -> Any:
    if not isinstance(name, str):
        return name
    if match := NATIVE_TURN.match(name):
        turn, call, rest = int(match[1]), match[2], match[3]
        origin = origins[turn] if turn < len(origins) else Origin("input")
        if origin.item == "input":
            return "input"
        if call is not None:
            where = origin.calls[int(call)] if int(call) < len(origin.calls) else origin.item
            return where + (".call_id" if rest == ".id" else rest)
        renamed = {".content": ".output" if origin.tool else ".content", ".tool_call_id": ".call_id",
                   ".tool_calls": ""}
        return origin.item + renamed.get(rest, rest)
    head, _, rest = name.partition(".")
    if head == "inputs":
        return "instructions" if rest == "system" else "input"
    if head == "parameters" and rest:
        parameter = re.match(r"[A-Za-z0-9_]*", rest).group(0)
        return PARAMETER_FIELDS.get(parameter, parameter) + rest[len(parameter):]
    return name


def _details_renamed(details: Any, origins: list[Origin]) -> Any:
    if not isinstance(details, dict):
        return details
    renamed = dict(details)
    if isinstance(details.get("errors"), list):
        renamed["errors"] = [{**problem, "field": _field_renamed(problem.get("field"), origins)}
                             if isinstance(problem, dict) else problem for problem in details["errors"]]
    if "field" in details:
        renamed["field"] = _field_renamed(details["field"], origins)
    return renamed


def error_renamed(error: InfergateError, origins: list[Origin]) -> InfergateError:
    """An error of the native request, naming the Responses fields (its message too, for a 422)."""
    if isinstance(error, ValidationError):
        return ValidationError([{**problem, "field": _field_renamed(problem.get("field"), origins)}
                                for problem in error.problems], headers=error.headers)
    error.details = _details_renamed(error.details, origins)
    return error


def _envelope_renamed(envelope: dict[str, Any], origins: list[Origin]) -> dict[str, Any]:
    error = envelope.get("error")
    if not isinstance(error, dict) or "details" not in error:
        return envelope
    return {**envelope, "error": {**error, "details": _details_renamed(error["details"], origins)}}


# -- the answer --------------------------------------------------------------------------------------

def _model_id(response_or_start: dict[str, Any]) -> str:
    return f"{response_or_start['provider']}/{response_or_start['model']}"


def _usage(tokens: dict[str, int]) -> dict[str, Any]:
    return {"input_tokens": tokens["prompt"], "output_tokens": tokens["completion"], "total_tokens": tokens["total"],
            "input_tokens_details": {"cached_tokens": tokens.get("cache_read", 0),
                                     "cache_write_tokens": tokens.get("cache_write", 0)},
            "output_tokens_details": {"reasoning_tokens": tokens.get("reasoning", 0)}}


def _outcome(finish_reason: str | None) -> tuple[str, dict[str, str] | None]:
    """The response's status and incomplete_details for a native finish_reason."""
    reason = INCOMPLETE.get(finish_reason or "")
    return ("incomplete", {"reason": reason}) if reason else ("completed", None)


def _item_id(kind: str, request_id: str, index: int) -> str:
    return f"{kind}_{request_id}_{index}"


def _output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _message_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    return {"id": item_id, "type": "message", "role": "assistant", "status": status, "content": [_output_text(text)]}


def _call_item(item_id: str, call: dict[str, str], status: str) -> dict[str, Any]:
    return {"id": item_id, "type": "function_call", "call_id": call["id"], "name": call["name"],
            "arguments": call["arguments"], "status": status}


def _response(request: ResponsesRequest, request_id: str, created_at: int, model: str, status: str,
              output: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {"id": f"resp_{request_id}", "object": "response", "created_at": created_at, "status": status,
            "model": model, "output": output, "error": None, "incomplete_details": None, "usage": None,
            **request.echo, **fields}


def response_object(response: dict[str, Any], request: ResponsesRequest, request_id: str) -> dict[str, Any]:
    """The service's response envelope as a Responses ``response``: a message item when there is text, a
    function_call item per tool call."""
    answer = response["data"]["responses"][0]
    status, incomplete = _outcome(answer["finish_reason"])
    output = [_message_item(_item_id("msg", request_id, 0), answer["text"], "completed")] if answer["text"] else []
    output += [_call_item(_item_id("fc", request_id, index), call, "completed")
               for index, call in enumerate(answer.get("tool_calls") or (), start=len(output))]
    if incomplete and output:
        output[-1]["status"] = "incomplete"  # the item the answer was cut in
    now = int(time.time())
    return _response(request, request_id, now, _model_id(response), status, output, incomplete_details=incomplete,
                     usage=_usage(response["tokens_used"]), completed_at=now)


class ResponseEventEncoder:
    """Service events as Responses stream events. ``start`` is ``response.created`` and
    ``response.in_progress``; text opens a message item (``output_item.added``, ``content_part.added``)
    and each delta is ``output_text.delta``; a tool call's first piece closes the item before it and opens a
    function_call item, each piece a ``function_call_arguments.delta``; ``done`` closes what is open
    (``output_text.done``, ``content_part.done``, ``function_call_arguments.done``, ``output_item.done``)
    and ends with ``response.completed`` (``response.incomplete`` when the answer was cut). ``error`` is
    ``response.failed`` then an ``error`` event, which the SDK raises. ``response.created`` and
    ``response.in_progress`` come before the first of these.

    An OpenAI target's own events (``wire``) are relayed as they came, and nothing else is sent: a failure it
    did not announce itself (the connection broke) is an ``error`` event numbered after its last."""

    def __init__(self, request: ResponsesRequest, request_id: str) -> None:
        self.request = request
        self.request_id = request_id
        self.created_at = int(time.time())
        self.sequence = 0
        self.model = ""
        self.items: list[dict[str, Any]] = []
        self.current: int | None = None  # the output index of the item not done yet: one at a time, as OpenAI
        self.calls: dict[int, int] = {}  # a call's position in the answer -> its output index
        self.relayed: str | None = None  # the last event of an OpenAI target's own stream, once relaying
        self.started = False  # response.created sent

    def _event(self, kind: str, **fields: Any) -> bytes:
        payload = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return f"event: {kind}\ndata: {json.dumps(payload)}\n\n".encode()

    def _snapshot(self, status: str, **fields: Any) -> dict[str, Any]:
        return _response(self.request, self.request_id, self.created_at, fields.pop("model", self.model), status,
                         [dict(item) for item in self.items], **fields)

    def _added(self, item: dict[str, Any]) -> list[bytes]:
        """The item before it done, this one added."""
        lines = self._item_done()
        self.items.append(item)
        self.current = len(self.items) - 1
        return lines + [self._event("response.output_item.added", output_index=self.current, item=item)]

    def _text(self, text: str) -> list[bytes]:
        lines = []
        if self.current is None or self.items[self.current]["type"] != "message":
            item_id = _item_id("msg", self.request_id, len(self.items))
            lines += self._added({"id": item_id, "type": "message", "role": "assistant", "status": "in_progress",
                                  "content": []})
            lines.append(self._event("response.content_part.added", item_id=item_id, output_index=self.current,
                                     content_index=0, part=_output_text("")))
            self.items[self.current]["content"] = [_output_text("")]
        item = self.items[self.current]
        item["content"][0]["text"] += text
        lines.append(self._event("response.output_text.delta", item_id=item["id"], output_index=self.current,
                                 content_index=0, delta=text, logprobs=[]))
        return lines

    def _call_piece(self, event: dict[str, Any]) -> list[bytes]:
        """A piece of a tool call. The providers send a call's pieces before the next call starts; a piece
        of a call already done would still be added (and sent), so that its arguments stay whole."""
        lines = []
        if event["call"] not in self.calls:
            self.calls[event["call"]] = len(self.items)
            call = {"id": event.get("id") or "", "name": event.get("name") or "", "arguments": ""}
            lines += self._added(_call_item(_item_id("fc", self.request_id, len(self.items)), call, "in_progress"))
        index = self.calls[event["call"]]
        item = self.items[index]
        if event["arguments"]:
            item["arguments"] += event["arguments"]
            lines.append(self._event("response.function_call_arguments.delta", item_id=item["id"], output_index=index,
                                     delta=event["arguments"]))
        return lines

    def _item_done(self, status: str = "completed") -> list[bytes]:
        if self.current is None:
            return []
        index, item = self.current, self.items[self.current]
        item["status"] = status
        lines = []
        if item["type"] == "message":
            part = item["content"][0]
            lines.append(self._event("response.output_text.done", item_id=item["id"], output_index=index,
                                     content_index=0, text=part["text"], logprobs=[]))
            lines.append(self._event("response.content_part.done", item_id=item["id"], output_index=index,
                                     content_index=0, part=part))
        else:
            lines.append(self._event("response.function_call_arguments.done", item_id=item["id"],
                                     output_index=index, arguments=item["arguments"]))
        self.current = None
        return lines + [self._event("response.output_item.done", output_index=index, item=item)]

    def _done(self, response: dict[str, Any]) -> list[bytes]:
        answer = response["data"]["responses"][0]
        lines = []
        if not self.items:  # a target that answers whole (structured output, plugins)
            lines += self._text(answer["text"]) if answer["text"] else []
            for position, call in enumerate(answer.get("tool_calls") or ()):
                lines += self._call_piece({"call": position, **call})
        status, incomplete = _outcome(answer["finish_reason"])
        lines += self._item_done("incomplete" if incomplete else "completed")
        final = self._snapshot(status, model=_model_id(response), incomplete_details=incomplete,
                               usage=_usage(response["tokens_used"]), completed_at=int(time.time()))
        return lines + [self._event(f"response.{status}", response=final)]

    def _error_event(self, envelope: dict[str, Any]) -> bytes:
        error = openai_error_from_envelope(_envelope_renamed(envelope, self.request.origins))["error"]
        return self._event("error", code=error["code"], message=error["message"], param=error["param"], error=error)

    def _failed(self, envelope: dict[str, Any]) -> list[bytes]:
        error = openai_error_from_envelope(_envelope_renamed(envelope, self.request.origins))["error"]
        if self.current is not None:
            self.items[self.current]["status"] = "incomplete"
        code = FAILURE_CODES.get(envelope.get("status"), "server_error")
        failed = self._snapshot("failed", error={"code": code, "message": error["message"]})
        return [self._event("response.failed", response=failed), self._error_event(envelope)]

    def _relay(self, event: dict[str, Any]) -> list[bytes]:
        """One event of an OpenAI target's stream, as it came; the numbering goes on from its own."""
        name, data = event["event"], event["data"]
        self.relayed = name or str(data.get("type", ""))
        if isinstance(data.get("sequence_number"), int):
            self.sequence = data["sequence_number"] + 1
        head = f"event: {name}\n" if name else ""
        return [f"{head}data: {json.dumps(data)}\n\n".encode()]

    def __call__(self, event: dict[str, Any]) -> list[bytes]:
        kind = event["type"]
        if kind == "wire":
            return self._relay(event)
        if self.relayed is not None:  # the OpenAI target's own events say it all, a failure they announced too
            return [self._error_event(event["error"])] if kind == "error" and self.relayed not in FAILURE_EVENTS else []
        if kind == "start":
            self.model = _model_id(event)
            return []
        if kind == "delta":
            return self._begun() + self._text(event["text"])
        if kind == "tool_call":
            return self._begun() + self._call_piece(event)
        if kind == "done":
            return self._begun() + self._done(event["response"])
        if kind == "error":
            return self._begun() + self._failed(event["error"])
        return []

    def _begun(self) -> list[bytes]:
        """``response.created`` and ``response.in_progress``, before the first translated event: a target that
        answers with its own events (``wire``) sends its own."""
        if self.started:
            return []
        self.started = True
        return [self._event("response.created", response=self._snapshot("in_progress")),
                self._event("response.in_progress", response=self._snapshot("in_progress"))]


@openai_route
async def responses_endpoint(request: EdgeRequest) -> None:
    try:
        raw = request.body_bytes("application/json")
        parsed: ResponsesRequest | None = responses_request_parse(request.json_body(), request.headers)
        body: Any = parsed.wired(raw)
    except InfergateError as error:
        parsed, body = None, refusing(error)
    origins = parsed.origins if parsed is not None else []
    if parsed is not None and parsed.stream:
        events = request.stream(body)
        try:
            first = await anext(events)  # raises before anything is sent when the request is refused
        except InfergateError as error:
            raise error_renamed(error, origins) from None
        encoder = ResponseEventEncoder(parsed, request.request_id)
        return await request.sse(events, first, encoder, headers=cache_report(request.headers, first))
    try:
        response = await request.run(body)
    except InfergateError as error:
        raise error_renamed(error, origins) from None
    answer = response.get("wire") or response_object(response, parsed, request.request_id)
    await request.respond(answer, cache_report(request.headers, response))
