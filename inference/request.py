"""Validation of a POST /v1/inference body, shared by every interface (REST, websocket, SSE, tasks).

``request_parse`` checks the body's own shape (docs/contract.md, errors); ``call_build`` checks inputs and
parameters against the resolved target's declared capabilities. Both raise ``ValidationError`` with
every problem listed, or ``BadRequestError`` for target combinations.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings

from core.errors import BadRequestError, PayloadTooLargeError, ValidationError
from core.strings import json_problem, name_problem, text_problem, type_name
from inference.media.inputs import media_input_parse
from inference.tools import tool_calls_parse, tool_choice_problem, tool_turns_check, tools_parse, tools_problems
from inference.types import (
    INPUT_KEYS,
    MODELLED_PARAMETERS,
    InferenceCall,
    InferenceRequest,
    MediaInput,
    MediaKind,
    Message,
    Modality,
    ModelSpec,
    ParameterSpec,
    WireRequest,
)

BODY_KEYS = ("provider", "model", "inference_name", "feature_uri", "inputs", "parameters",
             "enable_semantic_cache", "cache_delta", "prompt")  # prompt: rendered into inputs by the service
# The target's names, and their longest accepted length (they are stored in usage records and logged).
STRING_FIELDS = {"provider": 100, "model": 200, "inference_name": 200, "feature_uri": 500}
PARAMETER_NAME_CHARS = 100
# What a request's own fields say (the target, the input, streaming): never a parameter passed through.
RESERVED_PARAMETERS = frozenset({"model", "messages", "input", "inputs", "prompt_messages", "stream", "stream_options",
                                 "system", "contents", "file", "n"})
ROLES = ("system", "user", "assistant", "tool")
MESSAGE_KEYS = {"role", "content", "tool_calls", "tool_call_id"}
DEFAULT_CACHE_DELTA = 0.02


def body_decode(raw: bytes) -> Any:
    limit = settings.INFERGATE["MAX_BODY_BYTES"]
    if len(raw) > limit:
        raise PayloadTooLargeError(f"Request body is larger than {limit} bytes", details={"limit_bytes": limit})
    if not raw.strip():
        raise BadRequestError("Request body is empty; send a JSON object")
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant, parse_float=finite_float)
    except UnicodeDecodeError:
        raise BadRequestError("Request body is not valid UTF-8") from None
    except RecursionError:
        raise BadRequestError("Request body is nested too deeply") from None
    except ValueError as exc:
        raise BadRequestError(f"Malformed JSON body: {exc}") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def finite_float(text: str) -> float:
    """A JSON number with a fraction or exponent; one too large for a float (1e400) is refused rather
    than read as infinity."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]} is out of range")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    """JSON numbers: ints of any size (Python compares them exactly), finite floats."""
    return _is_int(value) or (isinstance(value, float) and math.isfinite(value))


@dataclass(frozen=True)
class WiredBody:
    """What a route in a provider's own API format hands the service: the native translation of the client's
    request and the request itself (types.WireRequest)."""

    native: dict[str, Any]
    wire: WireRequest


