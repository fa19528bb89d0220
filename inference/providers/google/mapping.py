"""Request and response mapping between Infergate's call and Google's wire formats: small pure
functions, tested without HTTP (tests/inference/providers/test_google_mapping.py)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pydantic
from google.genai import types

from core.errors import BadRequestError, ValidationError
from inference.media.load import LoadedMedia
from inference.providers.google.catalog import EMBEDDING_DIMENSIONS, VIDEO_DIMENSIONS
from inference.providers.upstream import answer_mapping
from inference.tools import CALL_ID, arguments_object, tool_name_of
from inference.types import MediaKind, Message, Tool, ToolCall, ToolChoice, Usage

# Finish reasons that mean the answer was withheld: the client's 400, with the reason.
REFUSALS = {"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION", "IMAGE_SAFETY",
            "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION"}
FINISH = {"STOP": "stop", "MAX_TOKENS": "length"}
ROLES = {"user": "user", "assistant": "model"}


# -- chat ------------------------------------------------------------------------------------------

def chat_contents(conversation: tuple[Message, ...], images: list[LoadedMedia]) -> tuple[list[types.Content],
                                                                                          str | None]:
    """Gemini contents (assistant -> model) and the system instruction; images go with the last user
    message, after its text, as inline bytes with their sniffed type. Consecutive tool results are one
    ``user`` content of function responses: Gemini wants the answers to a turn's calls together."""
    system = "\n\n".join(m.content for m in conversation if m.role == "system") or None
    contents: list[types.Content] = []
    last_user = None
    answering = False  # the last content holds function responses
    for message in conversation:
        if message.role == "system":
            continue
        if message.role == "tool":
            part = function_response_part(message, conversation)
            if answering:
                contents[-1].parts.append(part)
            else:
                contents.append(types.Content(role="user", parts=[part]))
            answering = True
            continue
        answering = False
        contents.append(types.Content(role=ROLES[message.role], parts=message_parts(message)))
        if message.role == "user":
            last_user = len(contents) - 1
    if images:
        at = last_user if last_user is not None else len(contents) - 1
        contents[at].parts += [types.Part(inline_data=types.Blob(mime_type=image.mime, data=image.data))
                               for image in images]
    return contents, system


# Google's documented stand-in for a thought signature we cannot send back: Gemini 3 refuses (400) a model turn
# whose first function call lacks one, and our tool calls carry none (the native shape has no place for it).
# On the wire it must read as the string itself, hence the bytes whose URL-safe base64 it is.
SKIPPED_SIGNATURE = base64.urlsafe_b64decode("skip_thought_signature_validator")
SYNTHESIZED_ID = "gcall_"  # the ids we make for calls Gemini sent without one; never sent back to it


def message_parts(message: Message) -> list[types.Part]:
    """A turn's text, then the function calls it made (arguments as the object Gemini takes). The first call
    carries the stand-in signature, as Gemini wants a signature on the first call of a step."""
    parts = [types.Part(text=message.content)] if message.content or not message.tool_calls else []
    for position, call in enumerate(message.tool_calls):
        parts.append(types.Part(
            function_call=types.FunctionCall(id=gemini_call_id(call.id), name=call.name,
                                             args=arguments_object(call.arguments)),
            thought_signature=SKIPPED_SIGNATURE if position == 0 else None))
    return parts


def function_response_part(message: Message, conversation: tuple[Message, ...]) -> types.Part:
    """A tool's result as a function response, named after the call it answers (Gemini matches by name
    where there is no id)."""
    return types.Part(function_response=types.FunctionResponse(
        id=gemini_call_id(message.tool_call_id), name=tool_name_of(conversation, message.tool_call_id),
        response=tool_result(message.content)))


def tool_result(text: str) -> dict[str, Any]:
    """A function response is an object: a result that is a JSON object goes as itself, any other text as
    ``{"result": text}``."""
    try:
        value = json.loads(text)
    except ValueError:
        return {"result": text}
    return value if isinstance(value, dict) else {"result": text}


