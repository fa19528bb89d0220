"""Celery: move buffered usage records from the Redis stream into PostgreSQL (beat runs it every second)."""

from celery import shared_task

from inference.usage.stream import usage_stream_drain


@shared_task(name="inference.usage.tasks.usage_drain", ignore_result=True, expires=5)
def usage_drain() -> int:
    """A failed drain leaves its records pending in the stream; the next run stores them."""
    return usage_stream_drain()