def request_parse(body: Any) -> InferenceRequest:
    if isinstance(body, WiredBody):
        return replace(request_parse(body.native), wire=body.wire)
    if not isinstance(body, dict):
        raise ValidationError([{"field": "body", "problem": f"must be a JSON object, not {type_name(body)}"}])
    problems: list[dict[str, str]] = []
    unknown = sorted(k for k in body if k not in BODY_KEYS)
    if unknown:
        raise ValidationError(
            [{"field": key, "problem": "unknown key"} for key in unknown],
            message=f"Unknown keys {', '.join(unknown)}; accepted keys are {', '.join(BODY_KEYS)}",
            accepted=list(BODY_KEYS),
        )
    for name, max_chars in STRING_FIELDS.items():
        value = body.get(name)
        if value is not None and (problem := name_problem(value, max_chars=max_chars)):
            problems.append({"field": name, "problem": problem})
    if "inputs" not in body:
        problems.append({"field": "inputs", "problem": "required"})
    elif not isinstance(body["inputs"], dict):
        problems.append({"field": "inputs", "problem": f"must be an object, not {type_name(body['inputs'])}"})
    parameters = body.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        problems.append({"field": "parameters", "problem": f"must be an object, not {type_name(parameters)}"})
    elif parameters:
        problems += _parameters_problems(parameters)
    cache = body.get("enable_semantic_cache", False)
    if not isinstance(cache, bool):
        problems.append({"field": "enable_semantic_cache", "problem": "must be true or false"})
    delta = body.get("cache_delta")
    if delta is not None and (not _is_number(delta) or not 0 <= delta <= 1):
        problems.append({"field": "cache_delta", "problem": "must be a number between 0 and 1"})
    if problems:
        raise ValidationError(problems)
    request = InferenceRequest(
        provider=body.get("provider"), model=body.get("model"), inference_name=body.get("inference_name"),
        feature_uri=body.get("feature_uri"), inputs=body["inputs"], parameters=parameters or {},
        enable_semantic_cache=cache, cache_delta=float(delta) if delta is not None else DEFAULT_CACHE_DELTA,
    )
    _check_one_target(request)
    return request


def _parameters_problems(parameters: dict[str, Any]) -> list[dict[str, str]]:
    """Parameter names are names; their values pass to providers, job records and cache keys, so nothing
    in them may be unstorable."""
    problems = [{"field": f"parameters.{name}", "problem": problem}
                for name in parameters if (problem := name_problem(name, max_chars=PARAMETER_NAME_CHARS))]
    found = json_problem(parameters, "parameters")
    return problems + ([found] if found and not problems else [])


def _check_one_target(request: InferenceRequest) -> None:
    """``model`` alone names one of the namespace's model aliases (or a plugin, by inference name)."""
    given = [name for name in ("provider", "model", "inference_name", "feature_uri") if getattr(request, name)]
    if given in (["provider", "model"], ["model"], ["inference_name"], ["feature_uri"]):
        return
    raise BadRequestError(
        "Name exactly one target: provider and model, a model alias of the namespace, or inference_name, "
        "or feature_uri",
        details={"given": given},
    )


# -- inputs and parameters against the target -------------------------------------------------------

def call_build(spec: ModelSpec, request: InferenceRequest) -> InferenceCall:
    inputs = request.inputs
    accepted = spec.input_keys()
    unknown = sorted(k for k in inputs if k not in accepted)
    if unknown:
        raise ValidationError(
            [{"field": f"inputs.{k}", "problem": f"not read by {spec.provider}/{spec.model}; "
              f"it reads {', '.join(sorted(accepted))}"} for k in unknown])
    parameters = parameters_check(spec, request.parameters)
    modality = _modality(spec, inputs)
    if modality in (Modality.CHAT, Modality.VISION):
        tools, tool_choice = tools_parse(parameters)
        return InferenceCall(modality=modality, inputs=inputs, parameters=parameters,
                             conversations=_conversations(inputs), single="messages" in inputs,
                             tools=tools, tool_choice=tool_choice)
    if modality is Modality.TEXT_EMBEDDING:
        texts, single = _texts(inputs)
        return InferenceCall(modality=modality, inputs=inputs, parameters=parameters, texts=texts, single=single)
    return InferenceCall(modality=modality, inputs=inputs, parameters=parameters, media=_media(modality, inputs))


