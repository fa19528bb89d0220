"""``/v1/namespaces/{namespace}``: a namespace's settings. GET needs ``read``; PATCH (``routing``,
``provider_timeout_seconds``) needs ``admin``. The namespace in the path is an ``ns_...`` id or a name,
checked against the key's scope like ``X-Namespace``."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tenancy.accounts.authentication import NamespacePathAuthentication
from tenancy.accounts.models import Namespace, Permission
from tenancy.accounts.services import namespace_settings_update


def namespace_out(namespace: Namespace) -> dict[str, Any]:
    return {"id": namespace.id, "name": namespace.name, "routing": namespace.routing or {},
            "provider_timeout_seconds": namespace.provider_timeout_seconds}


class NamespaceView(APIView):
    authentication_classes = [NamespacePathAuthentication]

    def get(self, request: Request, namespace: str) -> Response:
        request.auth.require(Permission.READ)
        return Response(namespace_out(request.auth.namespace_row()))

    def patch(self, request: Request, namespace: str) -> Response:
        request.auth.require(Permission.ADMIN)
        updated = namespace_settings_update(namespace=request.auth.namespace_row(),
                                            changes=request.data)
        return Response(namespace_out(updated))
