"""A namespace's provider credentials (write-only), enabled plugins and semantic cache, each changed through
its own service."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from core.errors import InfergateError, NotFoundError, ValidationError
from inference.cache.selectors import cache_settings_update
from inference.cache.store import scope_clear
from inference.plugins.registry import plugin_registry
from inference.plugins.services import plugin_disable, plugin_enable
from playground.web.dashboard.access import dashboard_view
from playground.web.dashboard.forms import (
    CacheSettingsForm,
    CredentialForm,
    NamedCredentialForm,
    plugin_parameters_parse,
)
from playground.web.dashboard.views.common import service_errors_to_form
from playground.web.dashboard.views.namespaces import namespace_of, namespace_page
from tenancy.credentials.services import credential_delete, credential_set, providers_with_keys


def _back(request: HttpRequest, namespace_id: str, anchor: str) -> HttpResponse:
    response = redirect("dashboard:namespace", org=request.seat.organization.id, namespace_id=namespace_id)
    response["Location"] += f"#{anchor}"
    return response


@require_POST
@dashboard_view(admin=True)
def credential_set_view(request: HttpRequest, namespace_id: str, provider: str) -> HttpResponse:
    namespace = namespace_of(request, namespace_id)
    form = CredentialForm(request.POST, prefix=provider)
    if form.is_valid():
        try:
            credential_set(namespace=namespace, provider=provider, fields=form.cleaned_data)
        except InfergateError as error:
            if isinstance(error, NotFoundError):
                raise  # a provider that takes no key: not a form problem
            service_errors_to_form(form, error)
        else:
            messages.success(request, f"The {provider} key of “{namespace.name}” is saved (encrypted; it cannot be read back).")
            return _back(request, namespace.id, "credentials")
    return namespace_page(request, namespace, bound={f"credential:{provider}": form})


@require_POST
@dashboard_view(admin=True)
def credential_delete_view(request: HttpRequest, namespace_id: str, provider: str) -> HttpResponse:
    namespace = namespace_of(request, namespace_id)
    if credential_delete(namespace=namespace, provider=provider):
        messages.success(request, f"The {provider} key of “{namespace.name}” is deleted: calls to {provider} now "
                                  "answer 503 until a key is set.")
    return _back(request, namespace.id, "credentials")


@require_POST
@dashboard_view(admin=True)
def named_credential_set_view(request: HttpRequest, namespace_id: str) -> HttpResponse:
    """A credential under a name (``east``) that deployments refer to; an empty name sets the default one."""
    namespace = namespace_of(request, namespace_id)
    form = NamedCredentialForm(request.POST, providers=providers_with_keys())
    if form.is_valid():
        provider, name = form.cleaned_data["provider"], form.cleaned_data["name"]
        try:
            credential_set(namespace=namespace, provider=provider, name=name,
                           fields={"api_key": form.cleaned_data["api_key"]})
        except InfergateError as error:
            service_errors_to_form(form, error)
        else:
            what = f"The {provider} key “{name}”" if name else f"The {provider} key"
            messages.success(request, f"{what} of “{namespace.name}” is saved (encrypted; it cannot be read back).")
            return _back(request, namespace.id, "credentials")
    return namespace_page(request, namespace, bound={"named_credential": form})


@require_POST
@dashboard_view(admin=True)
def named_credential_delete_view(request: HttpRequest, namespace_id: str, provider: str, name: str) -> HttpResponse:
    namespace = namespace_of(request, namespace_id)
    try:
        deleted = credential_delete(namespace=namespace, provider=provider, name=name)
    except ValidationError:
        raise Http404("No such credential") from None
    if deleted:
        messages.success(request, f"The {provider} key “{name}” of “{namespace.name}” is deleted: deployments that "
                                  "name it answer 503 and the next one is tried, until it is set again.")
    return _back(request, namespace.id, "credentials")


@require_POST
@dashboard_view(admin=True)
def plugin_enable_view(request: HttpRequest, namespace_id: str, inference_name: str) -> HttpResponse:
    namespace = namespace_of(request, namespace_id)
    installed = plugin_registry().require(inference_name)  # 404 for a plugin that is not installed
    declared = list(installed.spec.parameters)
    posted = {p.name: request.POST.get(f"param-{p.name}", "") for p in declared}
    values, problems = plugin_parameters_parse(declared, posted)
    if not problems:
        try:
            _, created = plugin_enable(namespace_id=namespace.id, inference_name=inference_name, parameters=values)
        except InfergateError as error:
            problems = _plugin_problems(error)
        else:
            messages.success(request, f"{inference_name} is {'enabled' if created else 'updated'} in “{namespace.name}”.")
            return _back(request, namespace.id, "plugins")
    return namespace_page(request, namespace, plugin_errors={inference_name: problems},
                          plugin_posted={inference_name: posted})


def _plugin_problems(error: InfergateError) -> dict[str, str]:
    problems = getattr(error, "problems", None) or [{"field": "", "problem": error.message}]
    return {p["field"].removeprefix("parameters."): p["problem"] for p in problems}


@require_POST
@dashboard_view(admin=True)
def plugin_disable_view(request: HttpRequest, namespace_id: str, inference_name: str) -> HttpResponse:
    namespace = namespace_of(request, namespace_id)
    try:
        plugin_disable(namespace_id=namespace.id, inference_name=inference_name)
    except NotFoundError:
        pass  # already disabled: the page shows it so
    else:
        messages.success(request, f"{inference_name} is disabled in “{namespace.name}”.")
    return _back(request, namespace.id, "plugins")


@require_POST
@dashboard_view(admin=True)
def cache_settings_view(request: HttpRequest, namespace_id: str) -> HttpResponse:
    namespace = namespace_of(request, namespace_id)
    form = CacheSettingsForm(request.POST)
    if not form.is_valid():
        return namespace_page(request, namespace, bound={"cache": form})
    cache_settings_update(namespace_id=namespace.id, changes=form.cleaned_data)
    messages.success(request, f"Cache settings of “{namespace.name}” are saved.")
    return _back(request, namespace.id, "cache")


@require_POST
@dashboard_view(admin=True)
def cache_clear_view(request: HttpRequest, namespace_id: str) -> HttpResponse:
    namespace = namespace_of(request, namespace_id)
    cleared = scope_clear(namespace_id=namespace.id)
    messages.success(request, f"The cache of “{namespace.name}” is cleared: {cleared['entries']} "
                              f"entr{'y' if cleared['entries'] == 1 else 'ies'} in {cleared['scopes']} "
                              f"scope{'' if cleared['scopes'] == 1 else 's'}, with what the policy learnt about them.")
    return _back(request, namespace.id, "cache")
