"""Request and response mapping between Infergate's call and Google's wire formats: small pure
functions, tested without HTTP (tests/inference/providers/test_google_mapping.py)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pydantic
from google.genai import types

from core.errors import BadRequestError, ValidationError
from inference.media.load import LoadedMedia
from inference.providers.google.catalog import EMBEDDING_DIMENSIONS, VIDEO_DIMENSIONS
from inference.providers.upstream import answer_mapping
from inference.types import MediaKind, Message, Usage

# Finish reasons that mean the answer was withheld: the client's 400, with the reason.
REFUSALS = {"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION", "IMAGE_SAFETY",
            "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION"}
FINISH = {"STOP": "stop", "MAX_TOKENS": "length"}
ROLES = {"user": "user", "assistant": "model"}


# -- chat ------------------------------------------------------------------------------------------

def chat_contents(conversation: tuple[Message, ...], images: list[LoadedMedia]) -> tuple[list[types.Content],
                                                                                          str | None]:
    """Gemini contents (assistant -> model) and the system instruction; images go with the last user
    message, after its text, as inline bytes with their sniffed type."""
    system = "\n\n".join(m.content for m in conversation if m.role == "system") or None
    turns = [m for m in conversation if m.role != "system"]
    contents = [types.Content(role=ROLES[m.role], parts=[types.Part(text=m.content)]) for m in turns]
    if images:
        users = [i for i, m in enumerate(turns) if m.role == "user"]
        last_user = users[-1] if users else len(contents) - 1
        contents[last_user].parts += [types.Part(inline_data=types.Blob(mime_type=image.mime, data=image.data))
                                      for image in images]
    return contents, system


MODELLED = ("temperature", "top_p", "max_tokens", "seed", "stop", "schema")


def generation_config(parameters: dict[str, Any], system: str | None) -> types.GenerateContentConfig:
    """``parameters.schema`` becomes JSON output constrained by ``responseJsonSchema``: the schema is
    passed as JSON Schema, not converted to the OpenAPI subset of ``responseSchema``. Parameters Infergate
    does not model (``safety_settings``, ``thinking_config``, ``top_k``, ...) are fields of Gemini's
    generation config, as the client sent them; one the SDK does not know is the client's 400."""
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


def finish_reason(reason: Any) -> str:
    name = _name(reason) or "STOP"
    return FINISH.get(name, name.lower())


def candidate_text(response: types.GenerateContentResponse) -> str:
    """The first candidate's text parts, joined (thought parts of thinking models are left out)."""
    if not response.candidates or response.candidates[0].content is None:
        return ""
    parts = response.candidates[0].content.parts or []
    return "".join(part.text for part in parts if part.text and not part.thought)


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
    reason = response.candidates[0].finish_reason if response.candidates else None
    answer: dict[str, Any] = {"text": text, "finish_reason": finish_reason(reason)}
    if structured:
        answer["structured"] = parse_structured(text)
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
