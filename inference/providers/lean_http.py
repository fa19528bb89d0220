"""A lean HTTP/1.1 transport under the openai SDK's ``httpx2`` client, for plain ``http://`` base URLs.

The SDK's default transport (httpx2 over httpcore2) costs most of a proxied request's CPU in the gateway
(bench/results/2026-11-24-gateway-soak.md), and its pool probes every idle connection each time it hands one
out. This transport does the same job for what a local or self-hosted OpenAI-compatible server needs:
keep-alive connections on asyncio (uvloop in production) in a deque of idle connections per host, responses
parsed by ``httptools``, bodies with a Content-Length, chunked or delimited by the server's close, streamed to
the SDK as they arrive. It behaves as httpx's transport does for the SDK:

- timeouts from the request's ``extensions["timeout"]`` raise ``ConnectTimeout``, ``ReadTimeout`` (between
  two reads), ``WriteTimeout`` and ``PoolTimeout``; failures raise ``ConnectError``, ``ReadError``,
  ``WriteError`` and ``RemoteProtocolError``, which the SDK turns into ``APITimeoutError`` and
  ``APIConnectionError``;
- a connection goes back to the pool only when its response was read to the end and both sides keep it
  alive; a response closed early, a cancelled request or any error closes the connection;
- a pooled connection the server closed while it was idle is never used (before one is reused the event
  loop gets one turn, to read a close that has reached the socket; no probe of the other idle connections),
  so the request goes to a fresh connection. A request is never sent twice: once bytes of it are out, a connection lost
  before the answer is an error (what to retry is the caller's policy).

Used only where nothing of httpx's is needed (no TLS, no proxy: ``lean_applies``); switched off by
``INFERGATE["LEAN_HTTP"]``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any, AsyncIterator

import httptools
import httpx2

__all__ = ["LeanTransport", "lean_applies"]
MAX_HEAD_BYTES = 64 * 1024  # status line and headers of one response
READ_HIGH_WATER = 256 * 1024  # body bytes buffered before the socket is paused (a consumer slower than the server)
KEEPALIVE_EXPIRY_S = 4.0  # below the 5 s keep-alive of uvicorn (vLLM) and others: we close first, not they
NO_BODY_STATUSES = frozenset({204, 304})


def lean_applies(base_url: str) -> bool:
    """True when the lean transport may carry calls to ``base_url``: plain http, and no proxy from the
    environment (HTTP_PROXY, ALL_PROXY, minus NO_PROXY) that httpx would route it through."""
    url = httpx2.URL(base_url)
    if url.scheme != "http":
        return False
    try:
        from httpx2._utils import URLPattern, get_environment_proxies  # as httpx2.AsyncClient decides
    except ImportError:  # a future httpx2 without them: any proxy variable keeps httpx's transport
        import urllib.request

        return not {"http", "all"} & set(urllib.request.getproxies())
    proxies = get_environment_proxies()
    for pattern in sorted(URLPattern(key) for key in proxies):
        if pattern.matches(url):
            return proxies[pattern.pattern] is None
    return True


def _timeout(request: httpx2.Request, kind: str) -> float | None:
    return (request.extensions.get("timeout") or {}).get(kind)


class _Connection(asyncio.Protocol):
    """One keep-alive connection: the httptools parser's callbacks fill the answer in progress."""

    def __init__(self, key: tuple[bytes, int]) -> None:
        self.key = key
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False  # the socket is gone, or going: never to be used again
        self.active = False  # a request is in flight on it
        self.idle_since = 0.0
        self.error: httpx2.TransportError | None = None
        self.waiter: asyncio.Future | None = None  # woken by anything a reader waits for
        self.drain_waiter: asyncio.Future | None = None
        self.paused_writing = False
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_bytes = 0
        self.head_done = False
        self.message_begun = False
        self.complete = False
        self.close_delimited = False
        self.keep_alive = False
        self.no_body = False  # a HEAD request: the head is the whole answer
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.paused_reading = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if not self.active or self.complete:  # bytes nobody asked for: the connection is not clean
            self._fail(httpx2.RemoteProtocolError("Received data on a connection with no request in flight"))
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(httpx2.RemoteProtocolError("Unexpected protocol upgrade in a response"))
        except httptools.HttpParserError as exc:
            self._fail(httpx2.RemoteProtocolError(f"Malformed HTTP response: {exc.__context__ or exc}"))

    def eof_received(self) -> bool:
        self._ended(None)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._ended(exc)
        if self.drain_waiter is not None and not self.drain_waiter.done():
            self.drain_waiter.set_result(None)

    def pause_writing(self) -> None:
        self.paused_writing = True

    def resume_writing(self) -> None:
        self.paused_writing = False
        if self.drain_waiter is not None and not self.drain_waiter.done():
            self.drain_waiter.set_result(None)

    # httptools callbacks
    def on_message_begin(self) -> None:
        if self.message_begun or not self.active:
            raise httptools.HttpParserError("a second response")
        self.message_begun = True

    def on_status(self, status: bytes) -> None:
        self.reason += status
        self._count_head(len(status))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value))
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200 and status != 101:  # an informational answer: the real one follows
            self.reason, self.headers, self.message_begun = b"", [], False
            return
        self.status = status
        self.keep_alive = self.parser.should_keep_alive()
        framed = any(name.lower() in (b"content-length", b"transfer-encoding") for name, _ in self.headers)
        if self.no_body:
            self.keep_alive = False  # httptools cannot be told the body it announces will not come
            self.complete = True
        elif not framed and status not in NO_BODY_STATUSES:
            self.close_delimited = True
            self.keep_alive = False
        self.head_done = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self.no_body:
            return
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > READ_HIGH_WATER and not self.paused_reading and self.transport is not None:
            self.paused_reading = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if not self.message_begun:
            return  # the end of an informational answer
        self.complete = True
        self._wake()

    # the rest
    def _count_head(self, size: int) -> None:
        self.head_bytes += size
        if self.head_bytes > MAX_HEAD_BYTES:
            raise httptools.HttpParserError(f"response head over {MAX_HEAD_BYTES} bytes")

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def _ended(self, exc: Exception | None) -> None:
        """The server's side is done (end of stream, or the socket lost)."""
        was_closed, self.closed = self.closed, True
        if was_closed or not self.active or self.complete:
            return
        if self.head_done and self.close_delimited and exc is None:
            self.complete = True
        elif exc is not None and not isinstance(exc, httpx2.TransportError):
            self.error = httpx2.ReadError(str(exc) or type(exc).__name__)
        elif not self.message_begun:
            self.error = httpx2.RemoteProtocolError("Server disconnected without sending a response.")
        else:
            self.error = httpx2.RemoteProtocolError("peer closed connection without sending complete message body")
        self._wake()

    def _fail(self, error: httpx2.TransportError) -> None:
        if self.error is None and not self.complete:
            self.error = error
        self.close()
        self._wake()

    def usable(self, expiry: float) -> bool:
        """Open, not closing, and idle for less than ``expiry`` seconds."""
        return (not self.closed and self.transport is not None and not self.transport.is_closing()
                and time.monotonic() - self.idle_since < expiry)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    async def wait(self, timeout: float | None, error: type[httpx2.TimeoutException], what: str) -> None:
        """Until the parser or the socket has news; ``error`` after ``timeout`` seconds of nothing."""
        self.waiter = waiter = self.loop.create_future()
        try:
            await self._within(waiter, timeout, error, what)
        finally:
            self.waiter = None

    async def send(self, data: bytes, timeout: float | None) -> None:
        assert self.transport is not None
        self.transport.write(data)
        if self.paused_writing and not self.closed:
            self.drain_waiter = waiter = self.loop.create_future()
            try:
                await self._within(waiter, timeout, httpx2.WriteTimeout, "Timed out sending the request")
            finally:
                self.drain_waiter = None
        if self.closed and not self.message_begun and self.error is not None:
            raise httpx2.WriteError(str(self.error))

    async def _within(self, waiter: asyncio.Future, timeout: float | None, error: type[httpx2.TimeoutException],
                      what: str) -> None:
        """``waiter``, failed with ``error`` after ``timeout`` seconds (a timer, not a task: the hot path)."""
        expiry = None if timeout is None else self.loop.call_later(timeout, _expire, waiter, error, what)
        try:
            await waiter
        finally:
            if expiry is not None:
                expiry.cancel()

    def consumed(self) -> None:
        if self.paused_reading and self.buffered < READ_HIGH_WATER // 4 and self.transport is not None:
            self.paused_reading = False
            self.transport.resume_reading()


