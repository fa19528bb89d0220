"""POST /v1/inference served straight from ASGI.

The hot path skips Django's request machinery on purpose: Django runs each synchronous middleware and the
request signals on a thread of the request's own, so 200 concurrent slow upstream calls meant 200+ threads
and 5-10x the single-request time (bench/concurrency.py). Here a request costs no thread at all once its
key is cached: headers are read from the ASGI scope, the body is read with its size limit enforced while it
streams in, ``inference_run`` does the rest, and the JSON answer goes out with its request id. Every other
route (health, schema, admin, management) is ordinary Django.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Awaitable, Callable

from django.conf import settings

from inference.api.middleware import current_request_id, request_id_for
from inference.errors import (InfergateError, InternalServerError, MethodNotAllowedError, PayloadTooLargeError,
                              UnsupportedMediaTypeError)
from inference.request import body_decode
from inference.service import Credentials, inference_run

logger = logging.getLogger(__name__)

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
PATH = "/v1/inference"


class _ClientGone(Exception):
    pass


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}


async def _read_body(receive: Receive, declared: int, limit: int) -> bytes | None:
    """The body, or None when it is (or is declared) larger than ``limit``; reading stops at the limit."""
    if declared > limit:
        return None
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _body_loader(headers: dict[str, str], raw: bytes | None, limit: int) -> Callable[[], Any]:
    def load() -> Any:
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            raise UnsupportedMediaTypeError(
                f"Content-Type must be application/json, not {media_type or 'missing'!r}")
        if raw is None:
            raise PayloadTooLargeError(f"Request body is larger than {limit} bytes", details={"limit_bytes": limit})
        return body_decode(raw)

    return load


async def _respond(send: Send, status: int, payload: dict[str, Any], request_id: str,
                   extra: dict[str, str] | None = None) -> None:
    body = json.dumps(payload).encode()
    logger.info("POST %s %d", PATH, status)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"x-request-id", request_id.encode()), (b"x-content-type-options", b"nosniff")]
    headers += [(name.lower().encode(), value.encode()) for name, value in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def inference_endpoint(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    started = time.perf_counter()
    headers = _headers(scope)
    request_id = request_id_for(headers.get("x-request-id"))
    token = current_request_id.set(request_id)
    try:
        if scope["method"] != "POST":
            error = MethodNotAllowedError("Use POST", headers={"Allow": "POST"})
            return await _respond(send, error.status, error.envelope(), request_id, error.headers)
        limit = settings.INFERGATE["MAX_BODY_BYTES"]
        try:
            declared = int(headers.get("content-length") or 0)
        except ValueError:
            declared = 0
        raw = await _read_body(receive, declared, limit)
        credentials = Credentials(authorization=headers.get("authorization"), namespace=headers.get("x-namespace"))
        try:
            response = await inference_run(credentials=credentials, body=_body_loader(headers, raw, limit),
                                           request_id=request_id, started=started)
        except InfergateError as error:
            return await _respond(send, error.status, error.envelope(), request_id, error.headers)
        await _respond(send, 200, response, request_id)
    except _ClientGone:
        return
    except Exception:
        logger.exception("unhandled error on %s", PATH)
        error = InternalServerError()
        await _respond(send, error.status, error.envelope(), request_id)
    finally:
        current_request_id.reset(token)
