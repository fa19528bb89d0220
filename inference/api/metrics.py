"""GET /metrics: Prometheus text format: every process's counters (core/metrics.py), summed, and the gauges
of shared state read from Redis at scrape time. Open unless ``INFERGATE["METRICS_TOKEN"]`` is set, in which case it
needs ``Authorization: Bearer <token>`` (401 otherwise). It carries counts, latencies and depths only."""

from __future__ import annotations

import hmac
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from core.errors import UnauthorizedError
from core.redis import ERRORS as REDIS_ERRORS
from core.redis import redis_sync
from inference.api.errors import error_response
from inference.usage.stream import usage_backlog_sync, usage_stream_depth


class SharedStateCollector:
    """Gauges read at scrape time: records waiting in the usage stream, how far behind its drain is, the
    dead letters, tasks waiting in the Celery queue."""

    def collect(self) -> Any:
        from prometheus_client.core import GaugeMetricFamily

        stream = GaugeMetricFamily("infergate_usage_stream_depth", "Usage records buffered in the Redis stream "
                                   "(-1: Redis unavailable)")
        stream.add_metric([], usage_stream_depth())
        yield stream
        backlog = usage_backlog_sync()
        lag = GaugeMetricFamily("infergate_usage_drain_lag_seconds", "Age of the oldest usage record not yet "
                                "stored in PostgreSQL (0: none waiting; -1: Redis unavailable)")
        lag.add_metric([], backlog.lag_s if backlog else -1)
        yield lag
        dead = GaugeMetricFamily("infergate_usage_dead_letters", "Usage records in the dead-letter stream, "
                                 "waiting for manage.py usage_dead_letters (-1: Redis unavailable)")
        dead.add_metric([], backlog.dead_letters if backlog else -1)
        yield dead
        queue = GaugeMetricFamily("infergate_celery_queue_depth", "Tasks waiting in a Celery queue "
                                  "(-1: Redis unavailable)", labels=["queue"])
        for name, depth in celery_queue_depths().items():
            queue.add_metric([name], depth)
        yield queue


def celery_queue_depths() -> dict[str, int]:
    names = [getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")]
    try:
        return {name: int(redis_sync().llen(name)) for name in names}
    except REDIS_ERRORS:
        return dict.fromkeys(names, -1)


def metrics_render() -> tuple[bytes, str]:
    """The exposition text of every process's metrics plus the shared gauges, and its content type."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(SharedStateCollector())
    return generate_latest(registry), CONTENT_TYPE_LATEST


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.INFERGATE.get("METRICS_TOKEN") or ""
    if token and not hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {token}"):
        return error_response(UnauthorizedError("/metrics needs 'Authorization: Bearer <INFERGATE_METRICS_TOKEN>'",
                                                headers={"WWW-Authenticate": "Bearer"}))
    body, content_type = metrics_render()
    return HttpResponse(body, content_type=content_type)
