"""Our errors in OpenAI's error format, ``{"error": {"message", "type", "param", "code"}}``, with the same
status codes as the native endpoint. The one place these routes format errors.

- ``type``: ``invalid_request_error`` for 4xx, except ``authentication_error`` (401), ``permission_error``
  (403), ``not_found_error`` (404) and ``rate_limit_error`` (429); ``server_error`` for 5xx.
- ``code``: the native error type in snake case (``validation_error``, ``unauthorized_error``, ...), or
  ``model_not_found`` when the model names no provider model or plugin this namespace can use.
- ``param``: the OpenAI request field at fault, where one is known (``messages[0].content``, ``input``...).
"""

from __future__ import annotations

import re
from typing import Any

from core.errors import InfergateError

TYPES = {401: "authentication_error", 403: "permission_error", 404: "not_found_error", 429: "rate_limit_error"}
NAMESPACE_HINT = ("Missing X-Namespace header: this API key is not scoped to exactly one namespace, so name "
                  "one with X-Namespace (a namespace id ns_... or its name)")

# Native field (after "inputs.") -> the OpenAI request field it came from.
INPUT_FIELDS = {"messages": "messages", "prompts": "messages", "system": "messages", "images": "messages",
                "image_url": "messages", "image_base64": "messages", "text": "input", "texts": "input",
                "audio_base64": "file", "audio_url": "file"}
PARAMETER_FIELDS = {"schema": "response_format"}


def openai_type(status: int) -> str:
    return TYPES.get(status) or ("server_error" if status >= 500 else "invalid_request_error")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def openai_param(field: str | None) -> str | None:
    """``inputs.messages[0].content`` -> ``messages[0].content``; ``parameters.max_tokens`` -> ``max_tokens``."""
    if not field:
        return None
    head, _, rest = field.partition(".")
    if head == "inputs" and rest:
        name = re.match(r"[a-z_0-9]*", rest).group(0)
        suffix = rest[len(name):]  # an index or a sub-field, kept where the OpenAI field has the same shape
        if name in ("messages", "texts"):
            return INPUT_FIELDS[name] + suffix
        return INPUT_FIELDS.get(name, name)
    if head == "parameters" and rest:
        return PARAMETER_FIELDS.get(rest, rest)
    if field in ("inputs", "body"):
        return None
    return field


def _model_unknown(status: int, details: dict[str, Any]) -> bool:
    return (status == 400 and ("models" in details or "providers" in details)) or (
        status == 404 and details.get("resource") == "plugin")


def error_payload(status: int, type_: str, message: str, details: dict[str, Any] | None) -> dict[str, Any]:
    details = details or {}
    param, code = None, _snake(type_)
    if _model_unknown(status, details):
        param, code = "model", "model_not_found"
    elif details.get("header") == "X-Namespace" and status == 400:
        message, param = NAMESPACE_HINT, "X-Namespace"
    elif isinstance(details.get("errors"), list) and details["errors"]:
        param = openai_param(details["errors"][0].get("field"))
    elif isinstance(details.get("field"), str):
        param = openai_param(details["field"])
    return {"error": {"message": message, "type": openai_type(status), "param": param, "code": code}}


def openai_error(error: InfergateError) -> dict[str, Any]:
    return openai_error_from_envelope(error.envelope())  # its details as the envelope clips them


def openai_error_from_envelope(envelope: dict[str, Any]) -> dict[str, Any]:
    """The same for an error that arrived as the native envelope (a stream's ``error`` event)."""
    error = envelope.get("error", {})
    return error_payload(envelope.get("status", 500), error.get("type", "InternalServerError"),
                         error.get("message", "Internal server error"), error.get("details"))
