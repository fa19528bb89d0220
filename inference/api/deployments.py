"""``/v1/namespaces/{namespace}/deployments``: how each deployment of the namespace's model aliases is doing, as
every node sees it (inference/deployments.py): breaker state, requests, errors, latency, calls in flight and this
minute's use against its capacity. GET needs ``read``; ``POST .../{alias}/{id}/reset`` closes a breaker by hand
(``admin``). The deployments themselves are set with the namespace's ``routing.aliases`` (PATCH the namespace)."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFoundError, ServiceUnavailableError
from core.redis import ERRORS as REDIS_ERRORS
from inference.deployments import Deployment, Group, breaker_reset, group_report, groups_of, states_read_sync
from tenancy.accounts.authentication import NamespacePathAuthentication, NamespaceRecord
from tenancy.accounts.models import Permission


def namespace_groups(namespace: NamespaceRecord) -> list[Group]:
    return groups_of(namespace.id, namespace.aliases)


def deployment_find(namespace: NamespaceRecord, alias: str, deployment: str) -> tuple[Group, Deployment] | None:
    """The group of that alias and its deployment of that id, or None (also the dashboard's)."""
    group = next((g for g in namespace_groups(namespace) if g.alias == alias), None)
    found = next((d for d in group.deployments if d.id == deployment), None) if group else None
    return (group, found) if group is not None and found is not None else None


def deployments_report(namespace: NamespaceRecord) -> list[dict[str, Any]]:
    """Every alias of deployments of the namespace with each deployment's shared state (also the dashboard's)."""
    try:
        return [group_report(group, states_read_sync(group)) for group in namespace_groups(namespace)]
    except REDIS_ERRORS:
        raise ServiceUnavailableError("The deployments' state is kept in Redis, which is unavailable; retry shortly",
                                      headers={"Retry-After": "5"}) from None


class DeploymentsView(APIView):
    authentication_classes = [NamespacePathAuthentication]

    def get(self, request: Request, namespace: str) -> Response:
        request.auth.require(Permission.READ)
        return Response({"namespace": request.auth.namespace.id, "data": deployments_report(request.auth.namespace)})


class DeploymentResetView(APIView):
    authentication_classes = [NamespacePathAuthentication]

    def post(self, request: Request, namespace: str, alias: str, deployment: str) -> Response:
        request.auth.require(Permission.ADMIN)
        located = deployment_find(request.auth.namespace, alias, deployment)
        if located is None:
            raise NotFoundError(f"The namespace has no deployment {deployment!r} of an alias {alias!r}",
                                details={"resource": "deployment", "alias": alias, "deployment": deployment})
        group, found = located
        try:
            breaker_reset(group, found)
            report = group_report(group, states_read_sync(group))
        except REDIS_ERRORS:
            raise ServiceUnavailableError("The deployments' state is kept in Redis, which is unavailable; retry "
                                          "shortly", headers={"Retry-After": "5"}) from None
        return Response(next(d for d in report["deployments"] if d["id"] == deployment))
