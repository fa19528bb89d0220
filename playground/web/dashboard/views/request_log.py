"""A namespace's request log (inference/usage/bodies.py): the admin's toggle and retention on the namespace's page,
and Open in playground from the recent requests, which puts a logged body back into the playground with its target
(a saved prompt's call as that prompt's version, media placeholders listed there and not sent)."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from core.errors import InfergateError, ValidationError
from inference.api.anthropic_compat.translate import native_body
from inference.api.openai_compat.responses import responses_request_parse
from inference.usage.bodies import request_log_settings_update, request_logged
from inference.usage.models import UsageRecord
from playground.web.dashboard.access import dashboard_view
from playground.web.dashboard.views.namespaces import namespace_of


@require_POST
@dashboard_view(admin=True)
def request_log_update_view(request: HttpRequest, namespace_id: str) -> HttpResponse:
    namespace = namespace_of(request, namespace_id)
    days = request.POST.get("retention_days", "").strip()
    changes = {"enabled": request.POST.get("enabled") == "on",
               "retention_days": int(days) if days.isascii() and days.isdigit() and len(days) < 6 else days}
    try:
        saved = request_log_settings_update(namespace_id=namespace.id, changes=changes)
    except ValidationError as error:
        messages.error(request, "Request logging is unchanged: " + "; ".join(
            f"{p['field'].replace('_', ' ')}: {p['problem']}" for p in error.problems))
    else:
        messages.success(request, f"Request logging of “{namespace.name}” is "
                                  f"{'on, for ' + str(saved['retention_days']) + ' days' if saved['enabled'] else 'off'}.")
    response = redirect("dashboard:namespace", org=request.seat.organization.id, namespace_id=namespace.id)
    response["Location"] += "#request-log"
    return response


def native_of(logged: dict[str, Any]) -> dict[str, Any]:
    """The native body of a logged request, for the playground: as sent to /v1/inference, or translated from the
    OpenAI or Anthropic format it was sent in."""
    body = logged["body"]
    if not (isinstance(body, dict) and set(body) == {"format", "body"} and isinstance(body["body"], dict)):
        return body
    sent, wire = body["body"], body["format"]
    if wire.startswith("anthropic."):
        native, _ = native_body(sent)
        provider, slash, model = str(sent.get("model", "")).partition("/")
        native.update({"provider": provider, "model": model} if slash else {"provider": "anthropic", "model": provider})
        return native
    if wire == "openai.responses":
        return responses_request_parse(sent, {}).body
    raise ValidationError([{"field": "body", "problem": f"a {wire} request does not open in the playground"}])


def playground_url(*, namespace_id: str, namespace_name: str, body: dict[str, Any]) -> str:
    """The playground with this body, in the share-link form its script reads (the fragment is never sent)."""
    token = base64.urlsafe_b64encode(json.dumps({"namespace": namespace_name, "body": body}).encode()).decode()
    return f"{reverse('playground')}?{urlencode({'namespace': namespace_id})}#request={token.rstrip('=')}"


@require_GET
@dashboard_view(admin=True)
def request_open_view(request: HttpRequest, namespace_id: str, request_id: str) -> HttpResponse:
    namespace = namespace_of(request, namespace_id)
    logged = request_logged(namespace_id=namespace.id, request_id=request_id)
    if logged is None:
        messages.error(request, f"No body is kept for request {request_id[:128]}: the namespace did not log it, "
                                "or its retention has passed.")
        return redirect("dashboard:usage", org=request.seat.organization.id)
    try:
        body = native_of(logged)
    except InfergateError as error:
        messages.error(request, f"Request {request_id[:128]} cannot be opened in the playground: {error.message}")
        return redirect("dashboard:usage", org=request.seat.organization.id)
    called = body.get("prompt") if isinstance(body, dict) else None
    if isinstance(called, dict):  # a saved prompt's call: the version its usage record names, with its variables
        version = (UsageRecord.objects.filter(namespace_id=namespace.id, request_id=logged["request_id"])
                   .exclude(prompt_version=None).values_list("prompt_version", flat=True).first())
        if version:
            called = {key: value for key, value in called.items() if key != "label"} | {"version": version}
        body = {**body, "prompt": called}
    return redirect(playground_url(namespace_id=namespace.id, namespace_name=namespace.name, body=body))