def _media(modality: Modality, inputs: dict[str, Any]) -> tuple[MediaInput, ...]:
    """Transcription: its one audio input. Multimodal embedding: its image or video input, when the
    request sends one rather than text. URLs are checked for syntax here and fetched by the adapter
    (inference.media.media_load); base64 is decoded here, so a bad payload is a 400 before any work."""
    if modality is Modality.TRANSCRIPTION:
        return (media_input_parse(inputs, MediaKind.AUDIO),)
    if modality is Modality.MULTIMODAL_EMBEDDING:
        kinds = [kind for kind in (MediaKind.IMAGE, MediaKind.VIDEO)
                 if f"{kind.value}_url" in inputs or f"{kind.value}_base64" in inputs]
        if len(kinds) + ("text" in inputs) != 1 or len([k for k in inputs if k != "text"]) > 1:
            raise ValidationError([{"field": "inputs", "problem": "give exactly one of 'text', 'image_url', "
                                                                  "'image_base64', 'video_url' or 'video_base64'"}])
        return tuple(media_input_parse(inputs, kind) for kind in kinds)
    return ()


def _modality(spec: ModelSpec, inputs: dict[str, Any]) -> Modality:
    """The first declared modality whose input keys cover the request's (chat before vision, so that
    a vision model answers plain chat too)."""
    keys = set(inputs)
    for modality in spec.modalities:
        if keys <= INPUT_KEYS[modality]:
            return modality
    return spec.modalities[0]


def _limits() -> tuple[int, int]:
    return settings.INFERGATE["MAX_BATCH"], settings.INFERGATE["MAX_PROMPT_CHARS"]


def _string_list(inputs: dict[str, Any], key: str) -> tuple[str, ...]:
    max_batch, max_chars = _limits()
    values = inputs[key]
    if not isinstance(values, list) or not values:
        raise ValidationError([{"field": f"inputs.{key}", "problem": "must be a non-empty array of strings"}])
    if len(values) > max_batch:
        raise ValidationError([{"field": f"inputs.{key}", "problem": f"at most {max_batch} items"}])
    problems = [{"field": f"inputs.{key}[{i}]", "problem": problem}
                for i, value in enumerate(values) if (problem := text_problem(value, max_chars=max_chars))]
    if problems:
        raise ValidationError(problems)
    return tuple(values)


def _conversations(inputs: dict[str, Any]) -> tuple[tuple[Message, ...], ...]:
    if ("prompts" in inputs) == ("messages" in inputs):
        raise ValidationError([{"field": "inputs", "problem": "give exactly one of 'prompts' or 'messages'"}])
    _, max_chars = _limits()
    system: tuple[Message, ...] = ()
    if "system" in inputs:
        problem = text_problem(inputs["system"], max_chars=max_chars)
        if problem:
            raise ValidationError([{"field": "inputs.system", "problem": problem}])
        system = (Message("system", inputs["system"]),)
    if "prompts" in inputs:
        return tuple(system + (Message("user", prompt),) for prompt in _string_list(inputs, "prompts"))
    return (system + _messages(inputs["messages"]),)


def _messages(messages: Any) -> tuple[Message, ...]:
    """The turns of a conversation: ``{role, content}``; an assistant turn may add the ``tool_calls`` it made
    (its content may then be null or empty); a ``tool`` turn is ``{role: tool, tool_call_id, content}``,
    answering a call made earlier in the conversation (inference/tools.py)."""
    _, max_chars = _limits()
    max_batch = settings.INFERGATE["MAX_MESSAGES"]
    if not isinstance(messages, list) or not messages:
        raise ValidationError([{"field": "inputs.messages",
                                "problem": "must be a non-empty array of {role, content} objects"}])
    if len(messages) > max_batch:
        raise ValidationError([{"field": "inputs.messages", "problem": f"at most {max_batch} messages"}])
    problems: list[dict[str, str]] = []
    parsed = []
    for i, message in enumerate(messages):
        field = f"inputs.messages[{i}]"
        if not isinstance(message, dict) or not {"role", "content"} <= set(message) <= MESSAGE_KEYS:
            problems.append({"field": field, "problem": "must be an object with 'role' and 'content' (an assistant "
                                                        "turn may add 'tool_calls', a tool turn has 'tool_call_id')"})
            continue
        role = message["role"]
        if role not in ROLES:
            problems.append({"field": f"{field}.role", "problem": f"must be one of {', '.join(ROLES)}"})
        calls = ()
        if "tool_calls" in message:
            if role != "assistant":
                problems.append({"field": f"{field}.tool_calls", "problem": "only an assistant turn makes tool calls"})
            else:
                calls = tool_calls_parse(message["tool_calls"], f"{field}.tool_calls", problems, max_chars)
        if ("tool_call_id" in message) != (role == "tool"):
            problems.append({"field": f"{field}.tool_call_id", "problem": "a tool turn, and only a tool turn, "
                                                                         "names the call it answers"})
        elif role == "tool" and name_problem(message["tool_call_id"], max_chars=128):
            problems.append({"field": f"{field}.tool_call_id", "problem": "must be the id of a tool call"})
        content = message["content"]
        if (calls and content is None) or (content == "" and (calls or role == "tool")):
            content = ""  # an assistant that only called tools; a tool that returned nothing (tools do)
        elif problem := text_problem(content, max_chars=max_chars):
            problems.append({"field": f"{field}.content", "problem": problem})
        parsed.append(Message(role, content, calls, message.get("tool_call_id")))
    if problems:
        raise ValidationError(problems)
    parsed_messages = tuple(parsed)
    tool_turns_check(parsed_messages)
    return parsed_messages


