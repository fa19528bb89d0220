"""``/v1/namespaces/{namespace}/request-log`` and ``.../requests/{request_id}``: whether the namespace keeps its
requests' bodies (off unless turned on; GET needs ``read``, PATCH ``admin``), and one logged request's body and
answer (``admin``: bodies are what clients wrote). Storage and privacy: inference/usage/bodies.py, docs/usage.md."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFoundError
from inference.usage.bodies import request_log_settings, request_log_settings_update, request_logged
from tenancy.accounts.authentication import NamespacePathAuthentication
from tenancy.accounts.models import Permission


class RequestLogView(APIView):
    authentication_classes = [NamespacePathAuthentication]

    def get(self, request: Request, namespace: str) -> Response:
        request.auth.require(Permission.READ)
        return Response({"namespace": request.auth.namespace.id, **request_log_settings(request.auth.namespace.id)})

    def patch(self, request: Request, namespace: str) -> Response:
        request.auth.require(Permission.ADMIN)
        found = request_log_settings_update(namespace_id=request.auth.namespace.id, changes=request.data)
        return Response({"namespace": request.auth.namespace.id, **found})


class RequestBodyView(APIView):
    authentication_classes = [NamespacePathAuthentication]

    def get(self, request: Request, namespace: str, request_id: str) -> Response:
        request.auth.require(Permission.ADMIN)
        found = request_logged(namespace_id=request.auth.namespace.id, request_id=request_id)
        if found is None:
            raise NotFoundError("No logged body for that request in this namespace (logging off, retention past, "
                                "or another namespace's request)",
                                details={"resource": "request_body", "request_id": request_id[:128]})
        return Response(found)
