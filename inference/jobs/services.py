"""Async jobs: ``POST /v1/inference?async=true`` queues the request for a Celery worker (202 and a
task id); ``GET /v1/tasks/{id}`` reports it. The worker runs the same ``inference_run`` as every other
interface, as the principal that submitted the job (rebuilt from ids and checked again); the key's
secret is never stored. A worker that dies mid-task leaves its message unacknowledged (``acks_late``,
``reject_on_worker_lost``): another attempt runs it; a finished job is never run twice.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import uuid
from contextlib import contextmanager
from typing import Any, Callable

from celery import current_app

from core.errors import InfergateError, NotFoundError, unexpected_error_logged
from inference.context import JobContext, current_job
from inference.jobs.store import (
    DONE,
    FAILED,
    RUNNING,
    Job,
    job_body,
    job_create,
    job_discard,
    job_get,
    job_id_new,
    job_save,
)
from inference.progress import task_progress_publish
from inference.request import call_build, request_parse
from inference.service import Credentials, inference_run
from inference.targets import target_resolve
from inference.usage.records import UsageEntry
from inference.usage.services import usage_flush, usage_record
from tenancy.accounts.authentication import Principal, key_resolve, namespace_resolve, principal_load
from tenancy.accounts.models import Permission

logger = logging.getLogger(__name__)
JOB_TASK = "inference.jobs.tasks.inference_job"  # in inference/tasks.py


async def _record(entry: UsageEntry) -> None:
    recorded = usage_record(entry)
    if inspect.isawaitable(recorded):
        await recorded


async def job_submit(*, credentials: Credentials, body: Any | Callable[[], Any], request_id: str) -> dict[str, Any]:
    """Check what can be checked now (key, namespace, body, target, inputs) so that a bad request is
    refused at once, then queue it. A refused submission leaves its usage record here; an accepted
    one leaves its record when the job runs."""
    entry = UsageEntry(request_id=request_id, status=200)
    try:
        key = await key_resolve(credentials.authorization)
        entry.organization_id, entry.api_key_id = key.organization_id, key.id
        principal = await namespace_resolve(key, credentials.namespace)
        entry.namespace_id = principal.namespace.id
        principal.require(Permission.READ)
        decoded = body() if callable(body) else body
        request = request_parse(decoded)
        entry.provider, entry.model = request.provider or "", request.model or ""
        adapter = await target_resolve(principal=principal, request=request)
        entry.provider, entry.model = adapter.spec.provider, adapter.spec.model
        entry.modality = call_build(adapter.spec, request).modality.value
    except Exception as exc:
        raise await _refused(entry, exc) from None
    job = Job(task_id=job_id_new(), organization_id=principal.organization_id, namespace_id=principal.namespace.id,
              api_key_id=principal.key.id, request_id=request_id)
    # Not stored or not queued (Redis, the job store and broker, away: a 503): no job is left that would
    # never run, and the client, given no task id, submits again.
    try:
        await job_create(job, decoded)
    except Exception as exc:
        raise await _refused(entry, exc) from None
    try:  # off the event loop: a broker that does not answer holds the publish through Celery's retries
        await asyncio.to_thread(current_app.send_task, JOB_TASK, args=[job.task_id], task_id=job.task_id)
    except Exception as exc:
        await job_discard(job.task_id)
        raise await _refused(entry, exc) from None
    return job_describe(job)


async def _refused(entry: UsageEntry, exc: Exception) -> InfergateError:
    """A submission refused: its usage record (as a refused synchronous request's) and the error to raise."""
    if not isinstance(exc, InfergateError):
        exc = unexpected_error_logged(exc, logger, "job submission")
    entry.status, entry.error_type = exc.status, exc.type
    await _record(entry)
    return exc


def job_describe(job: Job) -> dict[str, Any]:
    described: dict[str, Any] = {"task_id": job.task_id, "status": job.status, "progress": job.progress,
                                 "request_id": job.request_id, "attempts": job.attempts,
                                 "created_at": job.created_at, "updated_at": job.updated_at,
                                 "status_url": f"/v1/tasks/{job.task_id}"}
    if job.status == DONE:
        described["response"] = job.response
    if job.status == FAILED:
        described["error"] = job.error
    return described


async def job_status(*, principal: Principal, task_id: str) -> dict[str, Any]:
    """A job of the principal's namespace; any other (or none) is 404 alike."""
    job = await job_get(task_id) if task_id.startswith("task_") and len(task_id) <= 64 else None
    if job is None or job.namespace_id != principal.namespace.id or job.organization_id != principal.organization_id:
        raise NotFoundError("Task not found", details={"resource": "task", "id": task_id})
    return job_describe(job)


@contextmanager
def _as_job(job: Job, progress: Callable[[float], Any]):
    token = current_job.set(JobContext(task_id=job.task_id, namespace_id=job.namespace_id, progress=progress))
    try:
        yield
    finally:
        current_job.reset(token)


async def _publish(job: Job) -> None:
    try:
        await task_progress_publish(namespace_id=job.namespace_id, task_id=job.task_id, event={
            "type": "progress", "status": job.status, "progress": job.progress})
    except Exception as exc:  # a websocket notice is best effort; the job record is the truth
        logger.warning("progress of %s not published: %s", job.task_id, type(exc).__name__)


def job_usage_id(task_id: str) -> uuid.UUID:
    """The id of a job's usage record, the same on every run: a run again after a worker died between
    recording usage and saving the job stores no second record (the insert skips ids already stored)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"infergate:job:{task_id}")


async def _principal_or_fail(job: Job) -> Principal | None:
    """The job's principal, checked again now; or None, the job failed and its usage record written (the
    run never reaches inference_run, which writes it otherwise): a key revoked or a namespace taken out of
    its scope since (401/403/404), or a database that cannot be reached (503)."""
    try:
        return await principal_load(key_id=job.api_key_id, namespace_id=job.namespace_id)
    except InfergateError as exc:
        error = exc
    except Exception as exc:
        error = unexpected_error_logged(exc, logger, f"job {job.task_id}")
    job.status, job.error = FAILED, error.envelope()
    await _record(UsageEntry(request_id=job.request_id, status=error.status, error_type=error.type,
                             organization_id=job.organization_id, namespace_id=job.namespace_id,
                             api_key_id=job.api_key_id, id=job_usage_id(job.task_id)))
    return None


async def job_run(*, task_id: str) -> None:
    """Run a queued job (called by the Celery task; again after a worker crash)."""
    job = await job_get(task_id)
    if job is None or job.status in (DONE, FAILED):
        return  # expired, or a redelivery of a job that already finished
    body = await job_body(task_id)
    job.status, job.attempts, job.worker_pid = RUNNING, job.attempts + 1, os.getpid()
    await job_save(job)
    await _publish(job)

    async def progress(fraction: float) -> None:
        job.progress = round(fraction, 4)
        await job_save(job)
        await _publish(job)

    principal = await _principal_or_fail(job)
    if principal is not None:
        try:
            with _as_job(job, progress):
                job.response = await inference_run(credentials=Credentials(None, None, principal=principal),
                                                   body=body, request_id=job.request_id,
                                                   usage_id=job_usage_id(task_id))
            job.status, job.progress = DONE, 1.0
        except InfergateError as error:
            job.status, job.error = FAILED, error.envelope()
        except Exception as exc:
            job.status, job.error = FAILED, unexpected_error_logged(exc, logger, f"job {task_id}").envelope()
    # the usage record is stored before the job says it finished (and before the message is acked)
    await asyncio.to_thread(usage_flush, 10)
    await job_save(job, drop_body=True)
    await _publish(job)
