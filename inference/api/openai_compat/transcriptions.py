"""POST /v1/audio/transcriptions: a multipart upload (``file``, ``model``, ``language``, ``prompt``,
``temperature``, ``response_format``) as the native ``audio_base64`` request, answered as OpenAI does:
``json`` ``{"text"}``, ``text`` the bare text, ``verbose_json`` with language, duration and segments
(segments carry ``id``, ``seek``, ``start``, ``end`` and ``text``: the scores OpenAI adds are not known here).
The audio format is read from the bytes, not the file name."""

from __future__ import annotations

import base64
from typing import Any

from core.errors import InfergateError, ValidationError
from inference.api.edge import EdgeRequest, refusing
from inference.api.openai_compat.multipart import multipart_parse
from inference.api.openai_compat.transport import model_target, openai_route

FIELDS = ("model", "language", "prompt", "temperature", "response_format", "timestamp_granularities[]", "stream")
FORMATS = ("json", "text", "verbose_json")


def _temperature(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ValidationError([{"field": "temperature", "problem": "must be a number"}]) from None


def transcription_request_parse(content_type: str, raw: bytes) -> tuple[dict[str, Any], str]:
    """The native body and the response format."""
    fields, files = multipart_parse(content_type, raw)
    unknown = sorted(set(fields) - set(FIELDS)) + sorted(name for name in files if name != "file")
    if unknown:
        raise ValidationError([{"field": name, "problem": "not supported here"} for name in unknown],
                              message=f"Unsupported fields {', '.join(unknown)}; accepted fields are file, "
                                      f"{', '.join(FIELDS)}", accepted=["file", *FIELDS])
    problems = [{"field": name, "problem": "required"} for name in ("file", "model")
                if name not in (files if name == "file" else fields)]
    if problems:
        raise ValidationError(problems)
    response_format = fields.get("response_format") or "json"
    if response_format not in FORMATS:
        raise ValidationError([{"field": "response_format", "problem": f"must be one of {', '.join(FORMATS)}"}])
    if fields.get("stream", "false").lower() != "false":
        raise ValidationError([{"field": "stream", "problem": "streamed transcription is not supported"}])
    if fields.get("timestamp_granularities[]", "segment") != "segment":
        raise ValidationError([{"field": "timestamp_granularities[]", "problem": "only segment is supported"}])
    if not files["file"].data:
        raise ValidationError([{"field": "file", "problem": "is empty"}])
    parameters: dict[str, Any] = {name: fields[name] for name in ("language", "prompt") if fields.get(name)}
    if fields.get("temperature"):
        parameters["temperature"] = _temperature(fields["temperature"])
    inputs = {"audio_base64": base64.b64encode(files["file"].data).decode("ascii")}
    return {**model_target(fields["model"]), "inputs": inputs, "parameters": parameters}, response_format


def transcription_answer(data: dict[str, Any], response_format: str) -> dict[str, Any]:
    if response_format == "json":
        return {"text": data["text"]}
    segments = [{"id": i, "seek": 0, "start": s["start_s"], "end": s["end_s"], "text": s["text"]}
                for i, s in enumerate(data.get("segments") or [])]
    return {"task": "transcribe", "language": data.get("language"), "duration": data.get("duration_s"),
            "text": data["text"], "segments": segments}


@openai_route
async def transcriptions_endpoint(request: EdgeRequest) -> None:
    response_format = "json"
    try:
        raw = request.body_bytes("multipart/form-data")
        native, response_format = transcription_request_parse(request.headers["content-type"], raw)
        body: Any = native
    except InfergateError as error:
        body = refusing(error)
    response = await request.run(body)
    if response_format != "text":
        return await request.respond(transcription_answer(response["data"], response_format))
    text = response["data"]["text"].encode()
    await request.send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(text)).encode()),
        (b"x-request-id", request.request_id.encode()), *request.response_headers()]})
    await request.send({"type": "http.response.body", "body": text})
