"""Usage over HTTP: ``GET /v1/organizations/usage`` (raw records) and ``GET /v1/analytics/usage/summary``.

Both are organization-level: the API key alone (no ``X-Namespace``) decides the scope, its organization and,
for a key limited to some namespaces, those namespaces only. The key needs ``read``. Query parameters are
checked here and turned into the selectors' typed arguments (inference/usage/selectors.py); an unknown or
malformed one is a 422 listing the accepted ones.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ValidationError
from inference.usage.models import UsageRecord
from inference.usage.rollups import utc_today
from inference.usage.selectors import GROUP_BY, MAX_PAGE, UsageSummaryRow, usage_records_list, usage_summary
from tenancy.accounts.authentication import OrganizationKeyAuthentication, OrganizationScope
from tenancy.accounts.models import Permission

MAX_SUMMARY_DAYS = 366
EARLIEST, LATEST = date(2000, 1, 1), date(2999, 12, 31)  # dates outside are refused (422), never overflow
MAX_ID = 2 ** 63 - 1
MAX_PAGES = 1_000_000  # page * page_size stays a small offset (an offset past 2**63 is a database error)


def _in_range(day: date) -> date:
    if not EARLIEST <= day <= LATEST:
        raise ValueError("out of range")
    return day


def _checked_day(day: date) -> date:
    try:
        return _in_range(day)
    except ValueError:
        raise serializers.ValidationError(f"must be from {EARLIEST} to {LATEST}") from None


class _Filters(serializers.Serializer):
    namespace = serializers.CharField(required=False, max_length=100)
    key = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    provider = serializers.CharField(required=False, max_length=100)
    model = serializers.CharField(required=False, max_length=200)
    status = serializers.IntegerField(required=False, min_value=100, max_value=599)


class RecordsQuery(_Filters):
    start = serializers.CharField(required=False)
    end = serializers.CharField(required=False)
    cursor = serializers.CharField(required=False, max_length=200)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE, default=50)

    def _moment(self, value: str, *, end: bool) -> datetime:
        """An ISO date (a whole UTC day: ``end`` includes it) or an ISO datetime (UTC when it names no zone)."""
        try:
            if len(value) == 10:
                day = _in_range(date.fromisoformat(value)) + timedelta(days=1 if end else 0)
                return datetime.combine(day, time.min, tzinfo=dt_timezone.utc)
            moment = datetime.fromisoformat(value)
            _in_range(moment.date())
        except ValueError:
            raise serializers.ValidationError("must be an ISO 8601 date or datetime from 2000 to 2999") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=dt_timezone.utc)

    def validate_start(self, value: str) -> datetime:
        return self._moment(value, end=False)

    def validate_end(self, value: str) -> datetime:
        return self._moment(value, end=True)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if "start" in data and "end" in data and data["end"] <= data["start"]:
            raise serializers.ValidationError({"end": "must be after start"})
        return data


class SummaryQuery(_Filters):
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)
    group_by = serializers.ListField(child=serializers.ChoiceField(choices=GROUP_BY), required=False, max_length=5)
    page = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGES, default=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE, default=100)

    def validate_start(self, value: date) -> date:
        return _checked_day(value)

    def validate_end(self, value: date) -> date:
        return _checked_day(value)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        data["end"] = data.get("end") or utc_today()
        data["start"] = data.get("start") or data["end"] - timedelta(days=29)
        if data["end"] < data["start"]:
            raise serializers.ValidationError({"end": "must not be before start"})
        if (data["end"] - data["start"]).days >= MAX_SUMMARY_DAYS:
            raise serializers.ValidationError({"end": f"the range may span at most {MAX_SUMMARY_DAYS} days"})
        return data


def _query(request: Request, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
    accepted = list(serializer_class().fields)
    params = {name: request.query_params.get(name) for name in request.query_params}
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValidationError([{"field": name, "problem": "unknown query parameter"} for name in unknown],
                              accepted=accepted)
    if "group_by" in params:
        params["group_by"] = [part.strip() for value in request.query_params.getlist("group_by")
                              for part in value.split(",") if part.strip()]
    serializer = serializer_class(data=params)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _scope_filters(scope: OrganizationScope, query: dict[str, Any]) -> dict[str, Any]:
    namespace = query.get("namespace")
    return {"organization_id": scope.organization_id, "namespace_ids": scope.namespace_ids,
            "namespace_id": scope.namespace(namespace) if namespace else None, "api_key_id": query.get("key"),
            "provider": query.get("provider"), "model": query.get("model"), "status": query.get("status")}


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{amount:.8f}"


def record_json(record: UsageRecord) -> dict[str, Any]:
    return {"id": str(record.id), "request_id": record.request_id, "created_at": record.created_at.isoformat(),
            "namespace_id": record.namespace_id, "api_key_id": record.api_key_id, "endpoint": record.endpoint,
            "provider": record.provider, "model": record.model, "inference_name": record.inference_name,
            "prompt_id": record.prompt_id, "prompt_version": record.prompt_version, "modality": record.modality,
            "status": record.status, "error_type": record.error_type,
            "prompt_tokens": record.prompt_tokens, "completion_tokens": record.completion_tokens,
            "total_tokens": record.total_tokens, "cache_read_tokens": record.cache_read_tokens,
            "cache_write_tokens": record.cache_write_tokens, "reasoning_tokens": record.reasoning_tokens,
            "cost_usd": _money(record.cost_usd), "price_known": record.price_known,
            "price_version": record.price_version, "latency_ms": record.latency_ms, "cached": record.cached,
            "cache_decision": record.cache_decision, "saved_tokens": record.saved_tokens,
            "saved_cost_usd": _money(record.saved_cost_usd)}


def summary_json(row: UsageSummaryRow, group_by: list[str]) -> dict[str, Any]:
    group: dict[str, Any] = {}
    if "day" in group_by:
        group["day"] = row.day.isoformat()
    if "namespace" in group_by:
        group["namespace_id"] = row.namespace_id
    if "key" in group_by:
        group["api_key_id"] = row.api_key_id
    if "model" in group_by:
        group["provider"], group["model"] = row.provider, row.model
    if "status" in group_by:
        group["status"] = row.status
    return {**group, "requests": row.requests, "prompt_tokens": row.prompt_tokens,
            "cache_read_tokens": row.cache_read_tokens, "cache_write_tokens": row.cache_write_tokens,
            "reasoning_tokens": row.reasoning_tokens, "unpriced_requests": row.unpriced,
            "completion_tokens": row.completion_tokens, "total_tokens": row.total_tokens,
            "cost_usd": _money(row.cost_usd), "latency_p50_ms": row.latency_p50_ms, "latency_p95_ms": row.latency_p95_ms,
            "latency_avg_ms": row.latency_avg_ms, "errors": row.errors, "error_rate": row.error_rate,
            "cache_hits": row.cache_hits, "cache_misses": row.cache_misses,
            "cache_explorations": row.cache_explorations, "cache_hit_rate": row.cache_hit_rate,
            "saved_tokens": row.saved_tokens,
            "saved_cost_usd": _money(row.saved_cost_usd)}


class UsageRecordsView(APIView):
    authentication_classes = [OrganizationKeyAuthentication]

    def get(self, request: Request) -> Response:
        scope: OrganizationScope = request.auth
        scope.require(Permission.READ)
        query = _query(request, RecordsQuery)
        page = usage_records_list(**_scope_filters(scope, query), start=query.get("start"), end=query.get("end"),
                                  cursor=query.get("cursor"), limit=query["limit"])
        return Response({"object": "list", "data": [record_json(r) for r in page.records],
                         "next_cursor": page.next_cursor})


class UsageSummaryView(APIView):
    authentication_classes = [OrganizationKeyAuthentication]

    def get(self, request: Request) -> Response:
        scope: OrganizationScope = request.auth
        scope.require(Permission.READ)
        query = _query(request, SummaryQuery)
        group_by = [name for name in GROUP_BY if name in query.get("group_by", [])]
        size = query["page_size"]
        page = usage_summary(**_scope_filters(scope, query), start=query["start"], end=query["end"],
                             group_by=group_by, limit=size, offset=(query["page"] - 1) * size)
        return Response({"object": "usage_summary", "start": query["start"].isoformat(),
                         "end": query["end"].isoformat(), "group_by": group_by,
                         "data": [summary_json(row, group_by) for row in page.rows],
                         "page": query["page"], "page_size": size, "total": page.total,
                         "has_more": query["page"] * size < page.total})
