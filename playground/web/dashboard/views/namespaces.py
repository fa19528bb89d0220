"""Namespaces: list and create; one namespace's page (rename, limits, delete); its credentials and plugins
are in ``namespace_settings``, its routing and deployments in ``deployments``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from core.errors import InfergateError
from inference.usage.bodies import request_log_settings
from playground.web.dashboard.access import dashboard_view
from playground.web.dashboard.forms import (
    CacheSettingsForm,
    CredentialForm,
    NamedCredentialForm,
    NamespaceLimitsForm,
    NamespaceNameForm,
    RoutingForm,
    routing_text,
)
from playground.web.dashboard.selectors import (
    namespace_cache,
    namespace_credentials,
    namespace_delete_impact,
    namespace_deployments,
    namespace_list,
    namespace_plugins,
)
from playground.web.dashboard.views.common import page_render, paginate, service_errors_to_form
from tenancy.accounts.models import Namespace
from tenancy.accounts.services import namespace_create, namespace_delete, namespace_limits_update, namespace_rename
from tenancy.credentials.services import providers_with_keys


@dashboard_view()
def namespaces_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request)


def _list_page(request: HttpRequest, create_form: forms.Form | None = None) -> HttpResponse:
    namespaces = paginate(request, namespace_list(organization=request.seat.organization))
    return page_render(request, "dashboard/namespaces/list.html", tab="namespaces", namespaces=namespaces,
                       create_form=create_form or NamespaceNameForm(),
                       http_status=400 if create_form is not None else 200)


@require_POST
@dashboard_view(admin=True)
def namespace_create_view(request: HttpRequest) -> HttpResponse:
    form = NamespaceNameForm(request.POST)
    if form.is_valid():
        try:
            namespace = namespace_create(organization=request.seat.organization, name=form.cleaned_data["name"])
        except InfergateError as error:
            service_errors_to_form(form, error)
        else:
            messages.success(request, f"Namespace “{namespace.name}” is created. Set a provider key to start calling it.")
            return redirect("dashboard:namespace", org=request.seat.organization.id, namespace_id=namespace.id)
    return _list_page(request, create_form=form)


def namespace_of(request: HttpRequest, namespace_id: str) -> Namespace:
    return get_object_or_404(Namespace, pk=namespace_id, organization=request.seat.organization)


def namespace_page(request: HttpRequest, namespace: Namespace, *, bound: dict[str, Any] | None = None,
                   plugin_errors: dict[str, dict[str, str]] | None = None,
                   plugin_posted: dict[str, dict[str, str]] | None = None,
                   routing_problems: list[dict[str, str]] | None = None) -> HttpResponse:
    """The namespace's page; ``bound`` replaces one of its forms by the one just posted, with its errors;
    ``plugin_errors`` and ``plugin_posted`` do the same for a plugin's parameters, ``routing_problems`` lists
    what the settings service found wrong in the routing just posted, by field path."""
    bound = bound or {}
    credentials = namespace_credentials(namespace=namespace)
    for item in credentials["defaults"]:
        item["form"] = bound.get(f"credential:{item['provider']}") or CredentialForm(prefix=item["provider"])
    plugins = namespace_plugins(namespace=namespace)
    for plugin in plugins:
        plugin["errors"] = (plugin_errors or {}).get(plugin["inference_name"], {})
        current = (plugin_posted or {}).get(plugin["inference_name"]) or plugin["enabled_parameters"] or {}
        for parameter in plugin["parameters"]:
            parameter["value"] = current.get(parameter["name"], "")
            parameter["error"] = plugin["errors"].get(parameter["name"], "")
    limits = bound.get("limits") or NamespaceLimitsForm(initial={
        "rate_limit_rpm": namespace.rate_limit_rpm, "rate_limit_tpm": namespace.rate_limit_tpm,
        "monthly_budget_usd": namespace.monthly_budget_usd})
    cache = namespace_cache(namespace=namespace)
    cache_form = bound.get("cache") or CacheSettingsForm(initial=cache["stored"])
    routing_json = routing_text(namespace.routing or {})
    timeout = namespace.provider_timeout_seconds
    routing_form = bound.get("routing") or RoutingForm(initial={
        "routing": routing_json, "provider_timeout_seconds": f"{timeout:g}" if timeout is not None else None})
    return page_render(
        request, "dashboard/namespaces/detail.html", tab="namespaces", namespace=namespace,
        rename_form=bound.get("rename") or NamespaceNameForm(initial={"name": namespace.name}),
        limits_form=limits, cache=cache, cache_form=cache_form, credentials=credentials,
        named_credential_form=bound.get("named_credential") or NamedCredentialForm(providers=providers_with_keys()),
        plugins=plugins, deployments=namespace_deployments(namespace=namespace),
        request_log=request_log_settings(namespace.id),
        routing_form=routing_form, routing_json=routing_json, routing_problems=routing_problems or [],
        routing_rows=min(max(str(routing_form["routing"].value() or "").count("\n") + 2, 8), 30),
        default_timeout=settings.INFERGATE["PROVIDER_TIMEOUT_SECONDS"],
        impact=namespace_delete_impact(namespace=namespace) if request.seat.is_admin else None,
        http_status=400 if bound or plugin_errors or routing_problems else 200)


@dashboard_view()
def namespace_detail(request: HttpRequest, namespace_id: str) -> HttpResponse:
    return namespace_page(request, namespace_of(request, namespace_id))


@require_POST
@dashboard_view(admin=True)
def namespace_rename_view(request: HttpRequest, namespace_id: str) -> HttpResponse:
    namespace = namespace_of(request, namespace_id)
    form = NamespaceNameForm(request.POST)
    if form.is_valid():
        old = namespace.name
        try:
            namespace_rename(namespace=namespace, name=form.cleaned_data["name"])
        except InfergateError as error:
            service_errors_to_form(form, error)
        else:
            messages.success(request, f"Renamed “{old}” to “{namespace.name}”. Clients that send X-Namespace: {old} "
                                      f"must send the new name or the id {namespace.id}.")
            return redirect("dashboard:namespace", org=request.seat.organization.id, namespace_id=namespace.id)
    namespace.refresh_from_db()
    return namespace_page(request, namespace, bound={"rename": form})


@require_POST
@dashboard_view(admin=True)
def namespace_limits_view(request: HttpRequest, namespace_id: str) -> HttpResponse:
    namespace = namespace_of(request, namespace_id)
    form = NamespaceLimitsForm(request.POST)
    if form.is_valid():
        try:
            namespace_limits_update(namespace=namespace, **form.cleaned_data)
        except InfergateError as error:
            service_errors_to_form(form, error)
        else:
            messages.success(request, "Limits saved.")
            return redirect("dashboard:namespace", org=request.seat.organization.id, namespace_id=namespace.id)
    return namespace_page(request, namespace, bound={"limits": form})


@require_POST
@dashboard_view(admin=True)
def namespace_delete_view(request: HttpRequest, namespace_id: str) -> HttpResponse:
    namespace = namespace_of(request, namespace_id)
    name = namespace.name
    namespace_delete(namespace=namespace)
    messages.success(request, f"Namespace “{name}” is deleted, with its credentials, plugins and usage history.")
    return redirect("dashboard:namespaces", org=request.seat.organization.id)
