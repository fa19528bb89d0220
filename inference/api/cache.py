"""``/v1/namespaces/{namespace}/cache``: the semantic cache of a namespace.

GET (``read``): its counters and settings. PATCH (``admin``): its settings (``allow_sampling``,
``ttl_seconds``, ``max_entries``, ``judge``). DELETE (``admin``): clear it, or with ``?provider=`` and
``?model=`` only those scopes; the answers go with what the policy learnt about them.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ValidationError
from inference.cache.selectors import cache_counters, cache_settings_describe, cache_settings_update
from inference.cache.store import scope_clear
from inference.providers.registry import provider_registry
from tenancy.accounts.authentication import NamespacePathAuthentication
from tenancy.accounts.models import Permission


class _Judge(serializers.Serializer):
    provider = serializers.CharField(max_length=100)
    model = serializers.CharField(max_length=200)


class SettingsInput(serializers.Serializer):
    allow_sampling = serializers.BooleanField(required=False)
    ttl_seconds = serializers.IntegerField(required=False, min_value=60, max_value=365 * 24 * 3600)
    max_entries = serializers.IntegerField(required=False, min_value=1, max_value=10_000_000)
    judge = _Judge(required=False, allow_null=True)


class ClearInput(serializers.Serializer):
    provider = serializers.CharField(required=False, max_length=100)
    model = serializers.CharField(required=False, max_length=200)


def _valid(serializer: serializers.Serializer) -> dict[str, Any]:
    if not serializer.is_valid():
        raise ValidationError([{"field": name, "problem": " ".join(str(p) for p in problems)}
                               for name, problems in serializer.errors.items()])
    return serializer.validated_data


def _changes(data: dict[str, Any]) -> dict[str, Any]:
    changes = {k: v for k, v in data.items() if k != "judge"}
    if "judge" in data:
        judge = data["judge"] or {"provider": "", "model": ""}
        if judge["model"]:

            provider_registry().resolve(judge["provider"], judge["model"])  # 400 when unknown
        changes.update(judge_provider=judge["provider"], judge_model=judge["model"])
    return changes


class CacheView(APIView):
    authentication_classes = [NamespacePathAuthentication]

    def get(self, request: Request, namespace: str) -> Response:
        request.auth.require(Permission.READ)
        namespace_id = request.auth.namespace.id
        return Response({"namespace": namespace_id, "counters": cache_counters(namespace_id=namespace_id),
                         "settings": cache_settings_describe(namespace_id=namespace_id)})

    def patch(self, request: Request, namespace: str) -> Response:
        request.auth.require(Permission.ADMIN)
        unknown = sorted(set(request.data) - set(SettingsInput().fields)) if isinstance(request.data, dict) else []
        if unknown:
            raise ValidationError([{"field": k, "problem": "unknown key"} for k in unknown])
        changes = _changes(_valid(SettingsInput(data=request.data)))
        cache_settings_update(namespace_id=request.auth.namespace.id, changes=changes)
        return Response({"namespace": request.auth.namespace.id,
                         "settings": cache_settings_describe(namespace_id=request.auth.namespace.id)})

    def delete(self, request: Request, namespace: str) -> Response:
        request.auth.require(Permission.ADMIN)
        query = _valid(ClearInput(data=request.query_params))
        cleared = scope_clear(namespace_id=request.auth.namespace.id, **query)
        return Response({"namespace": request.auth.namespace.id, "cleared": cleared})
