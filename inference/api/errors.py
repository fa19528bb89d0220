"""Rendering of the error envelope: the one place errors become HTTP responses."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import JsonResponse
from rest_framework import exceptions as drf_exceptions

from core.errors import (
    BadRequestError,
    ForbiddenError,
    InfergateError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    ValidationError,
    unexpected_error_logged,
)

logger = logging.getLogger(__name__)


def error_response(error: InfergateError) -> JsonResponse:
    response = JsonResponse(error.envelope(), status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def request_refusal(exc: Exception) -> InfergateError | None:
    """What Django refuses a request body with (it is the client's, not our fault), in the envelope:
    a body over DATA_UPLOAD_MAX_MEMORY_SIZE (413), too many form fields or other suspicious input (400)."""
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return PayloadTooLargeError(f"Request body is larger than {limit} bytes", details={"limit_bytes": limit})
    if isinstance(exc, SuspiciousOperation):
        return BadRequestError("The request was refused as malformed")
    return None


def _drf_to_infergate(exc: Exception) -> InfergateError:
    if isinstance(exc, InfergateError):
        return exc
    refusal = request_refusal(exc)
    if refusal is not None:
        return refusal
    if isinstance(exc, drf_exceptions.ValidationError):
        problems = _flatten(exc.detail)
        return ValidationError(problems)
    mapping: dict[type, type[InfergateError]] = {
        drf_exceptions.NotAuthenticated: UnauthorizedError,
        drf_exceptions.AuthenticationFailed: UnauthorizedError,
        drf_exceptions.PermissionDenied: ForbiddenError,
        drf_exceptions.NotFound: NotFoundError,
        drf_exceptions.MethodNotAllowed: MethodNotAllowedError,
        drf_exceptions.UnsupportedMediaType: UnsupportedMediaTypeError,
        drf_exceptions.ParseError: BadRequestError,
    }
    for drf_type, ours in mapping.items():
        if isinstance(exc, drf_type):
            return ours(str(getattr(exc, "detail", "")) or None)
    if isinstance(exc, drf_exceptions.APIException):
        error = InfergateError(str(exc.detail))
        error.status = exc.status_code
        return error
    return unexpected_error_logged(exc, logger, "API view")


def _flatten(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    if isinstance(detail, dict):
        return [p for key, value in detail.items() for p in _flatten(value, f"{prefix}{key}.")]
    if isinstance(detail, list):
        return [p for item in detail for p in _flatten(item, prefix)]
    return [{"field": prefix.rstrip(".") or "body", "problem": str(detail)}]


def drf_exception_handler(exc: Exception, context: dict[str, Any]) -> JsonResponse:
    """DRF's EXCEPTION_HANDLER: every error from a DRF view leaves in the envelope."""
    return error_response(_drf_to_infergate(exc))
