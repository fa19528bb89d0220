"""What every dashboard page shares: its context and the mapping of service errors onto forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from core.errors import InfergateError, ValidationError
from playground.web.dashboard.access import memberships_list

PAGE_SIZE = 20


def page_render(request: HttpRequest, template: str, *, tab: str, http_status: int = 200, **context: Any) -> HttpResponse:
    response = render(request, template, {"section": "dashboard", "tab": tab, "seat": request.seat,
                                          "memberships": memberships_list(user=request.user), **context},
                      status=http_status)
    return response


def paginate(request: HttpRequest, items, *, per_page: int = PAGE_SIZE) -> Page:
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def service_errors_to_form(form: forms.Form, error: InfergateError) -> None:
    """A service's refusal shown on the form: each problem on its field where the form has one."""
    problems = error.problems if isinstance(error, ValidationError) else [{"field": None, "problem": error.message}]
    for problem in problems:
        field = problem.get("field")
        form.add_error(field if field in form.fields else None, problem["problem"])


@login_required
def dashboard_home(request: HttpRequest) -> HttpResponse:
    """The first organization the user belongs to, or a page that says they belong to none."""
    memberships = memberships_list(user=request.user)
    if memberships:
        return redirect("dashboard:keys", org=memberships[0].organization_id)
    return render(request, "dashboard/no_organization.html", {"section": "dashboard"}, status=403)
