"""The one place where the Google SDKs' exceptions become Infergate errors (docs/contract.md, errors): one
function per SDK, ``genai_error_map`` (google-genai) and ``vertex_error_map`` (google-cloud-aiplatform's
REST transport), over one status table.

| upstream                                              | ours                                                 |
|-------------------------------------------------------|------------------------------------------------------|
| 401, 403; 400 with reason API_KEY_INVALID; a service  | 502 ProviderError, ``upstream_status``               |
| account's token refused (google-auth RefreshError)    |                                                      |
| 429 RESOURCE_EXHAUSTED                                | 429, Retry-After from the header or RetryInfo        |
| 400, 404 (the request was refused: reason)            | 400 BadRequestError, ``upstream_status``             |
| 408, 5xx, UNAVAILABLE, connection failure             | retried (``retryable``), then 502 ProviderError      |
| no answer within the timeout                          | 504 TimeoutError                                     |

The Gemini API answers a wrong key with 400 INVALID_ARGUMENT, not 401: its ErrorInfo reason says so.
Upstream messages are passed on scrubbed of the secret and of anything that looks like a key or token.
Content blocked by the safety filters arrives as a 200 and is ``mapping.blocked``'s to raise.
"""

from __future__ import annotations

import re
from typing import Any

import google.auth.exceptions
import httpx
import httpx2
import requests
from google.api_core import exceptions as core_exceptions
from google.genai import errors as genai_errors

from core.errors import BadRequestError, InfergateError, ProviderError, TooManyRequestsError
from inference.providers.upstream import common_error_map, retry_after_seconds, unexpected_answer
from inference.providers.upstream import scrub as scrub_keys

GOOGLE_SECRETS = re.compile(r"AIza[0-9A-Za-z_\-]{12,}|ya29\.[0-9A-Za-z_\-.]+|-----BEGIN [A-Z ]+-----[^-]*")
RETRYABLE_STATUS = {408, 500, 502, 503, 504}
TIMEOUTS = (httpx.TimeoutException, httpx2.TimeoutException, requests.Timeout, core_exceptions.DeadlineExceeded)
CONNECTION = (httpx.TransportError, httpx2.TransportError, requests.ConnectionError)
KEY_REASONS = {"API_KEY_INVALID", "API_KEY_EXPIRED", "API_KEY_SERVICE_BLOCKED", "ACCESS_TOKEN_EXPIRED"}
# What the two SDKs (and the transports and google-auth under them) raise: the retry loop catches these.
SDK_ERRORS = (genai_errors.APIError, core_exceptions.GoogleAPICallError, google.auth.exceptions.GoogleAuthError,
              httpx.HTTPError, httpx2.HTTPError, requests.RequestException)


def scrub(text: str, secret: str | None = None) -> str:
    return scrub_keys(GOOGLE_SECRETS.sub("[redacted]", text), secret)