def _texts(inputs: dict[str, Any]) -> tuple[tuple[str, ...], bool]:
    if ("text" in inputs) == ("texts" in inputs):
        raise ValidationError([{"field": "inputs", "problem": "give exactly one of 'text' or 'texts'"}])
    if "texts" in inputs:
        return _string_list(inputs, "texts"), False
    _, max_chars = _limits()
    if problem := text_problem(inputs["text"], max_chars=max_chars):
        raise ValidationError([{"field": "inputs.text", "problem": problem}])
    return (inputs["text"],), True


def parameters_check(spec: ModelSpec, parameters: dict[str, Any]) -> dict[str, Any]:
    """The parameters a model declares are checked against their types and bounds; one it does not declare
    is a 422, unless the model's provider takes parameters of its own (``open_parameters``: they pass
    through, and the provider decides)."""
    accepted = [p.name for p in spec.parameters]
    problems = []
    for name, value in parameters.items():
        declared = spec.parameter(name)
        if declared is None and spec.open_parameters and name not in MODELLED_PARAMETERS | RESERVED_PARAMETERS:
            continue
        if declared is None:
            hint = f"accepted: {', '.join(accepted)}" if accepted else "this model takes no parameters"
            problems.append({"field": f"parameters.{name}",
                             "problem": f"not a parameter of {spec.provider}/{spec.model}; {hint}"})
        elif declared.kind == "tools":
            problems += tools_problems(value, f"parameters.{name}")
        elif problem := _parameter_problem(declared, value):
            problems.append({"field": f"parameters.{name}", "problem": problem})
    if problems:
        raise ValidationError(problems)
    return dict(parameters)


def _parameter_problem(spec: ParameterSpec, value: Any) -> str | None:
    if spec.kind in ("number", "integer"):
        ok = _is_int(value) if spec.kind == "integer" else _is_number(value)
        if not ok:
            return f"must be {'an integer' if spec.kind == 'integer' else 'a number'}"
        if spec.minimum is not None and value < spec.minimum or spec.maximum is not None and value > spec.maximum:
            return f"must be between {spec.minimum:g} and {spec.maximum:g}"
        return None
    if spec.kind == "stop":
        values = [value] if isinstance(value, str) else value
        if (not isinstance(values, list) or not 1 <= len(values) <= 4
                or not all(isinstance(v, str) and 0 < len(v) <= 100 for v in values)):
            return "must be a string or an array of 1 to 4 non-empty strings"
        return None
    if spec.kind == "string":
        return None if isinstance(value, str) and len(value) <= 200 else "must be a string"
    if spec.kind == "object":
        return None if isinstance(value, dict) else "must be an object"
    if spec.kind == "boolean":
        return None if isinstance(value, bool) else "must be true or false"
    if spec.kind == "tool_choice":
        return tool_choice_problem(value)
    return None
