"""``/v1/namespaces/{namespace}/credentials``: provider credentials of a namespace, write-only.

GET lists which providers have credentials set (field names and dates, never values; needs ``read``);
PUT ``.../{provider}`` sets or replaces them and DELETE removes them (both need ``admin``);
``.../{provider}/{name}`` does the same for a named credential (several per provider: one per key, region or
account, for deployments). The namespace in the path is an ``ns_...`` id or a name, checked against the key's
scope like ``X-Namespace``.
"""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFoundError
from tenancy.accounts.authentication import NamespacePathAuthentication
from tenancy.accounts.models import Permission
from tenancy.credentials.selectors import credential_list
from tenancy.credentials.services import credential_delete, credential_set, providers_with_keys


class CredentialsView(APIView):
    authentication_classes = [NamespacePathAuthentication]

    def get(self, request: Request, namespace: str) -> Response:
        request.auth.require(Permission.READ)
        items = credential_list(namespace_id=request.auth.namespace.id, providers=providers_with_keys())
        return Response({"namespace": request.auth.namespace.id, "data": items})


class CredentialView(APIView):
    authentication_classes = [NamespacePathAuthentication]

    def put(self, request: Request, namespace: str, provider: str, name: str = "") -> Response:
        request.auth.require(Permission.ADMIN)
        credential = credential_set(namespace=request.auth.namespace_row(), provider=provider, fields=request.data,
                                    name=name)
        return Response({"provider": provider, "name": name, "set": True, "fields": credential.fields,
                         "updated_at": credential.updated_at.isoformat()})

    def delete(self, request: Request, namespace: str, provider: str, name: str = "") -> Response:
        request.auth.require(Permission.ADMIN)
        if not credential_delete(namespace=request.auth.namespace_row(), provider=provider, name=name):
            raise NotFoundError(f"No {provider} credentials{' named ' + repr(name) if name else ''} are set in this "
                                "namespace", details={"resource": "credential", "provider": provider, "name": name})
        return Response(status=204)
