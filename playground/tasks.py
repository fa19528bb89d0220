"""Periodic housekeeping run by Celery beat."""

import time

from celery import shared_task

from core.redis import redis_sync
from inference.health import HEARTBEAT_KEY


@shared_task(name="playground.tasks.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Lets /readyz tell how long ago a worker last ran a task."""
    redis_sync().set(HEARTBEAT_KEY, str(time.time()), ex=3600)
