"""Validation of media input keys (``audio_url``, ``audio_base64``, ``image_url``, ...) into
``MediaInput`` objects: syntax and base64 only, no I/O (that is ``load.media_load``)."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from core.errors import BadRequestError, PayloadTooLargeError, ValidationError
from inference.media.config import media_config
from inference.types import MediaInput, MediaKind

DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+);base64,(?P<data>.*)$", re.DOTALL)
URL = re.compile(r"^https?://[^\s/?#]+(?:[/?#]\S*)?$", re.IGNORECASE)
MAX_URL_CHARS = 8192


def b64_decode(value: str, field: str) -> bytes:
    """Standard base64, bare or as a ``data:`` URL (whitespace ignored); a 400 naming the field when it
    is not base64 (docs/contract.md)."""
    match = DATA_URL.match(value)
    text = match.group("data") if match else value
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequestError(f"{field} is not valid base64", details={"field": field}) from None
    if not data:
        raise BadRequestError(f"{field} is empty", details={"field": field})
    return data


def media_input_parse(inputs: dict[str, Any], kind: MediaKind) -> MediaInput:
    """Exactly one of ``{kind}_url`` and ``{kind}_base64``, checked."""
    url_key, b64_key = f"{kind.value}_url", f"{kind.value}_base64"
    given = [key for key in (url_key, b64_key) if key in inputs]
    if len(given) != 1:
        raise ValidationError([{"field": "inputs", "problem": f"give exactly one of '{url_key}' or '{b64_key}'"}])
    key = given[0]
    field, value = f"inputs.{key}", inputs[key]
    if key == url_key:
        return MediaInput(kind=kind, field=field, url=url_check(value, field))
    if not isinstance(value, str) or not value.strip():
        raise ValidationError([{"field": field, "problem": "must be a non-empty base64 string"}])
    data = b64_decode(value, field)
    limit = media_config().limit(kind)
    if len(data) > limit:
        raise PayloadTooLargeError(f"{field} is larger than the {kind.value} limit of {limit} bytes",
                                   details={"field": field, "limit_bytes": limit})
    return MediaInput(kind=kind, field=field, data=data)


def url_check(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError([{"field": field, "problem": "must be a non-empty string"}])
    if len(value) > MAX_URL_CHARS or not URL.match(value):
        raise ValidationError([{"field": field,
                                "problem": f"must be an http or https URL of at most {MAX_URL_CHARS} characters"}])
    return value
