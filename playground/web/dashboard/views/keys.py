"""API keys: list, create (the secret shown once), revoke, rotate."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from core.errors import InfergateError
from playground.web.dashboard.access import dashboard_view
from playground.web.dashboard.forms import KeyCreateForm
from playground.web.dashboard.selectors import KEY_STATUSES, api_key_list
from playground.web.dashboard.views.common import page_render, paginate, service_errors_to_form
from tenancy.accounts.models import ApiKey
from tenancy.accounts.services import CreatedKey, api_key_create, api_key_revoke, api_key_rotate


@dashboard_view()
def keys_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    status = status if status in KEY_STATUSES else ""
    keys = paginate(request, api_key_list(organization=request.seat.organization, status=status))
    return page_render(request, "dashboard/keys/list.html", tab="keys", keys=keys, status=status,
                       statuses=KEY_STATUSES)


@never_cache
@dashboard_view(admin=True)
def key_create(request: HttpRequest) -> HttpResponse:
    organization = request.seat.organization
    form = KeyCreateForm(request.POST or None, organization=organization)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = api_key_create(organization=organization, name=data["name"], permissions=data["permissions"],
                                     namespaces=list(data["namespaces"]), expires_at=form.expires_at(),
                                     rate_limit_rpm=data["rate_limit_rpm"], rate_limit_tpm=data["rate_limit_tpm"])
        except InfergateError as error:
            service_errors_to_form(form, error)
        else:
            return _secret_once(request, created, rotated_from=None)
    return page_render(request, "dashboard/keys/new.html", tab="keys", form=form,
                       http_status=400 if form.errors else 200)


def _key_of(request: HttpRequest, key_id: int) -> ApiKey:
    return get_object_or_404(ApiKey, pk=key_id, organization=request.seat.organization)


@require_POST
@dashboard_view(admin=True)
def key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    key = api_key_revoke(key=_key_of(request, key_id))
    messages.success(request, f"Key “{key.name}” ({key.prefix}…) is revoked: requests with it now get 401.")
    return redirect("dashboard:keys", org=request.seat.organization.id)


@never_cache
@require_POST
@dashboard_view(admin=True)
def key_rotate(request: HttpRequest, key_id: int) -> HttpResponse:
    old = _key_of(request, key_id)
    try:
        created = api_key_rotate(key=old)
    except InfergateError as error:
        messages.error(request, error.message)
        return redirect("dashboard:keys", org=request.seat.organization.id)
    return _secret_once(request, created, rotated_from=old)


def _secret_once(request: HttpRequest, created: CreatedKey, *, rotated_from: ApiKey | None) -> HttpResponse:
    """The only response that ever carries the secret; never cached, never stored."""
    response = page_render(request, "dashboard/keys/created.html", tab="keys", key=created.key,
                           secret=created.secret, rotated_from=rotated_from, http_status=201)
    response["Cache-Control"] = "no-store"
    return response
