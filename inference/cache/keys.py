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
import re
import unicodedata
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


# -- the normalised exact tier ----------------------------------------------------------------------
# Two conversations whose messages differ only in what ``message_normalise`` removes are the same request:
# the answer one got is served to the other (``hit_normalised``). What it removes, and only that:
# - Unicode compatibility forms (NFKC: full-width letters, ligatures, non-breaking spaces, ...), except
#   superscripts and subscripts, which are kept as written (x² is not x2);
# - letter case (Unicode case folding: "France" = "france", "Straße" = "strasse");
# - whitespace: runs of spaces, tabs and line breaks count as one space, and none at either end;
# - the sentence punctuation that ends a message: a final run of "?", "." or "!" (and "…"), except a "."
#   or "!" right after a digit ("5!" is a factorial, "2." may be an ordinal or a decimal).
# A message that holds code (a ``` fence, or a line after the first indented by a tab or two spaces) is kept as written,
# because case and whitespace matter there; quotes, commas and punctuation inside a message are kept.
_KEEP = re.compile(r"[\u00b2\u00b3\u00b9\u2070-\u209f\u1d2c-\u1d6a\u1d9b-\u1dbf\u2c7c\u2c7d]")
_TRAILING = re.compile(r"(?<!\d)[?.!\u2026]+$|\?+$")
_CODE = re.compile(r"```|\n(\t| {2})")


def message_normalise(text: str) -> str:
    """One message's content without the differences the normalised tier ignores (the list above)."""
    if _CODE.search(text.strip()):
        return text
    parts, start = [], 0
    for kept in _KEEP.finditer(text):  # NFKC everywhere except super- and subscripts
        parts += [unicodedata.normalize("NFKC", text[start:kept.start()]), kept.group()]
        start = kept.end()
    parts.append(unicodedata.normalize("NFKC", text[start:]))
    text = re.sub(r"\s+", " ", "".join(parts).casefold()).strip()
    while True:
        stripped = _TRAILING.sub("", text).rstrip()
        if stripped == text:
            return text
        text = stripped


def prompt_normalised_hash(conversation: tuple[Message, ...]) -> str:
    """The hash of the conversation with each message normalised (roles and order kept)."""
    return _sha256(_canonical([[m.role, message_normalise(m.content)] for m in _dialogue(conversation)]))
