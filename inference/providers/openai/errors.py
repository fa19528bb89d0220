"""The one place where the openai SDK's exceptions become Infergate errors (docs/contract.md, errors).

| upstream                                  | ours                                                  |
|-------------------------------------------|-------------------------------------------------------|
| 401, 403 (our credentials refused)        | 502 ProviderError, ``upstream_status``                |
| 429                                       | 429 TooManyRequestsError, the provider's Retry-After  |
| 400, 404, 422 (content refused: reason)   | 400 BadRequestError, ``upstream_status``              |
| 408, 409, 5xx, connection failure         | retried (``retryable``), then 502 ProviderError       |
| no answer within the timeout              | 504 TimeoutError                                      |

Upstream messages are passed on scrubbed of anything that looks like a key: OpenAI's 401 message
quotes part of the key it refused.
"""

from __future__ import annotations

from typing import Any

import openai

from core.errors import BadRequestError, InfergateError, ProviderError, TooManyRequestsError
from inference.providers.upstream import common_error_map, retry_after_seconds, scrub

__all__ = ["error_map", "retry_after_seconds", "retryable", "scrub"]
REFUSAL_CODES = {"content_policy_violation", "content_filter", "moderation_blocked"}


def _body_error(exc: openai.APIStatusError) -> dict[str, Any]:
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"]
    return body if isinstance(body, dict) else {}


def retryable(exc: BaseException) -> bool:
    """5xx, 408, 409 and connection failures are worth another try; timeouts are not (another
    full timeout would only triple the wait) and neither are 4xx answers."""
    if isinstance(exc, openai.APITimeoutError):
        return False
    if isinstance(exc, openai.APIConnectionError):
        return True
    return isinstance(exc, openai.APIStatusError) and (exc.status_code >= 500 or exc.status_code in (408, 409))


def error_map(exc: openai.OpenAIError, *, provider: str, secret: str | None = None,
              timeout_s: float | None = None) -> InfergateError:
    common = common_error_map(exc, provider=provider, timeout_s=timeout_s, timeouts=openai.APITimeoutError,
                              connection=openai.APIConnectionError, status=openai.APIStatusError)
    if common is not None:
        return common
    status, error = exc.status_code, _body_error(exc)
    message = scrub(str(error.get("message") or exc.message or ""), secret)
    code = error.get("code") if isinstance(error.get("code"), str) else None
    details: dict[str, Any] = {"provider": provider, "upstream_status": status}
    if code:
        details["upstream_code"] = code
    if status in (401, 403):
        return ProviderError(f"{provider} rejected the credentials (HTTP {status}); check the namespace's "
                             f"credentials or the server's environment", details=details)
    if status == 429:
        retry_after = retry_after_seconds(exc.response.headers)
        details["retry_after"] = retry_after
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        return TooManyRequestsError(f"{provider} rate limit: {message}" if message else f"{provider} rate limit",
                                    details=details, headers=headers)
    if code in REFUSAL_CODES:
        details["refused"] = True
        return BadRequestError(f"{provider} refused the request: {message}", details=details)
    if status in (400, 404, 413, 415, 422):
        return BadRequestError(f"{provider} rejected the request: {message}", details=details)
    return ProviderError(f"{provider} answered HTTP {status}: {message}" if message else None, details=details)