def _expire(waiter: asyncio.Future, error: type[httpx2.TimeoutException], what: str) -> None:
    if not waiter.done():
        waiter.set_exception(error(what))


class _Body(httpx2.AsyncByteStream):
    """A response's body as it arrives; its end (or its close) gives the connection back, or closes it."""

    def __init__(self, pool: LeanTransport, connection: _Connection, request: httpx2.Request) -> None:
        self.pool = pool
        self.connection: _Connection | None = connection
        self.request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self.connection
        if connection is None:
            raise httpx2.StreamClosed()
        timeout = _timeout(self.request, "read")
        try:
            while True:
                if connection.chunks:
                    chunk = connection.chunks.popleft()
                    connection.buffered -= len(chunk)
                    connection.consumed()
                    yield chunk
                elif connection.complete:
                    break
                elif connection.error is not None:
                    raise _with_request(connection.error, self.request)
                else:
                    await connection.wait(timeout, httpx2.ReadTimeout, "Timed out reading the response")
        except BaseException as exc:
            self._release(clean=False)
            if isinstance(exc, httpx2.RequestError):
                _with_request(exc, self.request)  # the error names its request, as httpx's do
            raise
        self._release(clean=True)

    async def aclose(self) -> None:
        self._release(clean=False)

    def _release(self, *, clean: bool) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            self.pool._give_back(connection, reusable=clean and connection.complete and not connection.chunks)


