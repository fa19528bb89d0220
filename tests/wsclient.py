"""A websocket client that speaks ASGI to the application in-process (asgiref's ApplicationCommunicator,
which Channels' own WebsocketCommunicator wraps; importing that one needs daphne)."""

from __future__ import annotations

import json
from typing import Any

from asgiref.testing import ApplicationCommunicator


class WebsocketClient:
    def __init__(self, application: Any, path: str, headers: dict[str, str] | None = None, query: str = ""):
        scope = {"type": "websocket", "path": path, "query_string": query.encode(), "subprotocols": [],
                 "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]}
        self.io = ApplicationCommunicator(application, scope)
        self.close_code: int | None = None

    async def connect(self, timeout: float = 10) -> bool:
        await self.io.send_input({"type": "websocket.connect"})
        reply = await self.io.receive_output(timeout)
        if reply["type"] == "websocket.close":
            await self._closed_by_server(reply)
        return reply["type"] == "websocket.accept"

    async def send(self, payload: Any) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        await self.io.send_input({"type": "websocket.receive", "text": text})

    async def receive(self, timeout: float = 60) -> dict[str, Any] | None:
        """The next event, or None once the server closed the socket (``close_code`` tells how)."""
        message = await self.io.receive_output(timeout)
        if message["type"] == "websocket.close":
            await self._closed_by_server(message)
            return None
        return json.loads(message["text"])

    async def nothing(self, timeout: float = 1) -> bool:
        """True when the server sends nothing within ``timeout`` (the application keeps running)."""
        return await self.io.receive_nothing(timeout)

    async def until(self, *types: str, timeout: float = 60) -> list[dict[str, Any]]:
        """Every event up to and including the first of ``types``."""
        events = []
        while True:
            event = await self.receive(timeout)
            assert event is not None, f"socket closed ({self.close_code}) after {events}"
            events.append(event)
            if event["type"] in types:
                return events

    async def _closed_by_server(self, message: dict[str, Any]) -> None:
        """Complete the close handshake as a protocol server does (uvicorn answers the application's
        close with websocket.disconnect), so that the consumer leaves its channel-layer loop and ends."""
        self.close_code = message.get("code", 1000)
        await self.io.send_input({"type": "websocket.disconnect", "code": self.close_code})
        await self.io.wait(5)

    async def close(self) -> None:
        await self.io.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.io.wait(5)
