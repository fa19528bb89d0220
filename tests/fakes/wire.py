"""What the wire-format fakes share: a server of a provider's routes that records what it received and
answers what a test scripted, and the helpers with which they check what an SDK sent and make up answers."""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.threaded import ThreadedUvicorn


@dataclass
class ScriptedAnswer:
    """What a test scripted for one request: an error status and body (or a body of its own), headers
    such as Retry-After, and a pause before the answer."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0

    def response(self) -> JSONResponse | None:
        """The scripted answer; None when only a delay was scripted, for the default answer."""
        if self.status != 200 or self.body is not None:
            return JSONResponse(self.body, status_code=self.status, headers=self.headers)
        return None


class WireError(Exception):
    """The SDK sent something the provider's API would refuse: the fake answers 400, and the test fails on it."""


def check(condition: bool, problem: str) -> None:
    if not condition:
        raise WireError(problem)


def word_count(text: str) -> int:
    """The fakes' token count: one token a word."""
    return len(text.split())


def unit_vector(seed_text: str, dimensions: int) -> list[float]:
    """An embedding made up from the text's SHA-256: the same text always gets the same unit vector."""
    seed = hashlib.sha256(seed_text.encode()).digest()
    raw = [((seed[i % len(seed)] + i * 7) % 256) / 255 - 0.5 for i in range(dimensions)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


class WireFake:
    """A provider's routes, served on a thread by ``start()`` at ``base_url`` (the server's URL and
    ``url_path``, as the SDK is configured with it). Subclasses add their routes and state, extend
    ``reset()`` for that state, and append what they receive to ``received``."""

    def __init__(self, *, name: str, key: str, routes: list[Route], url_path: str = "") -> None:
        self._good_key = key
        self.keys = {key}  # the API keys the fake accepts; tests add their own
        self.received: list[Any] = []
        self._script: deque[ScriptedAnswer] = deque()
        self.by_key: dict[str, ScriptedAnswer] = {}  # every request with that API key gets this, until removed
        self._uvicorn = ThreadedUvicorn(Starlette(routes=routes), name=name)
        self._url_path = url_path
        self.base_url = ""

    def reset(self) -> None:
        """Forget what earlier tests added, sent and scripted."""
        self.keys = {self._good_key}
        self.received.clear()
        self._script.clear()
        self.by_key.clear()

    def script(self, *answers: ScriptedAnswer) -> None:
        """Answer the next requests with these, in order; afterwards the default answers resume."""
        self._script.extend(answers)

    async def scripted_next(self, key: str = "") -> Any:
        """The next scripted answer once its delay has passed (the one set for the request's API key first, as a
        deployment that fails on command), or None when nothing is scripted."""
        if key in self.by_key:
            scripted = self.by_key[key]
        elif not self._script:
            return None
        else:
            scripted = self._script.popleft()
        if scripted.delay_s:
            await asyncio.sleep(scripted.delay_s)
        return scripted

    def start(self) -> str:
        self.base_url = self._uvicorn.start() + self._url_path
        return self.base_url

    def stop(self) -> None:
        self._uvicorn.stop()
