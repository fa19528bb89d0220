"""What the OpenAI-compatible routes share, served straight from ASGI like POST /v1/inference (no Django
request thread): the request id, the body read within its size limit, the namespace (``X-Namespace``, or
the key's only one), answers and Server-Sent Events, and every failure in OpenAI's error format.

A request's own problems (content type, size, JSON, OpenAI fields) are raised from the body callable that
``inference_run`` calls after authentication, so that they are recorded in usage like any other failure.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable

from django.conf import settings

from inference.api.endpoint import ClientGone, Receive, Send, read_limited_body, respond, scope_headers, sse_answer
from inference.api.middleware import current_request_id, request_id_for
from inference.api.openai_compat.errors import openai_error
from inference.errors import (InfergateError, InternalServerError, MethodNotAllowedError, PayloadTooLargeError,
                              UnsupportedMediaTypeError, ValidationError)
from inference.request import body_decode
from inference.service import Credentials, ResponseMeta, inference_run, inference_stream
from inference.strings import name_problem
from playground.accounts.authentication import key_resolve

logger = logging.getLogger(__name__)
USER_CHARS = 256  # OpenAI's `user`: an end user's id
FLAGS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}


@dataclass
class OpenAIRequest:
    scope: dict[str, Any]
    receive: Receive
    send: Send
    headers: dict[str, str]
    raw: bytes | None  # None: larger than ``limit``
    limit: int
    credentials: Credentials
    request_id: str
    started: float
    meta: ResponseMeta = field(default_factory=ResponseMeta)  # the rate-limit headers, once the key is known

    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def checked_raw(self, *media_types: str) -> bytes:
        if self.media_type() not in media_types:
            raise UnsupportedMediaTypeError(
                f"Content-Type must be {' or '.join(media_types)}, not {self.media_type() or 'missing'!r}")
        if self.raw is None:
            raise PayloadTooLargeError(f"Request body is larger than {self.limit} bytes",
                                       details={"limit_bytes": self.limit})
        return self.raw

    def json(self) -> Any:
        return body_decode(self.checked_raw("application/json"))

    async def run(self, body: Any) -> dict[str, Any]:
        return await inference_run(credentials=self.credentials, body=body, request_id=self.request_id,
                                   started=self.started, meta=self.meta)

    def stream(self, body: Any) -> AsyncIterator[dict[str, Any]]:
        return inference_stream(credentials=self.credentials, body=body, request_id=self.request_id,
                                started=self.started, meta=self.meta)

    def response_headers(self, extra: dict[str, str] | None = None) -> list[tuple[bytes, bytes]]:
        headers = {**self.meta.headers, **(extra or {})}
        return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]

    async def respond(self, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        await respond(self.send, 200, payload, self.request_id, {**self.meta.headers, **(headers or {})})


def failing(error: InfergateError) -> Callable[[], Any]:
    """A body callable that raises ``error``: the service authenticates first, then records it."""

    def load() -> Any:
        raise error

    return load


async def namespace_default(headers: dict[str, str]) -> str | None:
    """``X-Namespace`` when sent; else the id of the key's only namespace when the key is scoped to
    exactly one. Otherwise None, and the service refuses the request (missing X-Namespace, or the key's
    own failure), recording it like any other."""
    given = headers.get("x-namespace")
    if given is not None and given.strip():
        return given
    try:
        key = await key_resolve(headers.get("authorization"))
    except InfergateError:
        return None
    if not key.all_namespaces and len(key.namespace_ids) == 1:
        return next(iter(key.namespace_ids))
    return None


async def _respond_error(send: Send, error: InfergateError, request_id: str) -> None:
    await respond(send, error.status, openai_error(error), request_id, error.headers)


def openai_route(serve: Callable[[OpenAIRequest], Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """POST only; the body read with its limit; any failure answered in OpenAI's error format."""

    async def endpoint(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        headers = scope_headers(scope)
        request_id = request_id_for(headers.get("x-request-id"))
        token = current_request_id.set(request_id)
        try:
            if scope["method"] != "POST":
                raise MethodNotAllowedError("Use POST", headers={"Allow": "POST"})
            limit = settings.INFERGATE["MAX_BODY_BYTES"]
            raw = await read_limited_body(headers, receive)
            credentials = Credentials(authorization=headers.get("authorization"),
                                      namespace=await namespace_default(headers))
            await serve(OpenAIRequest(scope=scope, receive=receive, send=send, headers=headers, raw=raw, limit=limit,
                                      credentials=credentials, request_id=request_id, started=started))
        except ClientGone:
            return
        except InfergateError as error:
            await _respond_error(send, error, request_id)
        except Exception:
            logger.exception("unhandled error on %s", scope["path"])
            await _respond_error(send, InternalServerError(), request_id)
        finally:
            current_request_id.reset(token)

    return endpoint


async def sse_relay(request: OpenAIRequest, events: AsyncIterator[dict[str, Any]], first: dict[str, Any],
                    encode: Callable[[dict[str, Any]], list[bytes]], tail: bytes = b"",
                    headers: dict[str, str] | None = None) -> None:
    """Server-Sent Events in OpenAI's chunk format, through the native endpoint's relay."""
    await sse_answer(request.receive, request.send, request_id=request.request_id, events=events, first=first,
                     encode=encode, tail=tail, headers=request.response_headers(headers))


def sse_data(payload: Any) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


def cache_headers(headers: dict[str, str]) -> dict[str, Any]:
    """``X-Semantic-Cache`` / ``X-Cache-Delta`` as the native body's ``enable_semantic_cache`` / ``cache_delta``."""
    body: dict[str, Any] = {}
    problems = []
    flag = headers.get("x-semantic-cache")
    if flag is not None:
        value = FLAGS.get(flag.strip().lower())
        if value is None:
            problems.append({"field": "X-Semantic-Cache", "problem": "must be true or false"})
        body["enable_semantic_cache"] = value
    delta = headers.get("x-cache-delta")
    if delta is not None:
        try:
            body["cache_delta"] = float(delta)
            if not 0 <= body["cache_delta"] <= 1:
                raise ValueError(delta)
        except ValueError:
            problems.append({"field": "X-Cache-Delta", "problem": "must be a number between 0 and 1"})
    if problems:
        raise ValidationError(problems)
    return body


def cache_report(headers: dict[str, str], response: dict[str, Any]) -> dict[str, str]:
    """When the client asked for the cache: whether this answer came from it (the response's ``cached``)."""
    if "x-semantic-cache" not in headers:
        return {}
    return {"X-Semantic-Cache": "hit" if response.get("cached") else "miss"}


def model_target(model: Any) -> dict[str, Any]:
    """An OpenAI ``model`` as the native target: ``provider/model``, ``plugin/{inference_name}`` (the
    /v1/models id), a feature URI (``scheme://...``), or a bare plugin inference name."""
    if not isinstance(model, str) or not model.strip():
        raise ValidationError([{"field": "model", "problem": "required: a string such as "
                                "'local/smollm2-135m-instruct' or a plugin inference name"}])
    if "://" in model:
        return {"feature_uri": model}
    provider, slash, name = model.partition("/")
    if not slash:
        return {"inference_name": model}
    if provider == "plugin":
        return {"inference_name": name}
    return {"provider": provider, "model": name}


def object_check(body: Any, accepted: tuple[str, ...], required: tuple[str, ...]) -> dict[str, Any]:
    """An OpenAI request object: a JSON object with only ``accepted`` keys and every ``required`` one
    (422 naming each problem). Keys sent as null count as absent, as OpenAI's API treats them."""
    if not isinstance(body, dict):
        raise ValidationError([{"field": "body", "problem": "must be a JSON object"}])
    unknown = sorted(k for k in body if k not in accepted)
    if unknown:
        raise ValidationError([{"field": key, "problem": "not supported here"} for key in unknown],
                              message=f"Unsupported keys {', '.join(unknown)}; accepted keys are "
                                      f"{', '.join(accepted)}", accepted=list(accepted))
    body = {k: v for k, v in body.items() if v is not None}
    missing = [{"field": key, "problem": "required"} for key in required if key not in body]
    if missing:
        raise ValidationError(missing)
    if "user" in body and (problem := name_problem(body["user"], max_chars=USER_CHARS)):
        raise ValidationError([{"field": "user", "problem": problem}])  # not kept, but checked as OpenAI's API does
    return body
