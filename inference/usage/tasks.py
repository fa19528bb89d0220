"""Celery: move buffered usage records from the Redis stream into PostgreSQL (beat runs it every second),
roll usage up by day and apply the retention of raw records (inference/usage/rollups.py)."""

from celery import shared_task

from inference.usage.rollups import usage_retention_apply, usage_rollup
from inference.usage.stream import usage_stream_drain


@shared_task(name="inference.usage.tasks.usage_drain", ignore_result=True, expires=5)
def usage_drain() -> int:
    """A failed drain leaves its records pending in the stream; the next run stores them."""
    return usage_stream_drain()


@shared_task(name="inference.usage.tasks.usage_rollup", ignore_result=True, expires=240)
def usage_rollup_task() -> dict[str, int]:
    """Idempotent: every run recomputes the last days whole, so a run that failed is made good by the next."""
    return usage_rollup()


@shared_task(name="inference.usage.tasks.usage_retention", ignore_result=True, expires=3000)
def usage_retention_task() -> int:
    return usage_retention_apply()
