"""Job records in Redis: who submitted the job (ids only, never a secret), its body until it has run,
its status, progress and outcome. Records expire ``INFERGATE["JOBS"]["TTL_SECONDS"]`` after their last
change (a day by default)."""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings

from core.redis import redis_async

logger = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


@dataclass
class Job:
    task_id: str
    organization_id: int
    namespace_id: str
    api_key_id: int
    request_id: str
    status: str = QUEUED
    progress: float | None = None
    attempts: int = 0
    worker_pid: int | None = None
    response: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)


def job_id_new() -> str:
    return "task_" + secrets.token_hex(12)


def _ttl() -> int:
    return int(settings.INFERGATE.get("JOBS", {}).get("TTL_SECONDS", 86400))


def _key(task_id: str) -> str:
    return f"infergate:job:{task_id}"


def _body_key(task_id: str) -> str:
    return f"infergate:job:{task_id}:body"


async def job_create(job: Job, body: Any) -> None:
    client = redis_async()
    await client.set(_body_key(job.task_id), json.dumps(body), ex=_ttl())
    await client.set(_key(job.task_id), json.dumps(asdict(job)), ex=_ttl())


async def job_get(task_id: str) -> Job | None:
    client = redis_async()
    raw = await client.get(_key(task_id))
    return Job(**json.loads(raw)) if raw else None


async def job_body(task_id: str) -> Any:
    client = redis_async()
    raw = await client.get(_body_key(task_id))
    return json.loads(raw) if raw else None


async def job_save(job: Job, *, drop_body: bool = False) -> None:
    job.updated_at = time.time()
    client = redis_async()
    await client.set(_key(job.task_id), json.dumps(asdict(job)), ex=_ttl())
    if drop_body:
        await client.delete(_body_key(job.task_id))


async def job_discard(task_id: str) -> None:
    """Forget a job that was never queued, best effort: with Redis away it was most likely never stored,
    and what was stored expires with the TTL."""
    try:
        client = redis_async()
        await client.delete(_key(task_id), _body_key(task_id))
    except Exception as exc:  # the submission is refused with the first error either way
        logger.warning("job %s not discarded: %s", task_id, type(exc).__name__)