def _duration_seconds(value: Any) -> int | None:
    """A google.protobuf.Duration in JSON (``"30s"``, ``"1.5s"``) as whole seconds, rounded up."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)s", str(value or ""))
    if not match:
        return None
    seconds = float(match.group(1))
    return int(seconds) + (seconds > int(seconds))


def error_parts(details: Any) -> tuple[str | None, list[dict[str, Any]]]:
    """``(message, details list)`` of a documented error body ``{"error": {"code", "message", "status",
    "details"}}`` (or of its inner object)."""
    error = details.get("error", details) if isinstance(details, dict) else {}
    if not isinstance(error, dict):
        return None, []
    items = error.get("details")
    return (error.get("message") if isinstance(error.get("message"), str) else None,
            [item for item in items if isinstance(item, dict)] if isinstance(items, list) else [])


def _retry_after(headers: Any, items: list[dict[str, Any]]) -> int | None:
    seconds = retry_after_seconds(headers) if headers is not None else None
    if seconds is not None:
        return seconds
    for item in items:
        if str(item.get("@type", "")).endswith("google.rpc.RetryInfo"):
            return _duration_seconds(item.get("retryDelay"))
    return None


def status_error_map(*, provider: str, status: int, upstream: str | None, message: str,
                     items: list[dict[str, Any]], headers: Any) -> InfergateError:
    """An HTTP error answer of either SDK, from its status, status name, message and details."""
    details: dict[str, Any] = {"provider": provider, "upstream_status": status}
    if upstream:
        details["upstream_code"] = upstream
    reasons = {str(item.get("reason")) for item in items if item.get("reason")}
    if status in (401, 403) or reasons & KEY_REASONS:
        return ProviderError(f"{provider} rejected the credentials (HTTP {status}); check the namespace's "
                             f"credentials or the server's environment", details=details)
    if status == 429:
        retry_after = _retry_after(headers, items)
        details["retry_after"] = retry_after
        return TooManyRequestsError(f"{provider} rate limit: {message}" if message else f"{provider} rate limit",
                                    details=details,
                                    headers={"Retry-After": str(retry_after)} if retry_after is not None else {})
    if status in (400, 404, 413, 422):
        return BadRequestError(f"{provider} rejected the request: {message}", details=details)
    return ProviderError(f"{provider} answered HTTP {status}: {message}" if message else None, details=details)


def _common_map(exc: BaseException, *, provider: str, timeout_s: float | None,
                status: type[BaseException]) -> InfergateError | None:
    """``upstream.common_error_map``, after a service account's token refused by google-auth."""
    if isinstance(exc, google.auth.exceptions.RefreshError):
        return ProviderError(f"{provider} refused the service account's token request; check the namespace's "
                             "credentials or the server's environment",
                             details={"provider": provider, "upstream_status": None})
    return common_error_map(exc, provider=provider, timeout_s=timeout_s, timeouts=TIMEOUTS,
                            connection=CONNECTION + (google.auth.exceptions.TransportError,), status=status)


def genai_error_map(exc: BaseException, *, provider: str, secret: str | None = None,
                    timeout_s: float | None = None) -> InfergateError:
    """google-genai: ``errors.APIError`` (``code``, ``status``, ``details`` = the error body), or the
    httpx transport's exceptions, or google-auth's when Vertex credentials cannot get a token."""
    common = _common_map(exc, provider=provider, timeout_s=timeout_s, status=genai_errors.APIError)
    if common is not None:
        return common
    if not isinstance(exc.code, int):
        return unexpected_answer(provider, type(exc).__name__)
    message, items = error_parts(exc.details)
    headers = getattr(exc.response, "headers", None)
    return status_error_map(provider=provider, status=exc.code, upstream=exc.status,
                            message=scrub(message or exc.message or "", secret), items=items, headers=headers)


def vertex_error_map(exc: BaseException, *, provider: str, secret: str | None = None,
                     timeout_s: float | None = None) -> InfergateError:
    """google-api-core: ``GoogleAPICallError`` (``code``; over REST, ``response`` holds the error body),
    or requests' exceptions from the REST transport, or google-auth's."""
    common = _common_map(exc, provider=provider, timeout_s=timeout_s, status=core_exceptions.GoogleAPICallError)
    if common is not None:
        return common
    if not isinstance(exc.code, int):
        return unexpected_answer(provider, type(exc).__name__)
    response = getattr(exc, "response", None)
    try:
        body = response.json() if response is not None else {}
    except ValueError:
        body = {}
    message, items = error_parts(body)
    upstream = body.get("error", {}).get("status") if isinstance(body.get("error"), dict) else None
    return status_error_map(provider=provider, status=exc.code, upstream=upstream,
                            message=scrub(message or "", secret), items=items,
                            headers=getattr(response, "headers", None))


def retryable(exc: BaseException) -> bool:
    """5xx, 408 and connection failures are worth another try; timeouts, 4xx and 429 are not."""
    if isinstance(exc, TIMEOUTS):
        return False
    if isinstance(exc, CONNECTION + (google.auth.exceptions.TransportError,)):
        return True
    if isinstance(exc, genai_errors.APIError):
        return exc.code in RETRYABLE_STATUS or exc.status == "UNAVAILABLE"
    if isinstance(exc, core_exceptions.GoogleAPICallError):
        return exc.code in RETRYABLE_STATUS
    return False
