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
from inference.deployments import Group, group_report, groups_of, registered_sync, states_read_sync
from inference.usage.stream import usage_backlog_sync, usage_stream_depth
from tenancy.accounts.models import Namespace
from tenancy.accounts.namespace_settings import aliases_of


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
        yield from deployment_metrics()
        queue = GaugeMetricFamily("infergate_celery_queue_depth", "Tasks waiting in a Celery queue "
                                  "(-1: Redis unavailable)", labels=["queue"])
        for name, depth in celery_queue_depths().items():
            queue.add_metric([name], depth)
        yield queue


def deployment_metrics() -> Any:
    """Each deployment's shared state (inference/deployments.py), labelled by namespace id, alias and deployment id
    (names a namespace's admin chose, bounded by its settings): nothing when Redis is unavailable."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    labels = ["namespace", "alias", "deployment"]
    requests = CounterMetricFamily("infergate_deployment_requests", "Calls a deployment answered or failed", labels=labels)
    errors = CounterMetricFamily("infergate_deployment_errors", "Calls a deployment failed", labels=labels)
    latency = GaugeMetricFamily("infergate_deployment_latency_ms", "Moving average of a deployment's answer time "
                                "(to the first text for streams)", labels=labels)
    inflight = GaugeMetricFamily("infergate_deployment_inflight", "Calls under way on a deployment", labels=labels)
    breaker = GaugeMetricFamily("infergate_deployment_breaker_state", "0 closed, 1 half-open, 2 open", labels=labels)
    try:
        for group in deployment_groups_used():
            for item in group_report(group, states_read_sync(group))["deployments"]:
                values = [group.namespace_id, group.alias, item["id"]]
                requests.add_metric(values, item["requests"])
                errors.add_metric(values, item["errors"])
                latency.add_metric(values, item["latency_ms"] or 0.0)
                inflight.add_metric(values, item["inflight"])
                breaker.add_metric(values, BREAKER_VALUES[item["state"]])
    except REDIS_ERRORS:
        return
    yield from (requests, errors, latency, inflight, breaker)


BREAKER_VALUES = {"closed": 0, "half_open": 1, "open": 2}


def deployment_groups_used() -> list[Group]:
    """The groups of the deployments that have been used, as their namespaces now configure them."""
    used = registered_sync()
    groups = []
    for namespace_id in sorted({namespace_id for namespace_id, _, _ in used}):
        routing = Namespace.objects.filter(id=namespace_id).values_list("routing", flat=True).first()
        groups += groups_of(namespace_id, aliases_of(routing))
    return groups


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
