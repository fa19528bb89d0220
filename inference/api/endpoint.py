"""POST /v1/inference and POST /v1/inference/stream (Server-Sent Events), served straight from ASGI.

The hot path skips Django's request machinery on purpose: Django runs each synchronous middleware and the
request signals on a thread of the request's own, so 200 concurrent slow upstream calls meant 200+ threads
and 5-10x the single-request time (bench/concurrency.py). Here a request costs no thread at all once its
key is cached: headers are read from the ASGI scope, the body is read with its size limit enforced while it
streams in, ``inference_run`` does the rest, and the JSON answer goes out with its request id. Every other
route (health, schema, admin, management) is ordinary Django.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from contextlib import aclosing
from typing import Any, AsyncIterator, Awaitable, Callable

from django.conf import settings

from inference.api.middleware import current_request_id, request_id_for
from inference.errors import (InfergateError, InternalServerError, MethodNotAllowedError, PayloadTooLargeError,
                              UnsupportedMediaTypeError, ValidationError)
from inference.jobs.api import async_requested, body_refused, job_accept
from inference.request import body_decode
from inference.service import Credentials, ResponseMeta, inference_run, inference_stream

logger = logging.getLogger(__name__)

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
PATH = "/v1/inference"
STREAM_PATH = "/v1/inference/stream"


class ClientGone(Exception):
    pass


def scope_headers(scope: dict[str, Any]) -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}


async def read_body(receive: Receive, declared: int, limit: int) -> bytes | None:
    """The body, or None when it is (or is declared) larger than ``limit``; reading stops at the limit."""
    if declared > limit:
        return None
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
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


async def respond(send: Send, status: int, payload: dict[str, Any], request_id: str,
                   extra: dict[str, str] | None = None) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"x-request-id", request_id.encode()), (b"x-content-type-options", b"nosniff")]
    headers += [(name.lower().encode(), value.encode()) for name, value in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def read_limited_body(headers: dict[str, str], receive: Receive) -> bytes | None:
    """The request body, or None when it is (or says it will be) over INFERGATE["MAX_BODY_BYTES"]."""
    try:
        declared = int(headers.get("content-length") or 0)
    except ValueError:
        declared = 0
    return await read_body(receive, declared, settings.INFERGATE["MAX_BODY_BYTES"])


async def _read_request(scope: dict[str, Any], receive: Receive) -> tuple[dict[str, str], Credentials, Callable[[], Any]]:
    headers = scope_headers(scope)
    limit = settings.INFERGATE["MAX_BODY_BYTES"]
    raw = await read_limited_body(headers, receive)
    credentials = Credentials(authorization=headers.get("authorization"), namespace=headers.get("x-namespace"))
    return headers, credentials, _body_loader(headers, raw, limit)


def body_limited(app: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """Every other HTTP route (Django's: the management API, pages, admin) under the same body limit: the
    body is read here, within INFERGATE["MAX_BODY_BYTES"] (413 in the envelope past it, before Django
    reads a byte), then handed to ``app`` as if it arrived."""

    async def limited(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        try:
            raw = await read_limited_body(scope_headers(scope), receive)
        except ClientGone:
            return
        if raw is None:
            limit = settings.INFERGATE["MAX_BODY_BYTES"]
            error = PayloadTooLargeError(f"Request body is larger than {limit} bytes", details={"limit_bytes": limit})
            request_id = request_id_for(scope_headers(scope).get("x-request-id"))
            return await respond(send, error.status, error.envelope(), request_id, {"Connection": "close"})
        delivered = False

        async def replay() -> dict[str, Any]:
            nonlocal delivered
            if delivered:
                return await receive()  # the client's disconnect, which Django listens for
            delivered = True
            return {"type": "http.request", "body": raw, "more_body": False}

        await app(scope, replay, send)

    return limited


def _handler(serve: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """What both endpoints share: the request id, POST only, the envelope for any failure."""

    async def endpoint(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        request_id = request_id_for(scope_headers(scope).get("x-request-id"))
        token = current_request_id.set(request_id)
        try:
            if scope["method"] != "POST":
                error = MethodNotAllowedError("Use POST", headers={"Allow": "POST"})
                return await respond(send, error.status, error.envelope(), request_id, error.headers)
            headers, credentials, body = await _read_request(scope, receive)
            await serve(scope, receive, send, request_id=request_id, started=started, headers=headers,
                        credentials=credentials, body=body)
        except ClientGone:
            return
        except InfergateError as error:
            await respond(send, error.status, error.envelope(), request_id, error.headers)
        except Exception:
            logger.exception("unhandled error on %s", scope["path"])
            error = InternalServerError()
            await respond(send, error.status, error.envelope(), request_id)
        finally:
            current_request_id.reset(token)

    return endpoint


@_handler
async def inference_endpoint(scope: dict[str, Any], receive: Receive, send: Send, *, request_id: str,
                             started: float, headers: dict[str, str], credentials: Credentials,
                             body: Callable[[], Any]) -> None:
    """POST /v1/inference: one JSON answer."""
    try:
        queued = async_requested(scope)
    except ValidationError as error:  # ?async=ture: a 422 like a bad body's, after the key and namespace
        queued, body = False, body_refused(error)
    if queued:  # ?async=true: queued as a Celery job, 202 with its task id (inference/jobs)
        return await respond(send, 202, await job_accept(credentials=credentials, body=body, request_id=request_id),
                              request_id)
    meta = ResponseMeta()
    response = await inference_run(credentials=credentials, body=body, request_id=request_id, started=started,
                                   meta=meta)
    await respond(send, 200, response, request_id, meta.headers)


@_handler
async def stream_endpoint(scope: dict[str, Any], receive: Receive, send: Send, *, request_id: str,
                          started: float, headers: dict[str, str], credentials: Credentials,
                          body: Callable[[], Any]) -> None:
    """POST /v1/inference/stream: Server-Sent Events (``event: <type>`` + ``data: <json>``).

    A request that fails before the stream starts (key, namespace, body) is answered like
    POST /v1/inference: its status code and the JSON envelope. Once started, failures arrive as an
    ``error`` event. A client that disconnects stops the generation."""
    meta = ResponseMeta()
    events = inference_stream(credentials=credentials, body=body, request_id=request_id, started=started, meta=meta)
    first = await anext(events)  # raises before anything is sent when the request is refused
    await sse_answer(receive, send, request_id=request_id, events=events, first=first,
                     encode=lambda event: [sse_encode(event)],
                     headers=[(name.lower().encode(), value.encode()) for name, value in meta.headers.items()])


async def sse_answer(receive: Receive, send: Send, *, request_id: str, events: AsyncIterator[dict[str, Any]],
                     first: dict[str, Any], encode: Callable[[dict[str, Any]], list[bytes]], tail: bytes = b"",
                     headers: list[tuple[bytes, bytes]] = ()) -> None:
    """Answer 200 with Server-Sent Events: ``encode`` turns each service event (``first`` included) into
    the bytes to send, ``tail`` ends a stream that was not cut short. A client that disconnects closes
    ``events``, which stops the generation (and records it as cancelled)."""
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-store"),
        (b"x-accel-buffering", b"no"), (b"x-request-id", request_id.encode()), *headers]})

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    async def relay() -> None:
        async with aclosing(events):
            event: dict[str, Any] | None = first
            while event is not None:
                for chunk in encode(event):
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                event = await anext(events, None)
        await send({"type": "http.response.body", "body": tail, "more_body": False})

    watcher, relayer = asyncio.create_task(watch()), asyncio.create_task(relay())
    await asyncio.wait({watcher, relayer}, return_when=asyncio.FIRST_COMPLETED)
    watcher.cancel()
    if not relayer.done():  # the client left mid-stream: closing the events stops the model
        relayer.cancel()
    with contextlib.suppress(asyncio.CancelledError, OSError):
        await relayer


def sse_encode(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()
