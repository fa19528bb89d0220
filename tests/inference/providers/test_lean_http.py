"""The lean HTTP transport (inference/providers/lean_http.py) against a real local server this test drives
byte by byte (asyncio streams on 127.0.0.1): keep-alive reuse, body framings, streaming and its early end, the
server closing or resetting connections, each kind of timeout, and the SDK's errors on top of it."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from typing import Awaitable, Callable

import httpx2
import openai
import pytest
import uvloop

from inference.providers.lean_http import LeanTransport, lean_applies, transport_stats
from inference.providers.openai.client import sdk_client


@pytest.fixture(scope="module", params=["asyncio", "uvloop"])
def event_loop_policy(request):
    """Every test on asyncio's own loop and on uvloop (production's)."""
    return asyncio.DefaultEventLoopPolicy() if request.param == "asyncio" else uvloop.EventLoopPolicy()


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, "Upstream"], Awaitable[None]]


class Upstream:
    """A server on 127.0.0.1 running ``handler`` per connection; counts connections and requests."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[tuple[bytes, bytes]] = []  # (head, body)
        self.writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> "Upstream":
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    async def __aexit__(self, *exc) -> None:
        for writer in self.writers:
            writer.close()
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            await self.handler(reader, writer, self)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client went away, or the test ended with the handler still waiting
        finally:
            writer.close()

    async def read_request(self, reader: asyncio.StreamReader) -> tuple[bytes, bytes] | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        request = (head, await reader.readexactly(length))
        self.requests.append(request)
        return request


def answer(body: bytes, *headers: str, status: str = "200 OK") -> bytes:
    lines = [f"HTTP/1.1 {status}", "content-type: application/json", f"content-length: {len(body)}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


async def keep_answering(reader, writer, upstream: Upstream) -> None:
    while await upstream.read_request(reader) is not None:
        writer.write(answer(b'{"n": %d}' % len(upstream.requests)))


def client(transport: LeanTransport, timeout: float = 5.0) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=transport, timeout=timeout)


async def test_one_connection_carries_successive_requests():
    async with Upstream(keep_answering) as upstream:
        transport = LeanTransport()
        async with client(transport) as http:
            answers = [(await http.post(f"{upstream.url}/v1/x", content=b'{"a": 1}')).json() for _ in range(5)]
        assert answers == [{"n": n} for n in range(1, 6)]
        assert upstream.connections == 1 and transport.opened == 1
        head, body = upstream.requests[0]
        assert head.startswith(b"POST /v1/x HTTP/1.1\r\n") and b"content-length: 2" not in head.lower()
        assert body == b'{"a": 1}'


async def test_chunked_and_close_delimited_bodies():
    async def chunked(reader, writer, upstream):
        await upstream.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        for part in (b"hello ", b"chunked ", b"world"):
            writer.write(chunk(part))
            await writer.drain()
            await asyncio.sleep(0.01)
        writer.write(b"0\r\n\r\n")
        await keep_answering(reader, writer, upstream)

    async def until_close(reader, writer, upstream):
        await upstream.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nall of it, ")
        await writer.drain()
        await asyncio.sleep(0.01)
        writer.write(b"until the close")
        await writer.drain()

    cases = ((chunked, b"hello chunked world", 1), (until_close, b"all of it, until the close", 2))
    for handler, expected, opened in cases:
        async with Upstream(handler) as upstream:
            transport = LeanTransport()
            async with client(transport) as http:
                assert (await http.post(upstream.url, content=b"{}")).content == expected
                second = await http.post(upstream.url, content=b"{}")  # a chunked answer leaves the connection open
                assert second.status_code == 200
            assert transport.opened == opened


async def test_bodiless_and_informational_answers_leave_the_connection_reusable():
    async def odd_heads(reader, writer, upstream):
        while (request := await upstream.read_request(reader)) is not None:
            if b"/empty" in request[0]:
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
            elif b"/zero" in request[0]:
                writer.write(answer(b""))
            else:
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n" + answer(b'{"after": "100"}'))

    async with Upstream(odd_heads) as upstream:
        transport = LeanTransport()
        async with client(transport) as http:
            assert (await http.post(f"{upstream.url}/empty", content=b"{}")).status_code == 204
            assert (await http.post(f"{upstream.url}/zero", content=b"{}")).content == b""
            informed = await http.post(f"{upstream.url}/informed", content=b"{}")
            assert (informed.status_code, informed.json()) == (200, {"after": "100"})
        assert transport.opened == 1


