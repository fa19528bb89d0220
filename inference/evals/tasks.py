"""The evaluation run's Celery task: it takes the run's id and runs what is left of it (inference/evals/runner.py)."""

from __future__ import annotations

import asyncio

from celery import shared_task

from inference.evals.services import EVAL_TASK


@shared_task(name=EVAL_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def eval_run(run_id: str) -> None:
    """Acknowledged when it returns: a worker that dies mid-run leaves the message to be delivered again, and the
    next delivery resumes the run from the cells it has (no cell is called twice that was stored)."""
    from inference.evals.runner import eval_run_execute

    asyncio.run(eval_run_execute(run_id=run_id))
