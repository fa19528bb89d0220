"""What a request is cached under, as small pure functions.

- The scope: namespace + target + every parameter that can change the answer (temperature, max_tokens,
  top_p, stop, seed, schema, any other), the system prompt and the hashes of the images. Two requests
  share cached answers only when their scopes are equal.
- Tools: the tools offered and the tool choice are parameters, so a tool-call answer is only ever served to a
  request that offered the same tools. A conversation that already holds tool turns (calls made, results
  given) is not cached: a result that differs in one number reads as near the same text to the embedder.
- The prompt: the whole conversation without its system prompt (that is in the scope). It is hashed for
  exact repeats and embedded for similar ones; the text to embed puts the last message first and the
  earlier turns after it, newest first, so that the embedder's 256-token window keeps what matters most.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from inference.types import InferenceCall, Message, Modality, ModelSpec

CACHEABLE = (Modality.CHAT, Modality.VISION)


def _sha256(value: bytes) -> str:
    return hashlib.sha256(value).hexdigest()


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def image_hashes(call: InferenceCall) -> list[str] | None:
    """sha256 of each inline (base64) image, in order; None when an image is given by URL (what a URL
    serves can change, so such requests are not cached)."""
    images = list(call.inputs.get("images") or [])
    if "image_base64" in call.inputs:
        images.insert(0, {"base64": call.inputs["image_base64"]})
    if "image_url" in call.inputs:
        return None
    hashes = []
    for image in images:
        value = image.get("base64", image.get("image_base64")) if isinstance(image, dict) else image
        if not isinstance(value, str) or value.startswith(("http://", "https://")):
            return None
        hashes.append(_sha256(value.encode()))
    return hashes


def effective_temperature(spec: ModelSpec, parameters: dict[str, Any]) -> float:
    if "temperature" in parameters:
        return float(parameters["temperature"])
    declared = spec.parameter("temperature")
    return float(declared.default) if declared is not None and declared.default is not None else 0.0


def cache_refusal(spec: ModelSpec, call: InferenceCall, *, allow_sampling: bool) -> str | None:
    """Why this call cannot use the cache, or None when it can."""
    if call.modality not in CACHEABLE:
        return "modality"
    if len(call.conversations) != 1:
        return "batch"
    if any(m.tool_calls or m.role == "tool" for m in call.conversations[0]):
        return "tool_turns"
    if effective_temperature(spec, call.parameters) > 0 and not allow_sampling:
        return "sampling"
    if image_hashes(call) is None:
        return "image_url"
    return None


def scope_key(*, namespace_id: str, spec: ModelSpec, call: InferenceCall) -> str:
    conversation = call.conversations[0]
    system = [m.content for m in conversation if m.role == "system"]
    parameters = dict(call.parameters)
    parameters.setdefault("temperature", effective_temperature(spec, call.parameters))
    return _sha256(_canonical({
        "namespace": namespace_id, "provider": spec.provider, "model": spec.model, "modality": call.modality.value,
        "parameters": parameters, "system": system, "images": image_hashes(call) or [],
    }))


def answer_text(response: dict[str, Any]) -> str:
    """An answer as the judge compares it: its text, then each tool call as ``name(arguments)``."""
    calls = [f"{call['name']}({call['arguments']})" for call in response.get("tool_calls") or ()]
    return "\n".join([response.get("text", ""), *calls]).strip()


def _dialogue(conversation: tuple[Message, ...]) -> list[Message]:
    return [m for m in conversation if m.role != "system"]


def prompt_text(conversation: tuple[Message, ...]) -> str:
    """The conversation as stored and shown: one ``role: content`` line per message, in order."""
    return "\n".join(f"{m.role}: {m.content}" for m in _dialogue(conversation))


def prompt_hash(conversation: tuple[Message, ...]) -> str:
    return _sha256(_canonical([[m.role, m.content] for m in _dialogue(conversation)]))


def embedding_text(conversation: tuple[Message, ...]) -> str:
    messages = _dialogue(conversation)
    if len(messages) == 1:
        return messages[0].content
    return "\n".join(f"{m.role}: {m.content}" for m in reversed(messages))
