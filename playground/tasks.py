"""Periodic housekeeping run by Celery beat."""

import time

import redis
from celery import shared_task
from django.conf import settings

from inference.health import HEARTBEAT_KEY


@shared_task(name="playground.tasks.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Lets /readyz tell how long ago a worker last ran a task."""
    redis.Redis.from_url(settings.REDIS_URL).set(HEARTBEAT_KEY, str(time.time()), ex=3600)