async def test_a_large_body_read_slowly_arrives_whole():
    payload = bytes(range(256)) * 8192  # 2 MiB: past the read buffer, so the socket is paused and resumed

    async def big(reader, writer, upstream):
        while await upstream.read_request(reader) is not None:
            writer.write(answer(payload))
            await writer.drain()

    async with Upstream(big) as upstream:
        transport = LeanTransport()
        async with client(transport) as http:
            async with http.stream("POST", upstream.url, content=b"{}") as response:
                received = bytearray()
                async for part in response.aiter_raw():
                    received += part
                    await asyncio.sleep(0.001)
            assert bytes(received) == payload
            assert (await http.post(upstream.url, content=b"{}")).content == payload
        assert transport.opened == 1


async def test_requests_beyond_the_connection_limit_wait_for_a_free_connection():
    async def slowish(reader, writer, upstream):
        while await upstream.read_request(reader) is not None:
            await asyncio.sleep(0.02)
            writer.write(answer(b"{}"))

    async with Upstream(slowish) as upstream:
        transport = LeanTransport(max_connections=2)
        async with client(transport) as http:
            answers = await asyncio.gather(*(http.post(upstream.url, content=b"{}") for _ in range(8)))
        assert [a.status_code for a in answers] == [200] * 8
        assert transport.opened == 2 and len(upstream.requests) == 8


async def test_a_stream_closed_early_closes_its_connection_and_the_next_request_opens_a_fresh_one():
    ended = asyncio.Event()

    async def endless_events(reader, writer, upstream):
        request = await upstream.read_request(reader)
        if b"/stream" in request[0]:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
            while not reader.at_eof():
                writer.write(chunk(b"data: {}\n\n"))
                await writer.drain()
                await asyncio.sleep(0.005)
            ended.set()
            return
        writer.write(answer(b"{}"))
        await keep_answering(reader, writer, upstream)

    async with Upstream(endless_events) as upstream:
        transport = LeanTransport()
        async with client(transport) as http:
            async with http.stream("POST", f"{upstream.url}/stream", content=b"{}") as response:
                async for part in response.aiter_raw():
                    assert part.startswith(b"data: ")
                    break
            await asyncio.wait_for(ended.wait(), 2)  # the server saw the connection end
            assert transport_stats(transport) == {"opened": 1, "open": 0, "idle": 0}
            assert (await http.post(f"{upstream.url}/plain", content=b"{}")).status_code == 200
        assert transport.opened == 2


async def test_a_stream_cancelled_mid_body_closes_its_connection():
    async def trickle(reader, writer, upstream):
        await upstream.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        while True:
            writer.write(chunk(b"data: {}\n\n"))
            await writer.drain()
            await asyncio.sleep(0.01)

    async with Upstream(trickle) as upstream:
        transport = LeanTransport()
        received = []

        async def consume(http):
            async with http.stream("POST", upstream.url, content=b"{}") as response:
                async for part in response.aiter_raw():
                    received.append(part)

        async with client(transport) as http:
            task = asyncio.ensure_future(consume(http))
            while not received:
                await asyncio.sleep(0.01)
            task.cancel()  # as when the gateway's own client goes away mid-stream
            with pytest.raises(asyncio.CancelledError):
                await task
            assert transport_stats(transport) == {"opened": 1, "open": 0, "idle": 0}


async def test_an_idle_connection_the_server_closed_is_not_used():
    async def close_after_answer(reader, writer, upstream):
        await upstream.read_request(reader)
        writer.write(answer(b"{}"))  # no Connection: close; the server just closes (its keep-alive ended)
        await writer.drain()
        writer.close()

    async with Upstream(close_after_answer) as upstream:
        transport = LeanTransport()
        async with client(transport) as http:
            for _ in range(20):  # at once: the close is still on its way when the next request starts
                assert (await http.post(upstream.url, content=b"{}")).status_code == 200
        assert len(upstream.requests) == 20 and transport.opened == 20


