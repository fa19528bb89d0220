"""Load for the fault tests: echo requests one after another, each with its own request id, so that every
answer can be matched to its usage record afterwards."""

from __future__ import annotations

import time
import uuid
from typing import Callable

import httpx

ECHO = {"provider": "test", "model": "echo", "inputs": {"prompts": ["hi"]}}


async def echo_load(base: str, headers: dict[str, str], prefix: str, until: float, sent: list[str],
                    note: Callable[[httpx.Response | httpx.TransportError], None]) -> None:
    """Requests until ``until`` (monotonic); ``note`` is given each answer, or the transport error instead."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        while time.monotonic() < until:
            request_id = f"{prefix}-{uuid.uuid4().hex[:12]}"
            sent.append(request_id)
            try:
                response = await http.post("/v1/inference", json=ECHO, headers={**headers, "X-Request-ID": request_id})
            except httpx.TransportError as error:
                note(error)
                continue
            note(response)
