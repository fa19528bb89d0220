"""The one adapter interface every provider implements, and the parameters they share."""

from __future__ import annotations

import asyncio
import atexit
import threading
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from typing import Any, AsyncIterator, Callable, Generic, TypeVar

from django.conf import settings

from inference.types import (
    Complete,
    CredentialLookup,
    InferenceCall,
    InferenceResult,
    ModelSpec,
    ParameterSpec,
    StreamEvent,
)

T = TypeVar("T")

TEMPERATURE = ParameterSpec("temperature", "number", "Sampling temperature; 0 is greedy.", 0, 2, 0.7)
TOP_P = ParameterSpec("top_p", "number", "Nucleus sampling: keep the smallest token set with this mass.", 0, 1, 1.0)
STOP = ParameterSpec("stop", "stop", "A string or up to 4 strings at which generation stops.")
SEED = ParameterSpec("seed", "integer", "Random seed for reproducible sampling.", 0, 2**31 - 1)
TOOLS = ParameterSpec("tools", "tools", "Functions the model may call: [{name, description?, parameters?: JSON "
                                        "Schema}]; its calls come back in data.responses[i].tool_calls.")
TOOL_CHOICE = ParameterSpec("tool_choice", "tool_choice", "'auto' (default), 'none', 'required', or {name}: that "
                                                          "tool, always.")
PARALLEL_TOOL_CALLS = ParameterSpec("parallel_tool_calls", "boolean", "false: at most one tool call per answer "
                                                                   "(Gemini cannot be held to one: a 422 there).")
TOOL_PARAMETERS = (TOOLS, TOOL_CHOICE, PARALLEL_TOOL_CALLS)  # chat models that call tools (inference/tools.py)


def provider_timeout_s(call: InferenceCall) -> float:
    """How long a provider may take to answer this call: the namespace's setting, else the default."""
    return call.timeout_s if call.timeout_s is not None else float(settings.INFERGATE["PROVIDER_TIMEOUT_SECONDS"])


def max_tokens(limit: int, default: int) -> ParameterSpec:
    return ParameterSpec("max_tokens", "integer", "Most tokens to generate per answer.", 1, limit, default)


class Adapter(ABC):
    """A model behind a provider. Declares what it can do in ``spec``; implements ``run``."""

    spec: ModelSpec
    wire_formats: frozenset[str] = frozenset()  # the client API formats it sends as they are (types.WireRequest)
    takes_base_url: bool = False  # honours InferenceCall.base_url (a deployment's own endpoint of the provider)

    @abstractmethod
    async def run(self, call: InferenceCall) -> InferenceResult:
        """Produce the modality's ``data`` shape; raise ``core.errors`` types on failure."""

    async def configured(self, credentials: CredentialLookup) -> bool:
        """Can a namespace with these credentials call the model now? Models that need none: yes."""
        return True

    async def stream(self, call: InferenceCall) -> AsyncIterator[StreamEvent]:
        """Yield ``Delta``/``Finish``/``TokenCount`` events as the answer is produced. Targets that
        cannot stream keep this default: their whole result arrives as one ``Complete``. Adapters
        only yield; ``inference.streaming`` collects text and usage and does the bookkeeping, also
        when the consumer stops early (the generator is closed, which must stop the work)."""
        yield Complete(await self.run(call))


class ModelRunner(Generic[T]):
    """Loads a blocking model once per process, lazily, and runs calls on it in a bounded pool of
    its own threads, so the event loop never blocks and one slow model cannot starve another.

    ``workers=1`` serialises every call, for models whose state is not safe to share (llama.cpp).
    """

    def __init__(self, load: Callable[[], T], *, workers: int, name: str):
        self._load = load
        self._model: T | None = None
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)

    def model(self) -> T:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
                    atexit.register(self._close)
        return self._model

    def _close(self) -> None:
        """Free native resources while the interpreter is still whole (llama.cpp's finaliser is not
        safe during interpreter shutdown)."""
        close = getattr(self._model, "close", None)
        if callable(close):
            close()

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(self.model(), *args))

    async def stream(self, fn: Callable[..., None], *args: Any) -> AsyncIterator[Any]:
        """Run ``fn(model, *args, push, cancelled)`` on the model's threads and yield what it pushes.
        Closing this generator (the consumer went away) sets ``cancelled`` and waits until ``fn`` has
        returned, so the model is free again before the next call."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[bool, Any]] = asyncio.Queue()
        cancelled = threading.Event()

        def push(item: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, (False, item))

        def job() -> None:
            try:
                if not cancelled.is_set():  # the consumer may have left while this job waited its turn
                    fn(self.model(), *args, push, cancelled)
            except BaseException as exc:  # handed to the event loop, raised there
                loop.call_soon_threadsafe(queue.put_nowait, (True, exc))
            else:
                loop.call_soon_threadsafe(queue.put_nowait, (True, None))

        future = loop.run_in_executor(self._executor, job)
        try:
            while True:
                done, item = await queue.get()
                if done:
                    if item is not None:
                        raise item
                    return
                yield item
        finally:
            cancelled.set()
            await asyncio.shield(future)
