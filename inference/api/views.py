"""Thin HTTP views: read the request, call one service, shape the response."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from inference.api.errors import error_response
from inference.api.openapi import openapi_document
from inference.errors import (InfergateError, MethodNotAllowedError, NotFoundError, PayloadTooLargeError,
                              UnsupportedMediaTypeError)
from inference.health import readiness_check
from inference.request import body_decode
from inference.service import Credentials, inference_run


def _http_body(request: HttpRequest) -> Any:
    content_type = request.content_type or ""
    if content_type != "application/json":
        raise UnsupportedMediaTypeError(f"Content-Type must be application/json, not {content_type or 'missing'!r}")
    limit = settings.INFERGATE["MAX_BODY_BYTES"]
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise PayloadTooLargeError(f"Request body is larger than {limit} bytes", details={"limit_bytes": limit})
    try:
        raw = request.body
    except RequestDataTooBig:
        raise PayloadTooLargeError(f"Request body is larger than {limit} bytes", details={"limit_bytes": limit}) from None
    return body_decode(raw)


@csrf_exempt
async def inference(request: HttpRequest) -> HttpResponse:
    started = time.perf_counter()
    if request.method != "POST":
        return error_response(MethodNotAllowedError("Use POST", headers={"Allow": "POST"}))
    credentials = Credentials(authorization=request.headers.get("Authorization"),
                              namespace=request.headers.get("X-Namespace"))
    try:
        response = await inference_run(credentials=credentials, body=lambda: _http_body(request),
                                       request_id=request.request_id, started=started)
    except InfergateError as error:
        return error_response(error)
    return JsonResponse(response)


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


def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    return error_response(NotFoundError(f"No route for {request.method} {request.path}",
                                        details={"path": request.path}))
