"""Thin HTTP views: read the request, call one service, shape the response. (POST /v1/inference is
served by inference.api.endpoint, straight from ASGI.)"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.csrf import csrf_exempt

from core.errors import ForbiddenError, NotFoundError
from inference.api.errors import error_response
from inference.api.openapi import openapi_document
from inference.health import readiness_check


async def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


async def readyz(request: HttpRequest) -> HttpResponse:
    checks = await readiness_check()
    ready = all(check["ok"] for check in checks.values())
    return JsonResponse({"status": "ready" if ready else "not ready", "checks": checks}, status=200 if ready else 503)


def openapi_json(request: HttpRequest) -> HttpResponse:
    return JsonResponse(openapi_document(), json_dumps_params={"indent": 2})


def reference(request: HttpRequest) -> HttpResponse:
    return render(request, "reference.html", {"doc": openapi_document()})


@csrf_exempt
def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    return error_response(NotFoundError(f"No route for {request.method} {request.path}",
                                        details={"path": request.path}))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: API routes and the pages' JSON endpoints (the playground's history) answer in the
    envelope; a form post from a page keeps Django's page."""
    if request.path.startswith("/v1/") or request.content_type == "application/json" \
            or "application/json" in request.headers.get("Accept", ""):
        return error_response(ForbiddenError(f"CSRF check failed: {reason}"))
    return django_csrf_failure(request, reason)
