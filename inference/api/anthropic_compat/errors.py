"""Our errors in Anthropic's error format, ``{"type": "error", "error": {"type", "message"}}``, with the status
codes the Anthropic SDK maps to its exception classes (400 BadRequestError, 401 AuthenticationError, 403
PermissionDeniedError, 404 NotFoundError, 413, 422 UnprocessableEntityError, 429 RateLimitError, 5xx
InternalServerError). The native details that say which field is at fault are kept under ``error.details``.
"""

from __future__ import annotations

from typing import Any

from core.errors import InfergateError

TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
         404: "not_found_error", 413: "request_too_large", 422: "invalid_request_error", 429: "rate_limit_error",
         503: "overloaded_error", 504: "timeout_error"}


def anthropic_type(status: int) -> str:
    return TYPES.get(status) or ("api_error" if status >= 500 else "invalid_request_error")


def anthropic_error_from_envelope(envelope: dict[str, Any]) -> dict[str, Any]:
    """The native error envelope (a response's or a stream's ``error`` event) in Anthropic's shape."""
    error = envelope.get("error", {})
    body: dict[str, Any] = {"type": anthropic_type(envelope.get("status", 500)),
                            "message": error.get("message", "Internal server error")}
    if error.get("details"):
        body["details"] = error["details"]
    return {"type": "error", "error": body}


def anthropic_error(error: InfergateError) -> dict[str, Any]:
    return anthropic_error_from_envelope(error.envelope())
