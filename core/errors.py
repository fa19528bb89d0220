"""The one application error hierarchy. Every error a client sees is one of these, rendered into the
documented envelope by ``inference.api.errors``; nothing else formats errors."""

from __future__ import annotations

import logging
from typing import Any


class InfergateError(Exception):
    status = 500
    type = "InternalServerError"
    default_message = "Internal server error"

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None):
        # What a message or its details quote (a model name, a path) is the client's: an answer quotes a
        # bounded part of it, never a body larger than what was sent.
        self.message = _clip(message or self.default_message, MAX_MESSAGE_CHARS)
        self.details = details
        self.headers = headers or {}
        super().__init__(self.message)

    def envelope(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.type}
        if self.details is not None:
            error["details"] = _clipped(self.details)
        return {"success": False, "status": self.status, "error": error}


class BadRequestError(InfergateError):
    status, type, default_message = 400, "BadRequestError", "Bad request"


class UnauthorizedError(InfergateError):
    status, type, default_message = 401, "UnauthorizedError", "Missing or invalid API key"


class ForbiddenError(InfergateError):
    status, type, default_message = 403, "ForbiddenError", "Forbidden"


class NotFoundError(InfergateError):
    status, type, default_message = 404, "NotFoundError", "Not found"


class MethodNotAllowedError(InfergateError):
    status, type, default_message = 405, "MethodNotAllowedError", "Method not allowed"


class PayloadTooLargeError(InfergateError):
    status, type, default_message = 413, "PayloadTooLargeError", "Request body too large"


class UnsupportedMediaTypeError(InfergateError):
    status, type, default_message = 415, "UnsupportedMediaTypeError", "Content-Type must be application/json"


class ValidationError(InfergateError):
    status, type, default_message = 422, "ValidationError", "Request validation failed"

    def __init__(self, problems: list[dict[str, str]], message: str | None = None,
                 accepted: list[str] | None = None, **kwargs: Any):
        """``problems`` is a list of ``{"field": "inputs.text", "problem": "..."}``; ``accepted``, where
        given, lists the keys the client may send instead."""
        self.problems = problems
        # Problems name what the client sent (keys, fields): an answer lists a bounded number of them,
        # clipped, so that a body of 200,000 unknown keys is not answered with a body larger than itself.
        listed = [_clip_field(problem) for problem in problems[:MAX_LISTED_PROBLEMS]]
        details: dict[str, Any] = {"errors": listed}
        if len(problems) > MAX_LISTED_PROBLEMS:
            details["more_errors"] = len(problems) - MAX_LISTED_PROBLEMS
        if accepted is not None:
            details["accepted_keys"] = accepted
        super().__init__(message or _summarise(problems), details=details, **kwargs)


class TooManyRequestsError(InfergateError):
    status, type, default_message = 429, "TooManyRequestsError", "Rate limit exceeded"


class InternalServerError(InfergateError):
    pass


class CancelledByClientError(InfergateError):
    """Only ever sent to the client that cancelled a stream (and stamped on its usage record)."""

    status, type, default_message = 499, "Cancelled", "Cancelled by the client"


class ProviderError(InfergateError):
    status, type, default_message = 502, "ProviderError", "The provider answered with an error"


class InferenceServiceUnavailableError(InfergateError):
    status, type, default_message = 503, "InferenceServiceUnavailableError", "Inference service unavailable"


class ServiceUnavailableError(InfergateError):
    status, type, default_message = 503, "ServiceUnavailableError", "Service unavailable"


class TimeoutError(InfergateError):  # noqa: A001 - the contract's name for 504
    status, type, default_message = 504, "TimeoutError", "The provider did not answer in time"


def database_unavailable(exc: BaseException) -> bool:
    """The database cannot be reached (stopped, restarting, connections cut): Django's OperationalError
    and InterfaceError, what psycopg's connection failures become."""
    from django.db import InterfaceError, OperationalError

    return isinstance(exc, (OperationalError, InterfaceError))


def redis_unavailable(exc: BaseException) -> bool:
    """Redis (the job store and Celery's broker) cannot be reached: redis-py's ConnectionError (a server
    still loading its data after a restart included) and TimeoutError, and kombu's OperationalError, what
    a Celery publish raises once its retries give up."""
    from kombu.exceptions import OperationalError
    from redis.exceptions import ConnectionError, TimeoutError

    return isinstance(exc, (ConnectionError, TimeoutError, OperationalError))


def outage(exc: BaseException) -> tuple[str, str] | None:
    """What cannot be reached, when ``exc`` says so: ("database", "The database") or ("redis", "Redis");
    else None."""
    if database_unavailable(exc):
        return "database", "The database"
    if redis_unavailable(exc):
        return "redis", "Redis"
    return None


def unexpected_error(exc: BaseException) -> InfergateError:
    """What the client is told of an exception that is none of ours: a database or Redis outage is a 503
    to retry shortly (tests/faults/test_postgres_restart.py, test_redis_jobs.py); anything else is our own
    fault, a 500. Neither says more (no driver message, host or stack trace)."""
    return _unexpected(outage(exc))


def _unexpected(away: tuple[str, str] | None) -> InfergateError:
    if away is None:
        return InternalServerError()
    reason, name = away
    return ServiceUnavailableError(f"{name} cannot be reached right now; try again shortly",
                                   details={"reason": reason}, headers={"Retry-After": "1"})


def unexpected_error_logged(exc: BaseException, logger: logging.Logger, what: str) -> InfergateError:
    """``unexpected_error``, logged on ``logger``: an outage as one warning line (it is not a bug, and a stack
    trace per request would flood the log), anything else as an error with its stack trace."""
    away = outage(exc)
    if away is not None:
        logger.warning("%s refused: %s is unavailable (%s)", what, away[1], type(exc).__name__)
    else:
        logger.error("%s failed: %s", what, type(exc).__name__, exc_info=exc)
    return _unexpected(away)


class PluginError(InfergateError):
    """A plugin raised, or returned data that is not its modality's shape; ``details.plugin`` names it."""

    status, type, default_message = 500, "PluginError", "The plugin failed"


MAX_LISTED_PROBLEMS = 50
MAX_MESSAGE_CHARS = 1000
MAX_DETAIL_CHARS = 300


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit - 1]}…"


def _clip_field(problem: dict[str, Any]) -> dict[str, Any]:
    field = problem.get("field")
    return {**problem, "field": _clip(field, 200)} if isinstance(field, str) else problem


def _clipped(value: Any) -> Any:
    """``details`` with every string in it (field names, problems, echoed values) cut to MAX_DETAIL_CHARS."""
    if isinstance(value, str):
        return _clip(value, MAX_DETAIL_CHARS)
    if isinstance(value, dict):
        return {key: _clipped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clipped(item) for item in value]
    return value


def _summarise(problems: list[dict[str, str]]) -> str:
    if not problems:
        return ValidationError.default_message
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{first['field']}: {first['problem']}{more}"
