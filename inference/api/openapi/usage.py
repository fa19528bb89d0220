"""OpenAPI for usage: GET /v1/organizations/usage and GET /v1/analytics/usage/summary (inference/api/usage.py),
and GET /metrics (inference/api/metrics.py)."""

from __future__ import annotations

from typing import Any, Callable

from inference.usage.selectors import GROUP_BY, MAX_PAGE

_FILTERS = [
    {"name": "namespace", "in": "query", "schema": {"type": "string"},
     "description": "One namespace (`ns_...` id or name); the key must be allowed to use it (403) and it must "
                    "exist in the key's organization (404)."},
    {"name": "key", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 2 ** 63 - 1},
     "description": "An API key id."},
    {"name": "provider", "in": "query", "schema": {"type": "string"}},
    {"name": "model", "in": "query", "schema": {"type": "string"}},
    {"name": "status", "in": "query", "schema": {"type": "integer", "minimum": 100, "maximum": 599},
     "description": "The HTTP status the request was answered with."},
]

_RECORD_EXAMPLE = {
    "id": "0b9e7c1e-5f3a-4d8e-9a41-2f6c1d0e7b55", "request_id": "req_5b1f0e3a", "created_at": "2026-11-23T21:04:11.52+00:00",
    "namespace_id": "ns_Q8tWm2LxA1bC3dE4", "api_key_id": 12, "endpoint": "inference", "provider": "openai",
    "model": "gpt-4o-mini", "inference_name": "", "modality": "chat", "status": 200, "error_type": "",
    "prompt_tokens": 412, "completion_tokens": 96, "total_tokens": 508, "cache_read_tokens": 256,
    "cache_write_tokens": 0, "reasoning_tokens": 0, "cost_usd": "0.00010020", "price_known": True,
    "price_version": "2026-11-23", "latency_ms": 612.4, "cached": False, "cache_decision": "miss", "saved_tokens": 0,
    "saved_cost_usd": "0E-8"}

_SUMMARY_ROW = {
    "type": "object",
    "properties": {
        "day": {"type": "string", "format": "date", "description": "When grouped by day (UTC)."},
        "namespace_id": {"type": ["string", "null"], "description": "When grouped by namespace."},
        "api_key_id": {"type": ["integer", "null"], "description": "When grouped by key."},
        "provider": {"type": "string", "description": "When grouped by model."},
        "model": {"type": "string", "description": "When grouped by model."},
        "status": {"type": "integer", "description": "When grouped by status."},
        "requests": {"type": "integer"}, "prompt_tokens": {"type": "integer"},
        "completion_tokens": {"type": "integer"}, "total_tokens": {"type": "integer"},
        "cache_read_tokens": {"type": "integer", "description": "Part of prompt_tokens: read from the provider's "
                                                                "prompt cache (priced at its cache-read rate)."},
        "cache_write_tokens": {"type": "integer", "description": "Part of prompt_tokens: written to it."},
        "reasoning_tokens": {"type": "integer", "description": "Part of completion_tokens: the model's reasoning."},
        "cost_usd": {"type": "string", "description": "Decimal, USD, of the requests with a known price."},
        "unpriced_requests": {"type": "integer", "description": "Requests to models no price table knows: their "
                                                                "cost is unknown and not in cost_usd."},
        "latency_p50_ms": {"type": ["number", "null"]}, "latency_p95_ms": {"type": ["number", "null"]},
        "latency_avg_ms": {"type": ["number", "null"]},
        "errors": {"type": "integer", "description": "Requests answered with status >= 400."},
        "error_rate": {"type": "number", "description": "errors / requests."},
        "cache_hits": {"type": "integer", "description": "Requests answered from the semantic cache."},
        "cache_misses": {"type": "integer", "description": "Requests the semantic cache had no answer for "
                                                           "(cache_decision miss: the answer was stored)."},
        "cache_explorations": {"type": "integer", "description": "Requests the semantic cache explored "
                                                                 "(cache_decision explore: a fresh answer, labelled "
                                                                 "against the cached one)."},
        "cache_hit_rate": {"type": "number", "description": "cache_hits / requests."},
        "saved_tokens": {"type": "integer"}, "saved_cost_usd": {"type": "string"},
    },
}