def gemini_call_id(call_id: str | None) -> str | None:
    """The id to send Gemini for a call: its own, never one we made up for it."""
    if call_id is None or call_id.startswith(SYNTHESIZED_ID):
        return None
    return call_id


def synthesized_call_id(response_id: str | None, position: int, name: str, arguments: str) -> str:
    """An id for a call Gemini sent without one, for the client to answer: the same for the same answer
    (streamed or not, replayed from the cache), different across the answers of one conversation."""
    digest = hashlib.sha256(f"{response_id or ''}\n{position}\n{name}\n{arguments}".encode()).hexdigest()[:12]
    return f"{SYNTHESIZED_ID}{digest}_{position}"


def function_declarations(tools: tuple[Tool, ...]) -> list[types.Tool]:
    """Every tool as a function declaration of one Gemini tool. The schema goes as ``parametersJsonSchema``
    (JSON Schema as the client wrote it), not converted to the OpenAPI subset of ``parameters``. Gemini has
    no strict mode: ``strict`` is left out."""
    return [types.Tool(function_declarations=[
        types.FunctionDeclaration(name=tool.name, description=tool.description or None,
                                  parameters_json_schema=tool.parameters) for tool in tools])]


CALLING_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY", "function": "ANY"}


def tool_config(choice: ToolChoice) -> types.ToolConfig:
    """``required`` is mode ANY (some function); a named tool is ANY restricted to that one function."""
    return types.ToolConfig(function_calling_config=types.FunctionCallingConfig(
        mode=CALLING_MODES[choice.mode], allowed_function_names=[choice.name] if choice.name else None))


def parallel_tool_calls_check(parameters: dict[str, Any]) -> None:
    """OpenAI's ``parallel_tool_calls`` has no Gemini switch: true asks for what Gemini does anyway; false
    cannot be honoured, so it is refused rather than ignored."""
    value = parameters.get("parallel_tool_calls", True)
    if value is True:
        return
    problem = ("Gemini may call several functions in one turn and cannot be told not to; only true is accepted"
               if value is False else "must be true or false")
    raise ValidationError([{"field": "parameters.parallel_tool_calls", "problem": problem}])


# Parameters that are not fields of Gemini's generation config as sent: mapped here, or (parallel_tool_calls) checked.
MODELLED = ("temperature", "top_p", "max_tokens", "seed", "stop", "schema", "tools", "tool_choice", "parallel_tool_calls")


def generation_config(parameters: dict[str, Any], system: str | None = None, *, tools: tuple[Tool, ...] = (),
                      choice: ToolChoice | None = None) -> types.GenerateContentConfig:
    """``parameters.schema`` becomes JSON output constrained by ``responseJsonSchema``: the schema is
    passed as JSON Schema, not converted to the OpenAPI subset of ``responseSchema``. Parameters Infergate
    does not model (``safety_settings``, ``thinking_config``, ``top_k``, ...) are fields of Gemini's
    generation config, as the client sent them; one the SDK does not know is the client's 400. Tools are
    function declarations; the tool choice is sent only with them (there is nothing to call otherwise)."""
    parallel_tool_calls_check(parameters)
    extra = {name: value for name, value in parameters.items() if name not in MODELLED}
    try:
        config = types.GenerateContentConfig(
            **extra, system_instruction=system, temperature=parameters.get("temperature"),
            top_p=parameters.get("top_p"), max_output_tokens=parameters.get("max_tokens"), seed=parameters.get("seed"),
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))  # tools run client-side
    except (pydantic.ValidationError, TypeError) as error:
        names = sorted(extra)
        raise BadRequestError(f"google does not take these parameters as sent: {', '.join(names)}",
                              details={"provider": "google", "parameters": names,
                                       "upstream_message": str(error).splitlines()[0][:300]}) from None
    stop = parameters.get("stop")
    if stop is not None:
        config.stop_sequences = [stop] if isinstance(stop, str) else list(stop)
    if "schema" in parameters:
        config.response_mime_type = "application/json"
        config.response_json_schema = parameters["schema"]
    if tools:
        config.tools = function_declarations(tools)
        if choice is not None:
            config.tool_config = tool_config(choice)
    return config


