"""What code running inside an async job can ask: that it runs as a job (long work is allowed), and
a way to report how far it got (stored on the job and pushed to subscribed websockets)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Awaitable, Callable


@dataclass(frozen=True)
class JobContext:
    task_id: str
    namespace_id: str
    progress: Callable[[float], Awaitable[None]]  # fraction done, 0..1


current_job: ContextVar[JobContext | None] = ContextVar("infergate_current_job", default=None)


async def job_progress(fraction: float) -> None:
    """Report progress when running as a job; a no-op on the synchronous path."""
    job = current_job.get()
    if job is not None:
        await job.progress(max(0.0, min(1.0, fraction)))
