"""The cache API in the OpenAPI document (merged into ``inference.api.openapi``)."""

from __future__ import annotations

from typing import Any

NAMESPACE = {"name": "namespace", "in": "path", "required": True, "schema": {"type": "string"},
             "description": "Namespace id (ns_...) or name; the key must be allowed to use it."}


def _errors(*statuses: int) -> dict[str, Any]:
    types = {400: "BadRequestError", 401: "UnauthorizedError", 403: "ForbiddenError", 404: "NotFoundError",
             422: "ValidationError"}
    return {str(s): {"description": types[s], "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/ErrorResponse"}}}} for s in statuses}


SETTINGS = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "allow_sampling": {"type": "boolean", "default": False,
                           "description": "Cache requests whose temperature is above 0 (a model's default "
                                          "temperature counts when a request sets none)."},
        "ttl_seconds": {"type": "integer", "minimum": 60, "description": "Entry lifetime; default 7 days."},
        "max_entries": {"type": "integer", "minimum": 1,
                        "description": "Most entries in the namespace; the least valuable go first."},
        "judge": {"type": ["object", "null"], "properties": {"provider": {"type": "string"},
                                                              "model": {"type": "string"}},
                  "description": "A model that decides whether two answers agree when text and embedding "
                                 "comparison do not; null removes it."},
    },
}
COUNTERS_EXAMPLE = {
    "namespace": "ns_IR3dJ2nR4bRhEmYX",
    "counters": {"hits": 1, "hits_normalised": 0, "misses": 4, "explorations": 2, "labels": 2, "labels_wrong": 1,
                 "labels_judged": 0,
                 "labels_judge_failed": 0, "saved_tokens": 12, "saved_cost_usd": 0.000018, "entries": 5, "scopes": 1},
    "settings": {"allow_sampling": False, "ttl_seconds": 604800, "max_entries": 100000, "judge": None},
}

CACHE_PATHS: dict[str, Any] = {
    "/v1/namespaces/{namespace}/cache": {
        "get": {
            "operationId": "cache_describe",
            "summary": "The namespace's semantic cache: counters and settings; needs read",
            "description": "hits, misses and explorations count requests and saved_tokens/saved_cost_usd what "
                           "hits saved, over the namespace's whole usage history (the usage summary: daily "
                           "rollups, kept forever, plus the raw records no rollup covers yet); hits_normalised "
                           "counts the hits (part of hits) whose conversation matched a cached one only once case, "
                           "whitespace and final punctuation were set aside (usage records: cache_decision "
                           "hit_normalised), in the scopes cached now; labels count "
                           "explored requests whose cached answer was compared with the fresh one, labels_wrong "
                           "those where it would have been wrong (it was not served), labels_judged those the LLM "
                           "judge decided, labels_judge_failed those the judge was asked about and could not "
                           "answer (its call failed: they count as wrong). The judge runs as the namespace: its "
                           "credentials, limits and budget, and a usage record each (endpoint cache_judge).",
            "parameters": [NAMESPACE],
            "responses": {"200": {"description": "Counters and settings",
                                  "content": {"application/json": {"example": COUNTERS_EXAMPLE}}},
                          **_errors(401, 403, 404)},
        },
        "patch": {
            "operationId": "cache_configure",
            "summary": "Change the namespace's cache settings; needs admin",
            "parameters": [NAMESPACE],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": SETTINGS, "example": {"allow_sampling": True, "max_entries": 50000}}}},
            "responses": {"200": {"description": "The settings now", "content": {"application/json": {
                "example": {"namespace": "ns_IR3dJ2nR4bRhEmYX", "settings": COUNTERS_EXAMPLE["settings"]}}}},
                **_errors(400, 401, 403, 404, 422)},
        },
        "delete": {
            "operationId": "cache_clear",
            "summary": "Clear the namespace's cache (all of it, or one provider's or model's scopes); needs admin",
            "parameters": [NAMESPACE,
                           {"name": "provider", "in": "query", "required": False, "schema": {"type": "string"}},
                           {"name": "model", "in": "query", "required": False, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "What was removed, with what the policy had learnt about it",
                                  "content": {"application/json": {"example": {
                                      "namespace": "ns_IR3dJ2nR4bRhEmYX", "cleared": {"scopes": 1, "entries": 2}}}}},
                          **_errors(401, 403, 404, 422)},
        },
    },
}