def _name(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))


def refused(provider: str, reason: str, message: str | None = None) -> BadRequestError:
    return BadRequestError(f"{provider} refused to answer: {message or f'blocked ({reason})'}",
                           details={"provider": provider, "reason": reason, "refused": True})


def blocked(response: types.GenerateContentResponse, provider: str) -> BadRequestError | None:
    """The refusal in a response, if any: the prompt blocked (``promptFeedback.blockReason``) or the
    answer withheld (a candidate's ``finishReason`` SAFETY, PROHIBITED_CONTENT, ...)."""
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason is not None:
        return refused(provider, _name(feedback.block_reason) or "BLOCKED",
                       f"the prompt was blocked ({_name(feedback.block_reason)})"
                       + (f": {feedback.block_reason_message}" if feedback.block_reason_message else ""))
    for candidate in response.candidates or []:
        reason = _name(candidate.finish_reason)
        if reason in REFUSALS:
            message = candidate.finish_message or f"the answer was withheld ({reason})"
            return refused(provider, reason, message)
    return None


def finish_reason(reason: Any, called: bool = False) -> str:
    """Ours for Gemini's; an answer that called functions finished with ``tool_calls`` (Gemini says STOP)."""
    if called:
        return "tool_calls"
    name = _name(reason) or "STOP"
    return FINISH.get(name, name.lower())


def candidate_parts(response: types.GenerateContentResponse) -> list[types.Part]:
    if not response.candidates or response.candidates[0].content is None:
        return []
    return response.candidates[0].content.parts or []


def candidate_text(response: types.GenerateContentResponse) -> str:
    """The first candidate's text parts, joined (thought parts of thinking models are left out)."""
    return "".join(part.text for part in candidate_parts(response) if part.text and not part.thought)


def candidate_calls(response: types.GenerateContentResponse, first: int = 0) -> list[ToolCall]:
    """The first candidate's function calls, numbered from ``first`` (a stream's calls so far). Gemini sends
    each call whole, its arguments an object: they become JSON text. A call gets an id of ours when Gemini
    sent none, or one a client could not send back to us (the native id check)."""
    calls = [part.function_call for part in candidate_parts(response) if part.function_call is not None]
    answered = []
    for position, call in enumerate(calls, start=first):
        if not call.name:
            raise TypeError("a function call without a name")
        arguments = json.dumps(call.args or {}, ensure_ascii=False)
        own = call.id if call.id and CALL_ID.match(call.id) and gemini_call_id(call.id) else None
        answered.append(ToolCall(own or synthesized_call_id(response.response_id, position, call.name, arguments),
                                 call.name, arguments))
    return answered


@answer_mapping
def chat_answer(response: types.GenerateContentResponse, *, provider: str, structured: bool) -> dict[str, Any]:
    """One ``data.responses`` item; a blocked prompt or withheld answer is the client's 400. An answer
    with neither candidates nor prompt feedback (what google-genai makes of a body that is not a JSON
    object) is the provider's 502."""
    refusal = blocked(response, provider)
    if refusal is not None:
        raise refusal
    if not response.candidates and response.prompt_feedback is None:
        raise TypeError("an answer with neither candidates nor promptFeedback")
    text = candidate_text(response)
    calls = candidate_calls(response)
    reason = response.candidates[0].finish_reason if response.candidates else None
    answer: dict[str, Any] = {"text": text, "finish_reason": finish_reason(reason, bool(calls))}
    if structured:
        answer["structured"] = parse_structured(text)
    if calls:
        answer["tool_calls"] = [call.as_dict() for call in calls]
    return answer


