"""A namespace's routing (aliases, their deployments, fallbacks) and provider timeout, saved through the same
service as ``PATCH /v1/namespaces/{ns}``; and closing a deployment's circuit breaker by hand."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from core.errors import ValidationError
from core.redis import ERRORS as REDIS_ERRORS
from inference.api.deployments import deployment_find
from inference.deployments import breaker_reset
from playground.web.dashboard.access import dashboard_view
from playground.web.dashboard.forms import RoutingForm
from playground.web.dashboard.views.namespaces import namespace_of, namespace_page
from tenancy.accounts.authentication import namespace_record
from tenancy.accounts.services import namespace_settings_update


def _back(request: HttpRequest, namespace_id: str, anchor: str) -> HttpResponse:
    response = redirect("dashboard:namespace", org=request.seat.organization.id, namespace_id=namespace_id)
    response["Location"] += f"#{anchor}"
    return response


@require_POST
@dashboard_view(admin=True)
def routing_update_view(request: HttpRequest, namespace_id: str) -> HttpResponse:
    namespace = namespace_of(request, namespace_id)
    form = RoutingForm(request.POST)
    if form.is_valid():
        try:
            namespace_settings_update(namespace=namespace, changes=form.cleaned_data)
        except ValidationError as error:
            namespace.refresh_from_db()  # the service changed nothing; show what is stored beside what was sent
            for problem in error.problems:
                if problem["field"] in form.fields:
                    form.add_error(problem["field"], problem["problem"])
            listed = [p for p in error.problems if p["field"] not in form.fields]
            return namespace_page(request, namespace, bound={"routing": form}, routing_problems=listed)
        messages.success(request, f"The routing of “{namespace.name}” is saved; every node uses it within seconds.")
        return _back(request, namespace.id, "deployments")
    return namespace_page(request, namespace, bound={"routing": form})


@require_POST
@dashboard_view(admin=True)
def breaker_reset_view(request: HttpRequest, namespace_id: str, alias: str, deployment: str) -> HttpResponse:
    namespace = namespace_of(request, namespace_id)
    located = deployment_find(namespace_record(namespace), alias, deployment)
    if located is None:
        raise Http404("No such deployment")
    group, found = located
    try:
        breaker_reset(group, found)
    except REDIS_ERRORS:
        messages.error(request, "Redis, where the breakers are kept, is unavailable: nothing changed. Retry shortly.")
    else:
        messages.success(request, f"The breaker of {alias}/{deployment} is closed: it takes calls again.")
    return _back(request, namespace.id, "deployments")
