"""Who may see and change what on the dashboard.

Every page lives under ``/dashboard/<organization id>/``: a signed-in user who is not a member of that
organization gets a 404 (nothing tells them it exists). Members read every page; only admins write
(``dashboard_view(admin=True)`` answers 403 to anyone else)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps
from typing import Callable

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from core.errors import NotFoundError
from tenancy.accounts.models import Membership, Organization


@dataclass(frozen=True)
class Seat:
    """The signed-in user's place in the organization the page is about."""

    organization: Organization
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == Membership.Role.ADMIN


def seat_get(*, user, organization_id: int) -> Seat:
    membership = (Membership.objects.select_related("organization")
                  .filter(user=user, organization_id=organization_id).first())
    if membership is None:
        raise Http404("No such organization")
    return Seat(organization=membership.organization, role=membership.role)


def memberships_list(*, user) -> list[Membership]:
    return list(Membership.objects.select_related("organization").filter(user=user).order_by("organization__name"))


def dashboard_view(*, admin: bool = False) -> Callable:
    """Sign-in required; resolves ``request.seat`` from the URL's ``org``; ``admin``: admins only."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, org: int, *args, **kwargs) -> HttpResponse:
            request.seat = seat_get(user=request.user, organization_id=org)
            if admin and not request.seat.is_admin:
                raise PermissionDenied("Only admins of this organization can change it")
            try:
                return view(request, *args, **kwargs)
            except NotFoundError as error:  # a service's "no such thing" is the page's 404
                raise Http404(error.message) from None

        return wrapped

    return decorate