def parse_structured(text: str) -> Any:
    """The JSON value of a structured answer; None when it is not JSON (e.g. cut by max_tokens)."""
    try:
        return json.loads(text)
    except ValueError:
        return None


def usage_counts(metadata: types.GenerateContentResponseUsageMetadata | None) -> Usage:
    """The tokens of one answer: a thinking model's thought tokens are billed as output (``reasoning``,
    part of the completion); ``cachedContentTokenCount`` is the part of the prompt read from a cache."""
    if metadata is None:
        return Usage()
    thoughts = int(metadata.thoughts_token_count or 0)
    return Usage(prompt=int(metadata.prompt_token_count or 0),
                 completion=int(metadata.candidates_token_count or 0) + thoughts, reasoning=thoughts,
                 cache_read=int(getattr(metadata, "cached_content_token_count", None) or 0))


# -- multimodal embeddings -------------------------------------------------------------------------

def embedding_dimension(parameters: dict[str, Any], kind: MediaKind | None) -> int:
    dimension = parameters.get("dimension", VIDEO_DIMENSIONS)
    if dimension not in EMBEDDING_DIMENSIONS:
        raise ValidationError([{"field": "parameters.dimension", "problem": "must be 128, 256, 512 or 1408"}])
    if kind is MediaKind.VIDEO and dimension != VIDEO_DIMENSIONS:
        raise ValidationError([{"field": "parameters.dimension",
                                "problem": f"video embeddings always have {VIDEO_DIMENSIONS} dimensions"}])
    if kind is not MediaKind.VIDEO and "interval_s" in parameters:
        raise ValidationError([{"field": "parameters.interval_s", "problem": "applies to video inputs only"}])
    return dimension


def embedding_text(inputs: dict[str, Any]) -> str:
    text = inputs.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValidationError([{"field": "inputs.text", "problem": "must be a non-empty string"}])
    return text


def embedding_request(*, text: str | None, media: LoadedMedia | None,
                      parameters: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``:predict`` instance and parameters of the multimodal embeddings API."""
    kind = media.kind if media is not None else None
    dimension = embedding_dimension(parameters, kind)
    instance: dict[str, Any] = {}
    if text is not None:
        instance["text"] = text
    if media is not None and media.kind is MediaKind.IMAGE:
        instance["image"] = {"bytesBase64Encoded": base64.b64encode(media.data).decode(), "mimeType": media.mime}
    elif media is not None:
        instance["video"] = {"bytesBase64Encoded": base64.b64encode(media.data).decode()}
        if "interval_s" in parameters:
            instance["video"]["videoSegmentConfig"] = {"intervalSec": parameters["interval_s"]}
    return instance, ({} if kind is MediaKind.VIDEO else {"dimension": dimension})


def _vector(value: Any) -> list[float]:
    if not isinstance(value, list) or not value or not all(isinstance(x, (int, float)) for x in value):
        raise TypeError("an embedding is not a non-empty list of numbers")
    return [float(x) for x in value]


@answer_mapping
def embedding_data(response: dict[str, Any], kind: MediaKind | None, *, provider: str) -> dict[str, Any]:
    """The embedding shape of docs/contract.md from a predict response: one vector for text and image;
    segments with start and end for video (proto3 JSON omits a zero start). A response without the
    embedding asked for is the provider's 502 (``answer_mapping``), not an empty vector."""
    prediction = response["predictions"][0]
    if kind is MediaKind.VIDEO:
        items = prediction["videoEmbeddings"]
        if not isinstance(items, list) or not items:
            raise TypeError("videoEmbeddings is not a non-empty list")
        segments = [{"start_s": float(item.get("startOffsetSec", 0)), "end_s": float(item.get("endOffsetSec", 0)),
                     "embedding": _vector(item.get("embedding"))} for item in items]
        return {"segments": segments, "dimensions": len(segments[0]["embedding"])}
    vector = _vector(prediction["imageEmbedding" if kind is MediaKind.IMAGE else "textEmbedding"])
    return {"embedding": vector, "dimensions": len(vector)}
