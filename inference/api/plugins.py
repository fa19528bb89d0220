"""The plugins of a namespace: ``/v1/namespaces/{namespace}/plugins``.

- ``GET    .../plugins``                       every installed plugin, and whether this namespace enabled it (read)
- ``POST   .../plugins``                       enable one: ``{"inference_name", "parameters"?}`` (write)
- ``GET    .../plugins/{inference_name}``      one plugin (read)
- ``PUT    .../plugins/{inference_name}``      enable it or replace its parameters: ``{"parameters"?}`` (write)
- ``DELETE .../plugins/{inference_name}``      disable it (write)
- ``POST   .../plugins/{inference_name}/test`` run it on sample ``{"inputs", "parameters"?}``, enabled or
                                               not, and answer like POST /v1/inference (read; the
                                               key's limits apply; its usage record says plugin_test)

The namespace (its ``ns_...`` id or name) comes from the path; the key must be allowed to use it.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ValidationError
from inference.plugins.registry import plugin_registry
from inference.plugins.selectors import plugin_describe, plugins_describe
from inference.plugins.services import enabled_plugins, plugin_disable, plugin_enable
from inference.service import PLUGIN_TEST, Credentials, inference_run
from tenancy.accounts.authentication import NamespacePathAuthentication, Principal
from tenancy.accounts.models import Permission


def _body(request: Request, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, Any]:
    body = request.data
    if not isinstance(body, dict):
        raise ValidationError([{"field": "body", "problem": "must be a JSON object"}])
    problems = [{"field": key, "problem": "unknown key"} for key in sorted(set(body) - set(allowed))]
    problems += [{"field": key, "problem": "required"} for key in required if key not in body]
    for key in ("inference_name",):
        if key in body and (not isinstance(body[key], str) or not body[key]):
            problems.append({"field": key, "problem": "must be a non-empty string"})
    for key in ("inputs", "parameters"):
        if key in body and not isinstance(body[key], dict):
            problems.append({"field": key, "problem": "must be an object"})
    if problems:
        raise ValidationError(problems, accepted=list(allowed))
    return body


class _NamespaceView(APIView):
    authentication_classes = [NamespacePathAuthentication]

    def _describe(self, principal: Principal, name: str) -> dict[str, Any]:
        registry = plugin_registry()
        installed = registry.require(name)
        enabled = enabled_plugins(namespace_id=principal.namespace.id)
        return plugin_describe(installed, registry=registry, enabled=enabled.get(name))


class NamespacePluginsView(_NamespaceView):
    def get(self, request: Request, namespace: str) -> Response:
        principal: Principal = request.auth
        principal.require(Permission.READ)
        enabled = enabled_plugins(namespace_id=principal.namespace.id)
        return Response({"object": "list", "namespace": {"id": principal.namespace.id, "name": principal.namespace.name},
                         "data": plugins_describe(registry=plugin_registry(), enabled=enabled)})

    def post(self, request: Request, namespace: str) -> Response:
        principal: Principal = request.auth
        principal.require(Permission.WRITE)
        body = _body(request, ("inference_name", "parameters"), required=("inference_name",))
        _, created = plugin_enable(namespace_id=principal.namespace.id, inference_name=body["inference_name"],
                                   parameters=body.get("parameters"))
        return Response(self._describe(principal, body["inference_name"]), status=201 if created else 200)


class NamespacePluginView(_NamespaceView):
    def get(self, request: Request, namespace: str, inference_name: str) -> Response:
        request.auth.require(Permission.READ)
        return Response(self._describe(request.auth, inference_name))

    def put(self, request: Request, namespace: str, inference_name: str) -> Response:
        principal: Principal = request.auth
        principal.require(Permission.WRITE)
        body = _body(request, ("parameters",))
        _, created = plugin_enable(namespace_id=principal.namespace.id, inference_name=inference_name,
                                   parameters=body.get("parameters"))
        return Response(self._describe(principal, inference_name), status=201 if created else 200)

    def delete(self, request: Request, namespace: str, inference_name: str) -> Response:
        principal: Principal = request.auth
        principal.require(Permission.WRITE)
        plugin_registry().require(inference_name)
        plugin_disable(namespace_id=principal.namespace.id, inference_name=inference_name)
        return Response(status=204)


class NamespacePluginTestView(_NamespaceView):
    def post(self, request: Request, namespace: str, inference_name: str) -> Response:
        principal: Principal = request.auth
        principal.require(Permission.READ)
        body = _body(request, ("inputs", "parameters"), required=("inputs",))
        # The one service, as the key that asked: its limits apply and the usage record says plugin_test.
        response = async_to_sync(inference_run)(
            credentials=Credentials(None, None, principal=principal), purpose=PLUGIN_TEST,
            body={"inference_name": inference_name, "inputs": body["inputs"], "parameters": body.get("parameters") or {}},
            request_id=getattr(request, "request_id", ""))
        return Response(response)
