"""Celery: the task that runs async inference jobs (inference.jobs.services)."""

import asyncio

from celery import shared_task

from inference.jobs.services import job_run


@shared_task(name="inference.jobs.tasks.inference_job", acks_late=True, reject_on_worker_lost=True,
             ignore_result=True)
def inference_job(task_id: str) -> None:
    """Takes the job's id only; everything else is in its record. The message is acknowledged when
    this returns, so a worker that dies mid-job leaves it to be run again."""
    asyncio.run(job_run(task_id=task_id))
