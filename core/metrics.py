"""Prometheus metrics, shared by every worker process through prometheus_client's multiprocess mode.

uvicorn runs one worker process per core and Celery has its own; each process adds to its own
memory-mapped files in ``PROMETHEUS_MULTIPROC_DIR`` (set by settings to ``<data dir>/prometheus`` unless the
environment names one), and ``GET /metrics`` (inference/api/metrics.py) sums them. Recording a
request is a few dictionary updates and ``mmap`` writes in the process (microseconds, no I/O on the hot
path). Gauges that describe shared state (the usage stream, the Celery queue) are read from Redis when
scraped, not stored (inference/api/metrics.py).

What is recorded comes from a request's usage entry (``request_observe``, called by ``usage_record`` where
every request ends, whatever its transport), from the limiter (``limiter_decision``) and from the usage
drain (``usage_dead_lettered``). Labels are bounded
and carry nothing a client wrote: the target labels are the resolved provider and model (blank when the
target was never resolved, e.g. an unknown model name; ``(unpriced)`` for a model no price table knows, since
any id of an open provider is forwarded and a client could otherwise mint series), the route is one of the
served paths.
"""

from __future__ import annotations

import contextvars
from functools import lru_cache
from typing import Any

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
PROVIDER_ERRORS = frozenset({"ProviderError", "TimeoutError", "InferenceServiceUnavailableError"})
LIMITER_DECISIONS = ("admitted", "limited", "fail_open", "fail_closed")

# The route of the connection being served: set by playground.asgi for the paths it routes itself; a
# request from elsewhere (a Celery job, a plugin test) is labelled by its usage entry's endpoint.
current_route: contextvars.ContextVar[str] = contextvars.ContextVar("route", default="")


class _Metrics:
    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram, values

        if values.ValueClass.__name__ != "MmapedValue":  # prometheus_client was imported before settings ran
            values.ValueClass = values.MultiProcessValue()

        self.requests = Counter("infergate_requests_total", "Inference requests answered",
                                ["route", "provider", "model", "status"])
        self.latency = Histogram("infergate_request_duration_seconds", "Inference request latency",
                                 ["route", "provider", "model", "status"], buckets=LATENCY_BUCKETS)
        self.limiter = Counter("infergate_limiter_decisions_total", "Rate limiter decisions", ["decision"])
        self.cache = Counter("infergate_cache_decisions_total", "Semantic cache decisions", ["decision"])
        self.provider_errors = Counter("infergate_provider_errors_total", "Provider failures by class",
                                       ["provider", "error_type"])
        self.dead_lettered = Counter("infergate_usage_dead_lettered_total",
                                     "Usage records PostgreSQL refused, moved to the dead-letter stream")


@lru_cache(maxsize=1)
def metrics() -> _Metrics:
    return _Metrics()


UNPRICED_MODEL = "(unpriced)"


def request_labels(entry: Any) -> tuple[str, str, str, str]:
    """(route, provider, model, status): the target only once it was resolved (the call has a modality), the
    model only when a price table (or our catalog) knows it."""
    resolved = bool(entry.modality)
    model = (entry.model if entry.price_known else UNPRICED_MODEL) if resolved else ""
    return (current_route.get() or entry.endpoint, entry.provider if resolved else "", model, str(entry.status))


def _enabled() -> bool:
    from django.conf import settings

    return settings.INFERGATE.get("METRICS", True)


def request_observe(entry: Any) -> None:
    """Count a finished request (from its usage entry)."""
    if not _enabled():
        return
    m = metrics()
    labels = request_labels(entry)
    m.requests.labels(*labels).inc()
    m.latency.labels(*labels).observe(entry.latency_ms / 1000)
    if entry.cache_decision:
        m.cache.labels(entry.cache_decision).inc()
    if entry.error_type in PROVIDER_ERRORS and labels[1]:
        m.provider_errors.labels(labels[1], entry.error_type).inc()


def limiter_decision(decision: str) -> None:
    if _enabled():
        metrics().limiter.labels(decision).inc()


def usage_dead_lettered() -> None:
    if _enabled():
        metrics().dead_lettered.inc()
