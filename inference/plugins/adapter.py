"""The adapter that puts a plugin behind the one provider interface, in isolation.

Whatever a plugin does, the caller gets its modality's data shape or one of our errors:
- an exception (even ``SystemExit``) is a 500 PluginError naming the plugin, logged with its traceback;
- no answer within the plugin's timeout is a 504 TimeoutError; an ``async`` plugin is cancelled, a
  blocking one is left on its own bounded thread pool, where it cannot hold up anyone else;
- output that is not the modality's shape is a 500 PluginError listing what is wrong.
A plugin may raise our 4xx errors (``core.errors.ValidationError`` ...) to refuse an input.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any

from core import errors
from inference.plugins.base import PluginResult
from inference.plugins.registry import InstalledPlugin
from inference.plugins.shapes import data_problems
from inference.providers.base import Adapter
from inference.types import InferenceCall, InferenceResult, Usage

logger = logging.getLogger(__name__)


class _PluginExited(Exception):
    """A plugin called ``sys.exit``; turned into an ordinary exception inside its task so that it never
    reaches the event loop (which would stop the worker)."""


def _retrieve(task: asyncio.Future) -> None:
    """Collect the outcome of a plugin task nobody waits for any more (no "never retrieved" noise)."""
    if not task.cancelled() and task.exception() is not None:
        logger.info("abandoned plugin task ended with %s", type(task.exception()).__name__)


class PluginAdapter(Adapter):
    def __init__(self, installed: InstalledPlugin, *, defaults: dict[str, Any] | None = None) -> None:
        self.installed = installed
        self.spec = installed.spec
        self.defaults = dict(defaults or {})  # the namespace's parameters; the request's override them

    @property
    def name(self) -> str:
        return self.installed.inference_name

    async def run(self, call: InferenceCall) -> InferenceResult:
        parameters = {**self.defaults, **call.parameters}
        try:
            output = await self._within_timeout(self._guarded(call.inputs, parameters))
        except errors.InfergateError as error:
            if error.status < 500 or isinstance(error, errors.TimeoutError):
                raise
            raise self._failure(error) from None
        except Exception as exc:
            raise self._failure(exc) from None
        return self._result(output, call)

    async def _within_timeout(self, work: Any) -> Any:
        """Run the plugin as a task of its own and stop waiting at the timeout: a plugin that ignores
        cancellation (or swallows it) costs the caller nothing more than the timeout."""
        timeout = self.installed.timeout_s
        task = asyncio.ensure_future(work)
        try:
            done, _ = await asyncio.wait({task}, timeout=timeout)
        except asyncio.CancelledError:
            task.cancel()  # the client went away: stop the plugin too
            task.add_done_callback(_retrieve)
            raise
        if not done:
            task.cancel()
            task.add_done_callback(_retrieve)
            logger.warning("plugin %s did not answer within %g s", self.name, timeout)
            raise errors.TimeoutError(f"Plugin {self.name!r} did not answer within {timeout:g} s",
                                      details={"plugin": self.name, "timeout_s": timeout})
        return task.result()

    async def _guarded(self, inputs: dict[str, Any], parameters: dict[str, Any]) -> Any:
        run = self.installed.plugin.run
        try:
            if inspect.iscoroutinefunction(run):
                return await run(inputs, parameters)
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self.installed.executor, run, inputs, parameters)
        except SystemExit as exc:
            raise _PluginExited(f"SystemExit({exc.code!r})") from exc

    def _failure(self, exc: BaseException) -> errors.PluginError:
        logger.error("plugin %s raised %s", self.name, type(exc).__name__, exc_info=exc)
        return errors.PluginError(f"Plugin {self.name!r} failed ({type(exc).__name__})",
                                  details={"plugin": self.name, "error": type(exc).__name__})

    def _result(self, output: Any, call: InferenceCall) -> InferenceResult:
        data, usage = (output.data, output.usage) if isinstance(output, PluginResult) else (output, Usage())
        problems = data_problems(data, call, self.spec.dimensions)
        if not isinstance(usage, Usage) or not all(
                isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in (usage.prompt, usage.completion)):
            problems.append("usage: must be a Usage of non-negative integers")
        if problems:
            logger.error("plugin %s returned data that is not the %s shape: %s", self.name, call.modality.value,
                         "; ".join(problems))
            raise errors.PluginError(
                f"Plugin {self.name!r} returned data that is not the {call.modality.value} shape: {problems[0]}",
                details={"plugin": self.name, "modality": call.modality.value, "problems": problems})
        return InferenceResult(data=data, usage=usage)
