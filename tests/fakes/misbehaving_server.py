"""A provider that misbehaves below the level a well-formed HTTP server can: it reads a request and then
hangs, resets the connection, answers 200 with a body that is not JSON (or JSON of the wrong shape), or
stops half-way through its answer. A plain socket server, so that a reset is a real TCP RST. Speaks enough
of OpenAI's wire format (the paths, `Authorization: Bearer`) for the `openai` SDK to be its client."""

from __future__ import annotations

import socket
import struct
import threading
from contextlib import suppress

BEHAVIOURS = ("hang", "reset", "malformed_json", "wrong_shape", "truncated", "garbage_status")


class MisbehavingServer:
    def __init__(self) -> None:
        self.behaviour = "hang"
        self.requests = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._stop = threading.Event()
        self._open: list[socket.socket] = []
        self.base_url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/v1"

    def start(self) -> "MisbehavingServer":
        threading.Thread(target=self._serve, daemon=True, name="misbehaving-provider").start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with suppress(OSError):
            self._sock.close()
        for conn in self._open:
            with suppress(OSError):
                conn.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    @staticmethod
    def _read_request(conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return
            body += chunk

    def _answer(self, conn: socket.socket) -> None:
        self._open.append(conn)
        with suppress(OSError):
            self._read_request(conn)
            self.requests += 1
            behaviour = self.behaviour
            if behaviour == "hang":
                self._stop.wait(60)
            elif behaviour == "reset":  # SO_LINGER 0: close() sends RST
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif behaviour == "garbage_status":
                conn.sendall(b"HTTP/1.1 banana\r\n\r\n")
            else:
                body = {"malformed_json": b'{"id": "chatcmpl-1", "choices": [{"message": ',
                        "wrong_shape": b'{"choices": "none", "usage": 7}',
                        "truncated": b'{"id": "chatcmpl-1", "object": "chat.completion", "choices": []}'}[behaviour]
                length = len(body) * (4 if behaviour == "truncated" else 1)  # truncated: promises more than it sends
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                             + str(length).encode() + b"\r\n\r\n" + body)
            conn.close()
