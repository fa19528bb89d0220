"""An upstream emulator for the gateway benchmark: OpenAI's chat completions and embeddings on loopback,
answered after a fixed delay, as cheaply as Python can answer HTTP (a bare asyncio protocol on uvloop, no
framework), so that it is never what limits a measurement; bench/gateway.py measures and prints its ceiling.

The delay is part of the path: ``/d{ms}/v1/chat/completions`` answers after ``ms`` milliseconds (``/v1/...``:
none), so one emulator serves the 0 ms and the 50 ms variants. A chat request with ``"stream": true`` is answered
as OpenAI streams (Server-Sent Events of ``chat.completion.chunk``, then ``[DONE]``) with ``n`` tokens, one every
``ms`` milliseconds, as the path says: ``/s{n}x{ms}/v1/chat/completions`` (default 20 tokens every 20 ms). Each
token's text is ``t{k}@{epoch_ms} ``, the moment the emulator sent it, so that a client can tell what each hop
added to each token (bench/stream_overhead.py). Answers follow OpenAI's wire format:
``chat.completion`` with usage; embeddings (8 floats each, one per input) as float lists, or base64 when the
request asks for ``encoding_format: base64`` (what the openai SDK asks for by default). Anything else: 404.

Run: ``python bench/_emulator.py --port 8765`` (prints ``ready`` once it listens).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import re
import struct
import time

CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
CHUNKED = re.compile(rb"\r\ntransfer-encoding:\s*chunked", re.IGNORECASE)
CLOSE = re.compile(rb"\r\nconnection:\s*close", re.IGNORECASE)
DELAY = re.compile(r"^/d(\d{1,5})(/.*)$")
STREAMED = re.compile(r"^/s(\d{1,5})x(\d{1,5})(/.*)$")
ANSWER = "Hello from the emulator."
VECTOR = [0.125, -0.25, 0.5, 0.0625, -0.5, 0.25, 0.375, -0.125]
VECTOR_B64 = base64.b64encode(struct.pack("<8f", *VECTOR)).decode()


def chat_answer(request: dict) -> dict:
    prompt = sum(len(str(m.get("content", ""))) for m in request.get("messages", [])) // 4 + 1
    return {"id": "chatcmpl-emulator", "object": "chat.completion", "created": 1_700_000_000,
            "model": request.get("model", "emulator"), "system_fingerprint": None,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER, "refusal": None},
                         "finish_reason": "stop", "logprobs": None}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": 5, "total_tokens": prompt + 5}}


def embeddings_answer(request: dict) -> dict:
    texts = request.get("input", [])
    texts = [texts] if isinstance(texts, str) else texts
    vector = VECTOR_B64 if request.get("encoding_format") == "base64" else VECTOR
    tokens = sum(len(str(t)) for t in texts) // 4 + len(texts)
    return {"object": "list", "model": request.get("model", "emulator"),
            "data": [{"object": "embedding", "index": i, "embedding": vector} for i in range(len(texts))],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


ROUTES = {"/v1/chat/completions": chat_answer, "/v1/embeddings": embeddings_answer}


def response_bytes(status: int, payload: dict, close: bool) -> bytes:
    body = json.dumps(payload, separators=(",", ":")).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
            f"connection: {'close' if close else 'keep-alive'}\r\n\r\n").encode() + body


def answer(method: str, target: str, body: bytes) -> tuple[float, int, dict]:
    """(delay in seconds, status, payload) for one request."""
    path, delay = target.split("?", 1)[0], 0.0
    if match := DELAY.match(path):
        delay, path = int(match.group(1)) / 1000, match.group(2)
    route = ROUTES.get(path)
    if method != "POST" or route is None:
        return 0.0, 404, {"error": {"message": f"no route {method} {path}", "type": "invalid_request_error"}}
    try:
        request = json.loads(body)
    except ValueError:
        return 0.0, 400, {"error": {"message": "body is not JSON", "type": "invalid_request_error"}}
    if request.get("stream") and route is not chat_answer:
        return 0.0, 400, {"error": {"message": "only chat streams", "type": "invalid_request_error"}}
    return delay, 200, route(request)


def stream_plan(target: str, body: bytes) -> tuple[int, float, str, bool] | None:
    """(tokens, seconds between them, model, usage wanted) of a streamed chat request; None for any other."""
    path = target.split("?", 1)[0]
    tokens, interval = 20, 0.02
    if match := STREAMED.match(path):
        tokens, interval, path = int(match.group(1)), int(match.group(2)) / 1000, match.group(3)
    if path != "/v1/chat/completions":
        return None
    try:
        request = json.loads(body)
    except ValueError:
        return None
    if not isinstance(request, dict) or not request.get("stream"):
        return None
    usage = bool((request.get("stream_options") or {}).get("include_usage"))
    return tokens, interval, str(request.get("model", "emulator")), usage


def chunk(model: str, delta: dict, finish: str | None = None, usage: dict | None = None) -> bytes:
    event = {"id": "chatcmpl-emulator", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": model,
             "choices": [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}
    if usage:
        event["usage"] = usage
    data = b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


class Upstream(asyncio.Protocol):
    """HTTP/1.1 with keep-alive and Content-Length bodies (what the SDKs and gateways send)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = bytearray()
        self.loop = asyncio.get_running_loop()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = bytes(self.buffer[:end + 2])
            if CHUNKED.search(head):
                self._send(response_bytes(400, {"error": {"message": "chunked bodies are not supported"}}, True))
                return
            length = int(match.group(1)) if (match := CONTENT_LENGTH.search(head)) else 0
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4:end + 4 + length])
            del self.buffer[:end + 4 + length]
            method, target = head.split(b" ", 2)[:2]
            if method == b"POST" and (plan := stream_plan(target.decode(), body)) is not None:
                self._stream(*plan)
                continue
            delay, status, payload = answer(method.decode(), target.decode(), body)
            reply = response_bytes(status, payload, bool(CLOSE.search(head)))
            if delay:
                self.loop.call_later(delay, self._send, reply)
            else:
                self._send(reply)

    def _stream(self, tokens: int, interval: float, model: str, usage: bool) -> None:
        """The head now, a token every ``interval`` (timed from the first, so that lateness does not add up), then
        the finish, the usage if asked for, and [DONE]."""
        self._send(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n"
                   b"connection: keep-alive\r\n\r\n" + chunk(model, {"role": "assistant", "content": ""}))
        start = self.loop.time()
        if not tokens:
            self._finish(model, 0, usage)
        for k in range(tokens):
            self.loop.call_at(start + (k + 1) * interval, self._token, model, k, tokens, usage)

    def _token(self, model: str, k: int, tokens: int, usage: bool) -> None:
        self._send(chunk(model, {"content": f"t{k}@{time.time() * 1000:.3f} "}))
        if k == tokens - 1:  # the finish right after the last token: a timer of its own could fire first
            self._finish(model, tokens, usage)  # (uvloop's timers round to the millisecond)

    def _finish(self, model: str, tokens: int, usage: bool) -> None:
        tail = chunk(model, {}, finish="stop")
        if usage:
            tail += chunk(model, {}, usage={"prompt_tokens": 5, "completion_tokens": tokens, "total_tokens": 5 + tokens})
        done = b"data: [DONE]\n\n"
        self._send(tail + f"{len(done):x}\r\n".encode() + done + b"\r\n0\r\n\r\n")

    def _send(self, reply: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(reply)
            if reply.startswith(b"HTTP/1.1 4") or b"connection: close" in reply[:200]:
                self.transport.close()


async def serve(host: str, port: int) -> None:
    server = await asyncio.get_running_loop().create_server(Upstream, host, port, backlog=4096)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:  # plain asyncio still answers; slower
        asyncio.run(serve(args.host, args.port))
    else:
        uvloop.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
