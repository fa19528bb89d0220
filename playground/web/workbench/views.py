"""The browser playground (/playground) and the JSON its script reads, for signed-in organization members
(Django session; writes need the CSRF token). Inference itself never goes through these views: the page
mints a websocket ticket (POST /v1/inference/stream/tickets) and runs every request on
/v1/inference/stream, so /v1/inference keeps accepting API keys only."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.errors import InfergateError, MethodNotAllowedError, UnauthorizedError, ValidationError
from inference.api.catalog import catalog_list
from inference.api.errors import error_response
from inference.request import body_decode
from playground.web.workbench.runs import namespace_of, namespaces_of, run_describe, run_record, runs_recent


@login_required
@require_GET
def playground_page(request: HttpRequest) -> HttpResponse:
    return render(request, "playground/playground.html",
                  {"section": "playground", "namespaces": namespaces_of(user=request.user)})


def _json_view(*methods: str):
    """Session-only JSON: 401 in the error envelope for an anonymous caller (never a login redirect), a
    method it does not serve 405, InfergateErrors as their envelope."""

    def decorate(handler):
        def view(request: HttpRequest) -> HttpResponse:
            if request.method not in methods:
                return error_response(MethodNotAllowedError(f"Use {' or '.join(methods)}",
                                                            headers={"Allow": ", ".join(methods)}))
            if not request.user.is_authenticated:
                return error_response(UnauthorizedError("Sign in first: the playground's data is for browser sessions"))
            try:
                return JsonResponse(handler(request))
            except InfergateError as error:
                return error_response(error)

        view.__name__ = handler.__name__
        view.__doc__ = handler.__doc__
        return view

    return decorate


@_json_view("GET")
def playground_models(request: HttpRequest) -> dict:
    """GET /playground/models?namespace=...: what GET /v1/models lists for that namespace, but its aliases (the
    playground composes a request for a provider/model, a plugin or a feature URI)."""
    namespace = namespace_of(user=request.user, reference=request.GET.get("namespace"))
    return {"object": "list", "data": [item for item in catalog_list(namespace_id=namespace.id)
                                       if item["kind"] != "alias"]}


@_json_view("GET", "POST")
def playground_runs(request: HttpRequest) -> dict:
    """GET: the user's recent runs in ?namespace=; POST {namespace, request_id, body[, refused]}: keep a run."""
    if request.method == "GET":
        return {"data": runs_recent(user=request.user, namespace=request.GET.get("namespace"))}
    payload = body_decode(request.body)
    if not isinstance(payload, dict):
        raise ValidationError([{"field": "body", "problem": "must be a JSON object"}])
    run = run_record(user=request.user, namespace=payload.get("namespace"), request_id=payload.get("request_id", ""),
                     body=payload.get("body"), refused=payload.get("refused"))
    return run_describe(run, None)