def usage_paths(error_response: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
    errors = {str(status): error_response(status) for status in (401, 403, 404, 422)}
    return {
        "/v1/organizations/usage": {"get": {
            "operationId": "usage_records_list",
            "summary": "Raw usage records of the key's organization (its namespaces only for a scoped key), newest "
                       "first, paged by cursor; kept INFERGATE_USAGE_RETENTION_DAYS days. No X-Namespace needed.",
            "parameters": [
                {"name": "start", "in": "query", "schema": {"type": "string"},
                 "description": "ISO date (from the start of that UTC day) or datetime (inclusive; UTC when it names "
                                "no zone), years 2000 to 2999."},
                {"name": "end", "in": "query", "schema": {"type": "string"},
                 "description": "ISO date (through the end of that UTC day) or datetime (exclusive)."},
                *_FILTERS,
                {"name": "cursor", "in": "query", "schema": {"type": "string"},
                 "description": "`next_cursor` of the previous page."},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE,
                                                           "default": 50}}],
            "responses": {"200": {"description": "A page of records", "content": {"application/json": {"example": {
                "object": "list", "data": [_RECORD_EXAMPLE], "next_cursor": "MjAyNi0xMS0yM1QyMTowNDoxMS41MiswMDowMHwwYjll"}}}},
                **errors},
        }},
        "/v1/analytics/usage/summary": {"get": {
            "operationId": "usage_summary",
            "summary": "Requests, tokens, cost, p50/p95 latency, error and cache hit rates over UTC days, grouped; "
                       "whole past days come from daily rollups, today from raw records.",
            "parameters": [
                {"name": "start", "in": "query", "schema": {"type": "string", "format": "date"},
                 "description": "First UTC day (default: 29 days before end)."},
                {"name": "end", "in": "query", "schema": {"type": "string", "format": "date"},
                 "description": "Last UTC day, included (default: today). At most 366 days in all."},
                {"name": "group_by", "in": "query", "schema": {"type": "string"}, "style": "form", "explode": False,
                 "description": f"Comma-separated, any of {', '.join(GROUP_BY)} (model: provider and model). "
                                "None: one row of totals."},
                *_FILTERS,
                {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
                {"name": "page_size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE,
                                                               "default": 100}}],
            "responses": {"200": {"description": "Groups ordered by their values; groups without requests are "
                                                 "absent", "content": {"application/json": {
                "schema": {"type": "object", "properties": {
                    "object": {"const": "usage_summary"}, "start": {"type": "string"}, "end": {"type": "string"},
                    "group_by": {"type": "array", "items": {"type": "string"}},
                    "data": {"type": "array", "items": _SUMMARY_ROW}, "page": {"type": "integer"},
                    "page_size": {"type": "integer"}, "total": {"type": "integer"}, "has_more": {"type": "boolean"}}},
                "example": {"object": "usage_summary", "start": "2026-10-26", "end": "2026-11-24", "group_by": ["model"],
                            "data": [{"provider": "openai", "model": "gpt-4o-mini", "requests": 226350,
                                      "prompt_tokens": 90529549, "completion_tokens": 33984736,
                                      "total_tokens": 124514285, "cost_usd": "74.70857100",
                                      "latency_p50_ms": 576.779, "latency_p95_ms": 1678.816, "latency_avg_ms": 672.989,
                                      "errors": 21278, "error_rate": 0.094005, "cache_hits": 16548,
                                      "cache_misses": 40676, "cache_explorations": 4151,
                                      "cache_hit_rate": 0.073108, "saved_tokens": 9583869,
                                      "saved_cost_usd": "5.75032140"}],
                            "page": 1, "page_size": 100, "total": 8, "has_more": False}}}},
                **errors},
        }},
        "/metrics": {"get": {
            "operationId": "metrics",
            "summary": "Prometheus text format, summed over every process: requests and latency by route, target and "
                       "status, limiter and cache decisions, provider errors, usage stream and Celery queue depth. "
                       "Needs `Authorization: Bearer <INFERGATE_METRICS_TOKEN>` when that is set.",
            "responses": {"200": {"description": "Metrics", "content": {"text/plain": {"schema": {"type": "string"}}}},
                          "401": error_response(401)},
        }},
    }