def _with_request(exc: httpx2.RequestError, request: httpx2.Request) -> httpx2.RequestError:
    exc.request = request
    return exc


class LeanTransport(httpx2.AsyncBaseTransport):
    """Keep-alive HTTP/1.1 over asyncio for ``http://`` URLs; one per SDK client (and so per event loop)."""

    def __init__(self, *, max_connections: int = 1000, max_idle_per_host: int = 100,
                 keepalive_expiry: float = KEEPALIVE_EXPIRY_S) -> None:
        self.max_connections = max_connections
        self.max_idle_per_host = max_idle_per_host
        self.keepalive_expiry = keepalive_expiry
        self._idle: dict[tuple[bytes, int], deque[_Connection]] = {}
        self._open = 0  # connections open or opening, idle ones included
        self._slot_waiters: deque[asyncio.Future] = deque()
        self._closed = False
        self.opened = 0  # connections ever opened (the tests read it)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url
        if url.raw_scheme != b"http":
            raise httpx2.UnsupportedProtocol(f"The lean transport carries http:// only, not {url.scheme}://",
                                             request=request)
        key = (url.raw_host, url.port or 80)
        payload = _request_bytes(request, await request.aread())
        connection = await self._connection(key, request)
        connection.active = True
        connection.no_body = request.method == "HEAD"
        try:
            await connection.send(payload, _timeout(request, "write"))
            timeout = _timeout(request, "read")
            while not connection.head_done and connection.error is None:
                await connection.wait(timeout, httpx2.ReadTimeout, "Timed out waiting for the response")
            if not connection.head_done:
                raise connection.error
        except BaseException as exc:
            self._give_back(connection, reusable=False)
            if isinstance(exc, httpx2.RequestError):
                _with_request(exc, request)  # the error names its request, as httpx's do
            raise
        if any(name.lower() == b"connection" and value.lower() == b"close" for name, value in request.headers.raw):
            connection.keep_alive = False
        return httpx2.Response(connection.status, headers=connection.headers, stream=_Body(self, connection, request),
                               extensions={"http_version": b"HTTP/1.1", "reason_phrase": connection.reason})

    async def _connection(self, key: tuple[bytes, int], request: httpx2.Request) -> _Connection:
        """An idle connection still open and fresh, else a new one (waiting for a slot under the limit)."""
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()  # the most recently used: the least likely to have been closed
            if not connection.usable(self.keepalive_expiry):
                self._discard(connection)
                continue
            await asyncio.sleep(0)  # one loop turn (a few us): a close that has reached the socket is read
            if not connection.usable(self.keepalive_expiry):
                self._discard(connection)
                continue
            return connection
        while self._open >= self.max_connections:
            await self._slot_wait(_timeout(request, "pool"))
            if self._idle.get(key):
                return await self._connection(key, request)
        self._open += 1
        try:
            return await self._connect(key, _timeout(request, "connect"))
        except BaseException:
            self._slot_free()
            raise

    async def _connect(self, key: tuple[bytes, int], timeout: float | None) -> _Connection:
        loop = asyncio.get_running_loop()
        host = key[0].decode("ascii")
        try:
            async with asyncio.timeout(timeout):
                _, connection = await loop.create_connection(lambda: _Connection(key), host, key[1])
        except TimeoutError:
            raise httpx2.ConnectTimeout(f"Timed out connecting to {host}:{key[1]}") from None
        except OSError as exc:
            raise httpx2.ConnectError(str(exc) or type(exc).__name__) from None
        self.opened += 1
        return connection

    async def _slot_wait(self, timeout: float | None) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._slot_waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                await waiter
        except TimeoutError:
            raise httpx2.PoolTimeout("Timed out waiting for a connection from the pool") from None
        finally:
            if waiter in self._slot_waiters:
                self._slot_waiters.remove(waiter)

    def _slot_free(self) -> None:
        self._open -= 1
        self._wake_one()

    def _wake_one(self) -> None:
        while self._slot_waiters:
            waiter = self._slot_waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _give_back(self, connection: _Connection, *, reusable: bool) -> None:
        """The end of a request on ``connection``: to the idle deque when it is clean, else closed."""
        connection.active = False
        idle = self._idle.setdefault(connection.key, deque())
        if (reusable and connection.keep_alive and not connection.closed and connection.error is None
                and not self._closed and len(idle) < self.max_idle_per_host):
            connection._reset()
            connection.idle_since = time.monotonic()
            idle.append(connection)
            self._wake_one()
            return
        self._discard(connection)

    def _discard(self, connection: _Connection) -> None:
        connection.close()
        self._slot_free()

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            while idle:
                self._discard(idle.pop())


def _request_bytes(request: httpx2.Request, body: bytes) -> bytes:
    """The request line, the headers as httpx built them (Host included) and the body; a body httpx would
    have sent chunked (a stream of unknown length) is sent whole with its length, as it is in memory."""
    target = request.url.raw_path
    lines = [request.method.encode("ascii") + b" " + target + b" HTTP/1.1"]
    chunked = False
    for name, value in request.headers.raw:
        lowered = name.lower()
        if lowered == b"transfer-encoding":
            chunked = True
            continue
        lines.append(name + b": " + value)
    if chunked:
        lines.append(b"Content-Length: " + str(len(body)).encode("ascii"))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def transport_stats(transport: Any) -> dict[str, int]:
    """Connections opened, open and idle (for tests and diagnostics)."""
    if not isinstance(transport, LeanTransport):
        return {}
    return {"opened": transport.opened, "open": transport._open,
            "idle": sum(len(idle) for idle in transport._idle.values())}