async def test_connection_close_from_the_server_is_honoured():
    async def announce_close(reader, writer, upstream):
        await upstream.read_request(reader)
        writer.write(answer(b"{}", "connection: close"))
        await writer.drain()
        await asyncio.sleep(0.5)  # the server keeps its side open: the client must not reuse it regardless

    async with Upstream(announce_close) as upstream:
        transport = LeanTransport()
        async with client(transport) as http:
            for _ in range(2):
                assert (await http.post(upstream.url, content=b"{}")).status_code == 200
        assert transport.opened == 2 and upstream.connections == 2


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a crashed server or a middlebox does."""
    writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@pytest.mark.parametrize("when", ["before any answer", "mid-body"])
async def test_a_reset_is_an_error_and_the_post_is_not_sent_again(when):
    async def reset(reader, writer, upstream):
        await upstream.read_request(reader)
        if when == "mid-body":
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"partial\": ")
            await writer.drain()
            await asyncio.sleep(0.05)
        _reset(writer)

    async with Upstream(reset) as upstream:
        transport = LeanTransport()
        async with client(transport) as http:
            with pytest.raises((httpx2.ReadError, httpx2.RemoteProtocolError)):
                await http.post(upstream.url, content=b'{"once": true}')
        await asyncio.sleep(0.05)
        assert len(upstream.requests) == 1
        assert transport_stats(transport)["open"] == 0


async def test_a_server_that_closes_without_answering_is_a_protocol_error_and_not_retried():
    async def hang_up(reader, writer, upstream):
        await upstream.read_request(reader)

    async with Upstream(hang_up) as upstream:
        transport = LeanTransport()
        async with client(transport) as http:
            with pytest.raises(httpx2.RemoteProtocolError, match="without sending a response"):
                await http.post(upstream.url, content=b"{}")
        assert len(upstream.requests) == 1


async def test_read_timeouts_before_the_head_and_between_chunks():
    async def slow(reader, writer, upstream):
        request = await upstream.read_request(reader)
        if b"/midway" in request[0]:
            writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + chunk(b"first"))
            await writer.drain()
        await asyncio.sleep(5)

    async with Upstream(slow) as upstream:
        transport = LeanTransport()
        async with client(transport, timeout=0.2) as http:
            with pytest.raises(httpx2.ReadTimeout):
                await http.post(f"{upstream.url}/silent", content=b"{}")
            async with http.stream("POST", f"{upstream.url}/midway", content=b"{}") as response:
                parts = []
                with pytest.raises(httpx2.ReadTimeout):
                    async for part in response.aiter_raw():
                        parts.append(part)
                assert parts == [b"first"]
        assert transport_stats(transport)["open"] == 0


async def test_write_timeout_when_the_server_reads_nothing():
    async def never_read(reader, writer, upstream):
        await asyncio.sleep(5)

    async with Upstream(never_read) as upstream:
        transport = LeanTransport()
        async with client(transport, timeout=httpx2.Timeout(5.0, write=0.3)) as http:
            with pytest.raises(httpx2.WriteTimeout):
                await http.post(upstream.url, content=b"x" * (64 << 20))
        assert transport_stats(transport)["open"] == 0


async def test_connect_timeout_and_connect_error():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)  # never accepted: once its queue is full, a connection attempt gets no answer
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        transport = LeanTransport()
        async with client(transport, timeout=httpx2.Timeout(5.0, connect=0.3)) as http:
            with pytest.raises(httpx2.ConnectTimeout):
                await http.post(f"http://127.0.0.1:{port}/", content=b"{}")
    finally:
        for s in (listener, *fillers):
            s.close()
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    closed_port = free.getsockname()[1]
    free.close()  # nobody listens there
    async with client(LeanTransport()) as http:
        with pytest.raises(httpx2.ConnectError):
            await http.post(f"http://127.0.0.1:{closed_port}/", content=b"{}")


async def test_pool_timeout_when_every_connection_is_taken():
    async def stream_forever(reader, writer, upstream):
        await upstream.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + chunk(b"x"))
        await asyncio.sleep(5)

    async with Upstream(stream_forever) as upstream:
        transport = LeanTransport(max_connections=1)
        async with client(transport, timeout=httpx2.Timeout(5.0, pool=0.2)) as http:
            async with http.stream("POST", upstream.url, content=b"{}"):
                with pytest.raises(httpx2.PoolTimeout):
                    await http.post(upstream.url, content=b"{}")
        assert transport_stats(transport)["open"] == 0


async def test_a_cancelled_request_closes_its_connection():
    async def slow_then_keep_answering(reader, writer, upstream):
        if upstream.connections == 1:
            await upstream.read_request(reader)
            await asyncio.sleep(0.3)
            writer.write(answer(b'{"late": true}'))
        await keep_answering(reader, writer, upstream)

    async with Upstream(slow_then_keep_answering) as upstream:
        transport = LeanTransport()
        async with client(transport) as http:
            task = asyncio.ensure_future(http.post(upstream.url, content=b"{}"))
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert transport_stats(transport) == {"opened": 1, "open": 0, "idle": 0}
            await asyncio.sleep(0.4)  # the late answer must not be read as the next request's
            assert (await http.post(upstream.url, content=b"{}")).json() == {"n": 2}
        assert transport.opened == 2


async def test_a_streamed_request_body_goes_with_its_length():
    async def parts():
        yield b'{"a": '
        yield b"1}"

    async with Upstream(keep_answering) as upstream:
        async with client(LeanTransport()) as http:
            assert (await http.post(upstream.url, content=parts())).status_code == 200
        head, body = upstream.requests[0]
        assert body == b'{"a": 1}' and b"transfer-encoding" not in head.lower()


async def test_malformed_answers_are_protocol_errors():
    async def garbage(reader, writer, upstream):
        await upstream.read_request(reader)
        writer.write(b"this is not HTTP\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(1)

    async with Upstream(garbage) as upstream:
        transport = LeanTransport()
        async with client(transport) as http:
            with pytest.raises(httpx2.RemoteProtocolError):
                await http.post(upstream.url, content=b"{}")
        assert transport_stats(transport)["open"] == 0


# The SDK on top: its answers, its stream, its errors


def completion(text: str) -> bytes:
    return json.dumps({"id": "c1", "object": "chat.completion", "created": 1, "model": "m", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}).encode()


def sdk(upstream: Upstream, transport: LeanTransport, timeout: float = 5.0) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key="sk-test", base_url=f"{upstream.url}/v1", max_retries=0, timeout=timeout,
                              http_client=openai.DefaultAsyncHttpxClient(transport=transport))


async def openai_like(reader, writer, upstream):
    """An OpenAI-like server: "Hello" as a completion, or streamed in two pieces when asked; a path with /hang in it
    never answers."""
    while (request := await upstream.read_request(reader)) is not None:
        if b"/hang" in request[0]:
            await asyncio.sleep(5)
        elif json.loads(request[1]).get("stream"):
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                         b"transfer-encoding: chunked\r\n\r\n")
            for delta, finish in (({"content": "Hel"}, None), ({"content": "lo"}, None), ({}, "stop")):
                event = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                         "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
                writer.write(chunk(b"data: " + json.dumps(event).encode() + b"\n\n"))
                await writer.drain()
            writer.write(chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")
        else:
            writer.write(answer(completion("Hello")))


async def test_the_sdk_chats_and_streams_over_one_connection():
    async with Upstream(openai_like) as upstream:
        transport = LeanTransport()
        async with sdk(upstream, transport) as api:
            messages = [{"role": "user", "content": "hi"}]
            first = await api.chat.completions.create(model="m", messages=messages)
            assert first.choices[0].message.content == "Hello"
            stream = await api.chat.completions.create(model="m", messages=messages, stream=True)
            text = "".join([c.choices[0].delta.content or "" async for c in stream])
            assert text == "Hello"
            last = await api.chat.completions.create(model="m", messages=messages)
            assert last.choices[0].message.content == "Hello"
        assert transport.opened == 1 and len(upstream.requests) == 3
        assert b"authorization: Bearer sk-test" in upstream.requests[0][0]


async def test_the_sdk_raises_its_timeout_and_connection_errors():
    async def hang_or_reset(reader, writer, upstream):
        request = await upstream.read_request(reader)
        if b"/reset" in request[0]:
            _reset(writer)
        else:
            await asyncio.sleep(5)

    async with Upstream(hang_or_reset) as upstream:
        async with sdk(upstream, LeanTransport(), timeout=0.2) as api:
            with pytest.raises(openai.APITimeoutError):
                await api.post("/hang", body={}, cast_to=object)
            with pytest.raises(openai.APIConnectionError) as raised:
                await api.post("/reset", body={}, cast_to=object)
            assert not isinstance(raised.value, openai.APITimeoutError)


# Where it is used


def test_lean_applies_to_plain_http_without_a_proxy(monkeypatch: pytest.MonkeyPatch):
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy",
                 "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert lean_applies("http://127.0.0.1:8000/v1")
    assert not lean_applies("https://api.openai.com/v1")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert lean_applies("http://127.0.0.1:8000/v1")  # only https goes through that one
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    assert not lean_applies("http://vllm.internal:8000/v1")
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    assert lean_applies("http://127.0.0.1:8000/v1")
    assert not lean_applies("http://vllm.internal:8000/v1")
    monkeypatch.delenv("HTTP_PROXY")
    monkeypatch.setenv("ALL_PROXY", "socks5://proxy.internal:1080")
    assert not lean_applies("http://vllm.internal:8000/v1")


async def test_sdk_clients_get_the_lean_transport_only_where_it_applies(settings, monkeypatch: pytest.MonkeyPatch):
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    settings.INFERGATE = {**settings.INFERGATE, "HTTP_BACKEND": "lean"}
    assert isinstance(sdk_client("http://127.0.0.1:9/lean-on/v1", "k", 30.0)._client._transport, LeanTransport)
    assert not isinstance(sdk_client("https://127.0.0.1:9/lean-on/v1", "k", 30.0)._client._transport, LeanTransport)
    settings.INFERGATE = {**settings.INFERGATE, "HTTP_BACKEND": "httpx"}
    assert not isinstance(sdk_client("http://127.0.0.1:9/lean-off/v1", "k", 30.0)._client._transport, LeanTransport)


async def test_the_sdks_aiohttp_backend_answers_streams_and_times_out(settings, monkeypatch: pytest.MonkeyPatch):
    """INFERGATE_HTTP_BACKEND=aiohttp: refused at start while the SDK's aiohttp extra is not installed (it is not by
    default); once it is, the client the adapters get (sdk_client) posts, streams and keeps its connection over it,
    and a server that hangs is the SDK's timeout."""
    from playground.settings import _http_backend

    monkeypatch.setenv("INFERGATE_HTTP_BACKEND", "aiohttp")
    try:
        from openai._vendor.httpx_aiohttp.transport import AiohttpTransport
    except ImportError:
        with pytest.raises(RuntimeError, match=r"openai\[aiohttp\]"):
            _http_backend()
        return
    assert _http_backend() == "aiohttp"
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    settings.INFERGATE = {**settings.INFERGATE, "HTTP_BACKEND": "aiohttp"}

    async with Upstream(openai_like) as upstream:
        api = sdk_client(f"{upstream.url}/aiohttp-backend/v1", "sk-test", 0.5)
        assert isinstance(api._client._transport, AiohttpTransport)
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        first = await api.post("/chat/completions", body=body, cast_to=object)
        assert first["choices"][0]["message"]["content"] == "Hello"
        stream = await api.post("/chat/completions", body={**body, "stream": True}, cast_to=object, stream=True,
                                stream_cls=openai.AsyncStream[object])
        assert "".join([c["choices"][0]["delta"].get("content", "") async for c in stream]) == "Hello"
        with pytest.raises(openai.APITimeoutError):
            await api.post("/hang", body=body, cast_to=object)
        assert upstream.connections <= 2  # kept alive: the hung one is the only other
        assert b"authorization: Bearer sk-test" in upstream.requests[0][0]
