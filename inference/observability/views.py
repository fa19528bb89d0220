"""GET /metrics: Prometheus text format. Open unless ``INFERGATE["METRICS_TOKEN"]`` is set, in which case it
needs ``Authorization: Bearer <token>`` (401 otherwise). It carries counts, latencies and depths only."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from inference.api.errors import error_response
from inference.errors import UnauthorizedError
from inference.observability.metrics import metrics_render


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.INFERGATE.get("METRICS_TOKEN") or ""
    if token and not hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {token}"):
        return error_response(UnauthorizedError("/metrics needs 'Authorization: Bearer <INFERGATE_METRICS_TOKEN>'",
                                                headers={"WWW-Authenticate": "Bearer"}))
    body, content_type = metrics_render()
    return HttpResponse(body, content_type=content_type)
