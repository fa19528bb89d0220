"""What every route served straight from ASGI shares: POST /v1/inference and its SSE stream
(inference/api/endpoint.py), the OpenAI-compatible routes (inference/api/openai_compat/), and the body
limit in front of Django's routes.

The hot paths skip Django's request machinery on purpose: Django runs each synchronous middleware and the
request signals on a thread of the request's own, so 200 concurrent slow upstream calls meant 200+ threads
and 5-10x the single-request time (bench/concurrency.py). Here a request costs no thread at all once its
key is cached: headers are read from the ASGI scope, the body is read with its size limit enforced while it
streams in, and ``edge_route`` gives each route its request id, POST only, the credentials, and every
failure answered in the route's own error format.

A request's own problems (content type, size, JSON) are raised from the body callable that the service
calls after authentication (``EdgeRequest.json_body``, ``refusing``), so that they are recorded in usage
like any other failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable, NoReturn

from django.conf import settings

from core.encoding import json_bytes
from core.errors import (
    InfergateError,
    InternalServerError,
    MethodNotAllowedError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)
from core.logs import current_request_id, request_id_for
from inference.request import body_decode
from inference.service import INFERENCE, Credentials, Purpose, ResponseMeta, inference_run, inference_stream

logger = logging.getLogger(__name__)

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ErrorBody = Callable[[InfergateError], dict[str, Any]]  # an error as a route's format puts it


class ClientGone(Exception):
    pass


def scope_headers(scope: dict[str, Any]) -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}


def body_limit() -> int:
    return settings.INFERGATE["MAX_BODY_BYTES"]


def body_too_large() -> PayloadTooLargeError:
    limit = body_limit()
    return PayloadTooLargeError(f"Request body is larger than {limit} bytes", details={"limit_bytes": limit})


async def read_limited_body(headers: dict[str, str], receive: Receive) -> bytes | None:
    """The request body, or None when it is (or says it will be) over INFERGATE["MAX_BODY_BYTES"]; reading
    stops at the limit."""
    limit = body_limit()
    try:
        declared = int(headers.get("content-length") or 0)
    except ValueError:
        declared = 0
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


async def respond(send: Send, status: int, payload: dict[str, Any], request_id: str,
                  extra: dict[str, str] | None = None) -> None:
    body = json_bytes(payload)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"x-request-id", request_id.encode()), (b"x-content-type-options", b"nosniff")]
    headers += [(name.lower().encode(), value.encode()) for name, value in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def refusing(error: InfergateError) -> Callable[[], NoReturn]:
    """A body callable that raises ``error``: the service refuses the request where it refuses a bad body,
    after the key and namespace are checked, and records its usage."""

    def load() -> NoReturn:
        raise error

    return load


@dataclass
class EdgeRequest:
    scope: dict[str, Any]
    receive: Receive
    send: Send
    headers: dict[str, str]
    raw: bytes | None  # None: larger than the limit
    credentials: Credentials
    request_id: str
    started: float
    meta: ResponseMeta = field(default_factory=ResponseMeta)  # the rate-limit headers, once the key is known

    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def body_bytes(self, *media_types: str) -> bytes:
        """The body, of one of ``media_types`` (else 415) and within the limit (else 413)."""
        if self.media_type() not in media_types:
            raise UnsupportedMediaTypeError(
                f"Content-Type must be {' or '.join(media_types)}, not {self.media_type() or 'missing'!r}")
        if self.raw is None:
            raise body_too_large()
        return self.raw

    def json_body(self) -> Any:
        return body_decode(self.body_bytes("application/json"))

    async def run(self, body: Any, purpose: Purpose = INFERENCE) -> dict[str, Any]:
        return await inference_run(credentials=self.credentials, body=body, request_id=self.request_id,
                                   started=self.started, meta=self.meta, purpose=purpose)

    def stream(self, body: Any) -> AsyncIterator[dict[str, Any]]:
        return inference_stream(credentials=self.credentials, body=body, request_id=self.request_id,
                                started=self.started, meta=self.meta)

    def response_headers(self, extra: dict[str, str] | None = None) -> list[tuple[bytes, bytes]]:
        headers = {**self.meta.headers, **(extra or {})}
        return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]

    async def respond(self, payload: dict[str, Any], headers: dict[str, str] | None = None, status: int = 200) -> None:
        await respond(self.send, status, payload, self.request_id, {**self.meta.headers, **(headers or {})})

    async def sse(self, events: AsyncIterator[dict[str, Any]], first: dict[str, Any],
                  encode: Callable[[dict[str, Any]], list[bytes]], tail: bytes = b"",
                  headers: dict[str, str] | None = None) -> None:
        """Answer 200 with Server-Sent Events: ``encode`` turns each service event (``first`` included) into
        the bytes to send, ``tail`` ends a stream that was not cut short. A client that disconnects closes
        ``events``, which stops the generation (and records it as cancelled)."""
        await self.send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-store"),
            (b"x-accel-buffering", b"no"), (b"x-request-id", self.request_id.encode()),
            *self.response_headers(headers)]})

        async def watch() -> None:
            while (await self.receive())["type"] != "http.disconnect":
                pass

        async def relay() -> None:
            async with aclosing(events):
                event: dict[str, Any] | None = first
                while event is not None:
                    for chunk in encode(event):
                        await self.send({"type": "http.response.body", "body": chunk, "more_body": True})
                    event = await anext(events, None)
            await self.send({"type": "http.response.body", "body": tail, "more_body": False})

        watcher, relayer = asyncio.create_task(watch()), asyncio.create_task(relay())
        await asyncio.wait({watcher, relayer}, return_when=asyncio.FIRST_COMPLETED)
        watcher.cancel()
        if not relayer.done():  # the client left mid-stream: closing the events stops the model
            relayer.cancel()
        with contextlib.suppress(asyncio.CancelledError, OSError):
            await relayer


async def _namespace_header(headers: dict[str, str]) -> str | None:
    return headers.get("x-namespace")


def _authorization_header(headers: dict[str, str]) -> str | None:
    return headers.get("authorization")


def edge_route(error_body: ErrorBody, namespace: Callable[[dict[str, str]], Awaitable[str | None]] = _namespace_header,
               authorization: Callable[[dict[str, str]], str | None] = _authorization_header,
               methods: tuple[str, ...] = ("POST",)):
    """A route served from ASGI: the request id, ``methods`` only (POST; none: the route checks), the body read
    within its limit, the credentials (``authorization`` reads the key's ``Bearer`` value from the headers,
    ``namespace`` names the namespace), and any failure answered as ``error_body`` puts it (an unexpected one
    logged, a 500 that says nothing more)."""
    allow = ", ".join(methods)

    def decorate(serve: Callable[[EdgeRequest], Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        async def route(scope: dict[str, Any], receive: Receive, send: Send) -> None:
            started = time.perf_counter()
            headers = scope_headers(scope)
            request_id = request_id_for(headers.get("x-request-id"))
            token = current_request_id.set(request_id)
            try:
                if methods and scope["method"] not in methods:
                    raise MethodNotAllowedError(f"Use {' or '.join(methods)}", headers={"Allow": allow})
                raw = await read_limited_body(headers, receive)
                credentials = Credentials(authorization=authorization(headers), namespace=await namespace(headers))
                await serve(EdgeRequest(scope=scope, receive=receive, send=send, headers=headers, raw=raw,
                                        credentials=credentials, request_id=request_id, started=started))
            except ClientGone:
                return
            except InfergateError as error:
                await respond(send, error.status, error_body(error), request_id, error.headers)
            except Exception:
                logger.exception("unhandled error on %s", scope["path"])
                await respond(send, 500, error_body(InternalServerError()), request_id)
            finally:
                current_request_id.reset(token)

        return route

    return decorate


def body_limited(app: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """Django's routes (the management API, pages, admin) under the same body limit: the body is read here
    (413 in the envelope past the limit, before Django reads a byte), then handed to ``app`` as if it
    arrived."""

    async def limited(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        try:
            raw = await read_limited_body(scope_headers(scope), receive)
        except ClientGone:
            return
        if raw is None:
            error = body_too_large()
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
