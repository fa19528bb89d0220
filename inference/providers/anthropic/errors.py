"""The one place where the anthropic SDK's exceptions become Infergate errors (docs/contract.md, errors).

Anthropic's error bodies are ``{"type": "error", "error": {"type", "message"}}``; the SDK raises one
``APIStatusError`` subclass per status and keeps ``error.type`` and ``error.message``.

| upstream                                                  | ours                                                 |
|-----------------------------------------------------------|------------------------------------------------------|
| 401 authentication_error, 403 permission_error, 402 billing_error | 502 ProviderError, ``upstream_status``       |
| 429 rate_limit_error                                      | 429 TooManyRequestsError, the provider's Retry-After |
| 400 invalid_request_error, 404, 413, 422                  | 400 BadRequestError with the provider's reason       |
| 408, 409, 5xx, 529 overloaded_error, connection failure   | retried (``retryable``), then 502 ProviderError      |
| no answer within the timeout                              | 504 TimeoutError                                     |
| an ``error`` event in the middle of a stream              | 502 ProviderError (not retried: text has flowed)     |

Upstream messages are passed on scrubbed of the key we sent and of anything key-like.
"""

from __future__ import annotations

from typing import Any

import anthropic

from core.errors import BadRequestError, InfergateError, ProviderError, TooManyRequestsError
from inference.providers.upstream import common_error_map, retry_after_seconds, scrub

CLIENT_ERRORS = (400, 404, 413, 415, 422)


def retryable(exc: BaseException) -> bool:
    """5xx (529 overloaded included), 408, 409 and connection failures are worth another try;
    timeouts are not (another full timeout would only multiply the wait), nor other 4xx answers."""
    if isinstance(exc, anthropic.APITimeoutError):
        return False
    if isinstance(exc, anthropic.APIConnectionError):
        return True
    return isinstance(exc, anthropic.APIStatusError) and (exc.status_code >= 500 or exc.status_code in (408, 409))


def error_map(exc: BaseException, *, provider: str, secret: str | None = None,
              timeout_s: float | None = None) -> InfergateError:
    common = common_error_map(exc, provider=provider, timeout_s=timeout_s, timeouts=anthropic.APITimeoutError,
                              connection=anthropic.APIConnectionError, status=anthropic.APIStatusError)
    if common is not None:
        return common
    status = exc.status_code
    message = scrub(str(exc.api_message or ""), secret)
    details: dict[str, Any] = {"provider": provider, "upstream_status": status}
    if isinstance(exc.type, str):
        details["upstream_type"] = exc.type
    if status in (401, 402, 403):
        return ProviderError(f"{provider} rejected the credentials (HTTP {status}); check the namespace's "
                             f"credentials or the server's environment", details=details)
    if status == 429:
        retry_after = retry_after_seconds(exc.response.headers)
        details["retry_after"] = retry_after
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        return TooManyRequestsError(f"{provider} rate limit: {message}" if message else f"{provider} rate limit",
                                    details=details, headers=headers)
    if status < 400:  # an ``error`` event in the middle of a 200 stream (e.g. overloaded_error)
        details["upstream_status"] = None
        return ProviderError(f"{provider} failed mid-stream: {message}" if message else None, details=details)
    if status in CLIENT_ERRORS:
        details["reason"] = message or None
        return BadRequestError(f"{provider} rejected the request: {message}" if message else None, details=details)
    return ProviderError(f"{provider} answered HTTP {status}: {message}" if message else None, details=details)
