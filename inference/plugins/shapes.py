"""Checks a plugin's ``data`` against its modality's shape (docs/contract.md) before it leaves the gateway.

``data_problems`` lists what is wrong (empty when nothing is), so that the client's PluginError and the
log line can say exactly how a plugin broke the contract.
"""

from __future__ import annotations

import json
import math
from typing import Any

from inference.types import InferenceCall, Modality

MAX_PROBLEMS = 10
VIDEO_KEYS = ("video_url", "video_base64")


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and (not isinstance(value, float) or math.isfinite(value)))


def _keys(data: Any, where: str, required: set[str], optional: set[str] = frozenset()) -> list[str]:
    if not isinstance(data, dict):
        return [f"{where}: must be an object, not {type(data).__name__}"]
    problems = [f"{where}.{key}: missing" for key in sorted(required - set(data))]
    problems += [f"{where}.{key}: not part of the shape" for key in sorted(set(data) - required - optional)]
    return problems


def _vector(value: Any, where: str, dimensions: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        return [f"{where}: must be a non-empty array of numbers"]
    if not all(_is_number(v) for v in value):
        return [f"{where}: must hold only finite numbers"]
    if isinstance(dimensions, int) and len(value) != dimensions:
        return [f"{where}: has {len(value)} numbers, but dimensions says {dimensions}"]
    return []


def _dimensions(data: dict[str, Any], expected: int | None) -> list[str]:
    value = data.get("dimensions")
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        return ["data.dimensions: must be a positive integer"]
    if expected is not None and value != expected:
        return [f"data.dimensions: is {value}, but the plugin declares {expected}"]
    return []


def _chat(data: dict[str, Any], call: InferenceCall) -> list[str]:
    problems = _keys(data, "data", {"responses"})
    if problems:
        return problems
    responses = data["responses"]
    if not isinstance(responses, list) or len(responses) != len(call.conversations):
        return [f"data.responses: must be an array of {len(call.conversations)} answers (one per prompt)"]
    for i, answer in enumerate(responses):
        where = f"data.responses[{i}]"
        found = _keys(answer, where, {"text", "finish_reason"}, {"structured"})
        if not found:
            if not isinstance(answer["text"], str):
                found.append(f"{where}.text: must be a string")
            if not isinstance(answer["finish_reason"], str) or not answer["finish_reason"]:
                found.append(f"{where}.finish_reason: must be a non-empty string")
        problems += found
    return problems


def _text_embedding(data: dict[str, Any], call: InferenceCall, expected: int | None) -> list[str]:
    if call.single:
        problems = _keys(data, "data", {"embedding", "dimensions"}) or _dimensions(data, expected)
        return problems or _vector(data["embedding"], "data.embedding", data["dimensions"])
    problems = _keys(data, "data", {"embeddings", "dimensions"}) or _dimensions(data, expected)
    if problems:
        return problems
    vectors = data["embeddings"]
    if not isinstance(vectors, list) or len(vectors) != len(call.texts):
        return [f"data.embeddings: must be an array of {len(call.texts)} vectors (one per text)"]
    return [p for i, v in enumerate(vectors) for p in _vector(v, f"data.embeddings[{i}]", data["dimensions"])]


def _multimodal_embedding(data: dict[str, Any], call: InferenceCall, expected: int | None) -> list[str]:
    if not any(key in call.inputs for key in VIDEO_KEYS):
        problems = _keys(data, "data", {"embedding", "dimensions"}) or _dimensions(data, expected)
        return problems or _vector(data["embedding"], "data.embedding", data["dimensions"])
    problems = _keys(data, "data", {"segments", "dimensions"}) or _dimensions(data, expected)
    if problems:
        return problems
    if not isinstance(data["segments"], list) or not data["segments"]:
        return ["data.segments: must be a non-empty array"]
    for i, segment in enumerate(data["segments"]):
        where = f"data.segments[{i}]"
        found = _keys(segment, where, {"start_s", "end_s", "embedding"})
        if not found:
            found += [f"{where}.{k}: must be a number" for k in ("start_s", "end_s") if not _is_number(segment[k])]
            found += _vector(segment["embedding"], f"{where}.embedding", data["dimensions"])
        problems += found
    return problems


def _transcription(data: dict[str, Any]) -> list[str]:
    problems = _keys(data, "data", {"text", "language", "duration_s", "segments"})
    if problems:
        return problems
    if not isinstance(data["text"], str):
        problems.append("data.text: must be a string")
    if not isinstance(data["language"], str):
        problems.append("data.language: must be a string")
    if not _is_number(data["duration_s"]) or data["duration_s"] < 0:
        problems.append("data.duration_s: must be a number >= 0")
    if not isinstance(data["segments"], list):
        return problems + ["data.segments: must be an array"]
    for i, segment in enumerate(data["segments"]):
        where = f"data.segments[{i}]"
        found = _keys(segment, where, {"start_s", "end_s", "text"})
        if not found:
            found += [f"{where}.{k}: must be a number" for k in ("start_s", "end_s") if not _is_number(segment[k])]
            if not isinstance(segment["text"], str):
                found.append(f"{where}.text: must be a string")
        problems += found
    return problems


def data_problems(data: Any, call: InferenceCall, dimensions: int | None = None) -> list[str]:
    """What keeps ``data`` from being the ``call.modality`` shape; ``dimensions`` is the declared vector
    size of an embedding plugin (unless the request chose one with the ``dimensions`` parameter)."""
    if not isinstance(data, dict):
        return [f"data: must be an object, not {type(data).__name__}"]
    expected = None if "dimensions" in call.parameters else dimensions
    if call.modality in (Modality.CHAT, Modality.VISION):
        problems = _chat(data, call)
    elif call.modality is Modality.TEXT_EMBEDDING:
        problems = _text_embedding(data, call, expected)
    elif call.modality is Modality.MULTIMODAL_EMBEDDING:
        problems = _multimodal_embedding(data, call, expected)
    else:
        problems = _transcription(data)
    if not problems:
        try:
            json.dumps(data, allow_nan=False)
        except (TypeError, ValueError) as exc:
            problems = [f"data: not JSON-serialisable ({exc})"]
    return problems[:MAX_PROBLEMS]
