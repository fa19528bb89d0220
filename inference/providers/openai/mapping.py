"""Request and response mapping between Infergate's call and OpenAI's wire format: small pure
functions, tested without HTTP (tests/inference/providers/test_openai_mapping.py)."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from inference.errors import BadRequestError, ValidationError
from inference.media.inputs import b64_decode
from inference.types import InferenceCall, Message, Usage

MAX_IMAGES = 16
SAMPLING = ("temperature", "top_p", "stop", "seed")

# Leading bytes of the media types the providers accept, for naming base64 payloads.
IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF87a", "image/gif"),
               (b"GIF89a", "image/gif"))
AUDIO_MAGIC = ((b"fLaC", "flac", "audio/flac"), (b"OggS", "ogg", "audio/ogg"), (b"ID3", "mp3", "audio/mpeg"),
               (b"\xff\xfb", "mp3", "audio/mpeg"), (b"\xff\xf3", "mp3", "audio/mpeg"),
               (b"\x1aE\xdf\xa3", "webm", "audio/webm"))


# -- media -----------------------------------------------------------------------------------------

def image_type(data: bytes) -> str | None:
    for magic, mime in IMAGE_MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def image_data_url(value: str, field: str) -> str:
    """A base64 image (bare, or a ``data:`` URL) as the data URL OpenAI's image_url part takes."""
    data = b64_decode(value, field)
    mime = image_type(data)
    if mime is None:
        raise BadRequestError(f"{field} is not a PNG, JPEG, GIF or WebP image", details={"field": field})
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _image_url(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError([{"field": field, "problem": "must be a non-empty string"}])
    if value.startswith("data:"):
        return image_data_url(value, field)
    if not re.match(r"^https?://\S+$", value) or len(value) > 8192:
        raise ValidationError([{"field": field, "problem": "must be an http(s) URL of at most 8192 characters"}])
    return value


def _image_item(item: Any, field: str) -> str:
    if isinstance(item, str):
        return _image_url(item, field) if re.match(r"^(https?|data):", item) else image_data_url(item, field)
    if isinstance(item, dict) and len(item) == 1 and "image_url" in item:
        return _image_url(item["image_url"], f"{field}.image_url")
    if isinstance(item, dict) and len(item) == 1 and isinstance(item.get("image_base64"), str):
        return image_data_url(item["image_base64"], f"{field}.image_base64")
    raise ValidationError([{"field": field, "problem": "must be a URL, base64 image, or an object with one of "
                                                       "'image_url' or 'image_base64'"}])


def image_urls(inputs: dict[str, Any]) -> list[str]:
    """The images of a vision request, in order: ``image_url``, ``image_base64``, then ``images``.
    URLs are passed through (fetching and its safety are the provider's); base64 becomes data URLs."""
    urls = []
    if "image_url" in inputs:
        urls.append(_image_url(inputs["image_url"], "inputs.image_url"))
    if "image_base64" in inputs:
        if not isinstance(inputs["image_base64"], str):
            raise ValidationError([{"field": "inputs.image_base64", "problem": "must be a base64 string"}])
        urls.append(image_data_url(inputs["image_base64"], "inputs.image_base64"))
    if "images" in inputs:
        images = inputs["images"]
        if not isinstance(images, list) or not images:
            raise ValidationError([{"field": "inputs.images", "problem": "must be a non-empty array"}])
        urls += [_image_item(item, f"inputs.images[{i}]") for i, item in enumerate(images)]
    if len(urls) > MAX_IMAGES:
        raise ValidationError([{"field": "inputs.images", "problem": f"at most {MAX_IMAGES} images in all"}])
    return urls


def audio_file(value: Any, field: str = "inputs.audio_base64") -> tuple[str, bytes, str]:
    """A base64 audio payload as the (filename, bytes, content type) the SDK uploads: OpenAI infers
    the format from the file name, so the name follows the bytes."""
    if not isinstance(value, str):
        raise ValidationError([{"field": field, "problem": "must be a base64 string"}])
    data = b64_decode(value, field)
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio.wav", data, "audio/wav"
    if data[4:8] == b"ftyp":
        return "audio.m4a", data, "audio/mp4"
    for magic, extension, mime in AUDIO_MAGIC:
        if data.startswith(magic):
            return f"audio.{extension}", data, mime
    raise BadRequestError(f"{field} is not WAV, MP3, M4A, FLAC, OGG or WebM audio", details={"field": field})


# -- chat ------------------------------------------------------------------------------------------

def chat_messages(conversation: tuple[Message, ...], images: list[str]) -> list[dict[str, Any]]:
    """OpenAI chat messages; images go with the last user message, after its text."""
    messages: list[dict[str, Any]] = [{"role": m.role, "content": m.content} for m in conversation]
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


def chat_options(parameters: dict[str, Any], max_tokens_field: str) -> dict[str, Any]:
    options = {name: parameters[name] for name in SAMPLING if name in parameters}
    if "max_tokens" in parameters:
        options[max_tokens_field] = parameters["max_tokens"]
    if "schema" in parameters:
        options["response_format"] = response_format(parameters["schema"])
    return options


def chat_answer(completion: Any, *, provider: str, structured: bool) -> dict[str, Any]:
    """One ``data.responses`` item from a chat completion; a refusal is the client's 400."""
    choice = completion.choices[0]
    message = choice.message
    refusal = getattr(message, "refusal", None)
    if refusal or choice.finish_reason == "content_filter":
        raise refused(provider, refusal)
    text = message.content or ""
    answer: dict[str, Any] = {"text": text, "finish_reason": choice.finish_reason or "stop"}
    if structured:
        answer["structured"] = parse_structured(text)
    return answer


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
    input/output_tokens). Servers that report none add nothing."""
    if reported is None:
        return
    usage.prompt += int(getattr(reported, "prompt_tokens", None) or getattr(reported, "input_tokens", None) or 0)
    usage.completion += int(getattr(reported, "completion_tokens", None)
                            or getattr(reported, "output_tokens", None) or 0)


# -- embeddings and transcription ------------------------------------------------------------------

def embedding_data(response: Any, call: InferenceCall) -> dict[str, Any]:
    vectors = [item.embedding for item in sorted(response.data, key=lambda item: item.index)]
    dimensions = len(vectors[0]) if vectors else 0
    if call.single:
        return {"embedding": vectors[0], "dimensions": dimensions}
    return {"embeddings": vectors, "dimensions": dimensions}


def transcription_data(response: Any, language: str | None) -> dict[str, Any]:
    segments = [{"start_s": float(s.start), "end_s": float(s.end), "text": s.text.strip()}
                for s in (getattr(response, "segments", None) or [])]
    duration = getattr(response, "duration", None)
    return {"text": response.text, "language": getattr(response, "language", None) or language,
            "duration_s": float(duration) if duration is not None else None, "segments": segments}
