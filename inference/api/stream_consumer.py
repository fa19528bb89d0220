"""The websocket at /v1/inference/stream (Channels).

The client connects with ``Authorization`` and ``X-Namespace`` on the handshake (or, from a browser,
``?ticket=`` minted for its signed-in session), then sends request bodies, one at a time, and receives
``start``, ``delta``, ``done`` or ``error`` events for each. ``{"type": "cancel"}`` stops the running
request; closing the socket does too. ``{"type": "subscribe", "task_id": ...}`` subscribes to the
``progress`` events of a task of the same namespace (inference.progress). A refused key gets one ``error``
event and the socket closes with code 4000 + the HTTP status (4401, 4403, 4404).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from contextlib import aclosing
from typing import Any
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from core.errors import BadRequestError, CancelledByClientError, InfergateError, PayloadTooLargeError, ValidationError
from core.logs import current_request_id, request_id_for
from inference.api.tickets import ticket_principal
from inference.progress import TASK_ID, task_group
from inference.request import body_decode
from inference.service import Credentials, inference_stream
from tenancy.accounts.authentication import key_resolve, namespace_resolve, principal_resolve

logger = logging.getLogger(__name__)


class InferenceStreamConsumer(AsyncWebsocketConsumer):
    credentials: Credentials | None = None  # None until the handshake's key is verified (and after a refusal)
    running: asyncio.Task | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.finishing: set[asyncio.Task] = set()

    async def connect(self) -> None:
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in self.scope["headers"]}
        ticket = parse_qs(self.scope.get("query_string", b"").decode("latin-1")).get("ticket", [None])[0]
        await self.accept()
        try:
            if ticket:
                self.credentials = Credentials(None, None, principal=await ticket_principal(ticket))
            else:
                key = await key_resolve(headers.get("authorization"))
                principal = await namespace_resolve(key, headers.get("x-namespace"))
                # Each request re-checks the key (cached for a second), so a revoked key stops here too.
                self.credentials = Credentials(headers.get("authorization"), principal.namespace.id)
        except InfergateError as error:
            await self.send_json({"type": "error", "error": error.envelope()})
            await self.close(code=4000 + error.status)

    async def disconnect(self, code: int) -> None:
        await self._cancel()
        await asyncio.gather(*self.finishing, return_exceptions=True)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.credentials is None:  # the handshake was refused and the socket is closing: nothing to serve
            return
        raw = text_data.encode("utf-8", "surrogatepass") if text_data is not None else bytes_data or b""
        limit = settings.INFERGATE["MAX_BODY_BYTES"]
        if len(raw) > limit:
            error = PayloadTooLargeError(f"A message is larger than {limit} bytes", details={"limit_bytes": limit})
            await self.send_json({"type": "error", "error": error.envelope()})
            return
        message = _control(raw)
        if isinstance(message, dict) and message.get("type") == "cancel":
            cancelled = await self._cancel()
            if cancelled:
                await self.send_json({"type": "error", "error": CancelledByClientError().envelope()})
            return
        if isinstance(message, dict) and message.get("type") == "subscribe":
            await self._subscribe(message.get("task_id"))
            return
        if self.running is not None and not self.running.done():
            error = BadRequestError("A request is already running on this socket; send {\"type\": \"cancel\"} "
                                    "or wait for its done event")
            await self.send_json({"type": "error", "error": error.envelope()})
            return
        self.running = asyncio.create_task(self._serve(raw))

    async def _serve(self, raw: bytes) -> None:
        request_id = request_id_for(None)
        token = current_request_id.set(request_id)
        try:
            events = inference_stream(credentials=self.credentials, body=lambda: body_decode(raw),
                                      request_id=request_id)
            async with aclosing(events):
                async for event in events:
                    if event["type"] in ("done", "error"):
                        self._finished()
                    await self.send_json(event)
        except InfergateError as error:
            self._finished()
            await self.send_json({"type": "error", "error": error.envelope()})
        finally:
            current_request_id.reset(token)

    def _finished(self) -> None:
        """The request has its answer: a client that reads it may send the next one at once, even while
        this task still records usage (the socket waits for it before it closes)."""
        task = asyncio.current_task()
        if self.running is task:
            self.running = None
            self.finishing.add(task)
            task.add_done_callback(self.finishing.discard)

    async def _subscribe(self, task_id: Any) -> None:
        if not isinstance(task_id, str) or not TASK_ID.match(task_id):
            error = ValidationError([{"field": "task_id", "problem": "1-64 letters, digits, '_' or '-'"}])
            await self.send_json({"type": "error", "error": error.envelope()})
            return
        principal = self.credentials.principal or await principal_resolve(
            authorization=self.credentials.authorization, namespace=self.credentials.namespace)
        await self.channel_layer.group_add(task_group(principal.namespace.id, task_id), self.channel_name)
        self.groups.append(task_group(principal.namespace.id, task_id))  # left again on disconnect
        await self.send_json({"type": "subscribed", "task_id": task_id})

    async def task_progress(self, message: dict[str, Any]) -> None:
        """A ``task.progress`` message from the channel layer (see inference.progress)."""
        await self.send_json({"type": "progress", **message["event"]})

    async def _cancel(self) -> bool:
        task, self.running = self.running, None
        if task is None or task.done():
            return False
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return True

    async def send_json(self, event: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(event))


def _control(raw: bytes) -> Any:
    """A message as JSON when it decodes (to tell ``cancel`` and ``subscribe`` from a request body), else
    None: a request body's own problems are answered by the service, in an ``error`` event."""
    if len(raw) > 1024 or not raw.strip():  # control messages are small; a body is decoded once, later
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None
