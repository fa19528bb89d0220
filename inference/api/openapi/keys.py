"""OpenAPI for /v1/organizations/api-keys (inference/api/keys.py): the organization's API keys."""

from __future__ import annotations

from typing import Any, Callable

_PERMISSIONS = {"type": "array", "minItems": 1, "items": {"enum": ["read", "write", "admin"]},
                "description": "admin implies the others; inference needs read."}
_KEY = {
    "type": "object",
    "required": ["id", "object", "name", "prefix", "permissions", "all_namespaces", "namespaces", "status",
                 "expires_at", "revoked_at", "last_used_at", "created_at", "rate_limit_rpm", "rate_limit_tpm"],
    "properties": {
        "id": {"type": "integer"}, "object": {"const": "api_key"}, "name": {"type": "string"},
        "prefix": {"type": "string", "description": "The secret's first 12 characters, to tell keys apart."},
        "permissions": _PERMISSIONS, "all_namespaces": {"type": "boolean"},
        "namespaces": {"type": "array", "items": {"type": "string"}, "description": "ns_... ids (empty: all)."},
        "status": {"enum": ["active", "revoked", "expired"]},
        "expires_at": {"type": ["string", "null"], "format": "date-time"},
        "revoked_at": {"type": ["string", "null"], "format": "date-time"},
        "last_used_at": {"type": ["string", "null"], "format": "date-time"},
        "created_at": {"type": "string", "format": "date-time"},
        "rate_limit_rpm": {"type": ["integer", "null"]}, "rate_limit_tpm": {"type": ["integer", "null"]},
        "secret": {"type": "string", "description": "Only in the answer that created it (create, rotate)."},
    },
}
_SETTINGS = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "maxLength": 100},
        "permissions": _PERMISSIONS,
        "namespaces": {"type": ["array", "null"], "minItems": 1, "items": {"type": "string"},
                       "description": "Namespace ids or names the key may use; null: every namespace, "
                                      "present and future."},
        "expires_at": {"type": ["string", "null"], "format": "date-time", "description": "null: never."},
        "rate_limit_rpm": {"type": ["integer", "null"], "minimum": 0, "maximum": 2147483647,
                           "description": "0: none; null: the organization's default."},
        "rate_limit_tpm": {"type": ["integer", "null"], "minimum": 0, "maximum": 2147483647},
    },
}
_EXAMPLE = {"id": 12, "object": "api_key", "name": "billing-service", "prefix": "sk_live_a1B2",
            "permissions": ["read", "write"], "all_namespaces": False, "namespaces": ["ns_w2nYIIcr5feSolK5"],
            "status": "active", "expires_at": None, "revoked_at": None, "last_used_at": None,
            "created_at": "2026-12-06T08:00:00+00:00", "rate_limit_rpm": None, "rate_limit_tpm": None}
_ID = {"name": "key_id", "in": "path", "required": True, "schema": {"type": "string"}, "description": "The key's id."}
_WHO = " Needs an organization-wide admin key (not scoped to some namespaces)."


def key_paths(error_response: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
    def answer(description: str, example: dict[str, Any]) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": _KEY, "example": example}}}

    def errors(*statuses: int) -> dict[str, Any]:
        return {str(s): error_response(s) for s in statuses}

    created = answer("The key, with its secret: shown this once", {**_EXAMPLE, "secret": "sk_live_" + "x" * 40})
    one = answer("The key (never its secret)", _EXAMPLE)
    return {
        "/v1/organizations/api-keys": {
            "get": {"operationId": "api_keys_list", "summary": "The organization's API keys, newest first." + _WHO,
                    "parameters": [{"name": "status", "in": "query", "required": False,
                                    "schema": {"enum": ["active", "revoked", "expired"]}}],
                    "responses": {"200": {"description": "The keys", "content": {"application/json": {"schema": {
                        "type": "object", "required": ["object", "data"],
                        "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": _KEY}}}}}},
                        **errors(401, 403, 422)}},
            "post": {"operationId": "api_key_create", "summary": "Create a key; its secret is in this answer only."
                                                                 + _WHO,
                     "requestBody": {"required": False, "content": {"application/json": {
                         "schema": _SETTINGS, "example": {"name": "billing-service", "permissions": ["read"],
                                                          "namespaces": ["main"]}}}},
                     "responses": {"201": created, **errors(400, 401, 403, 404, 413, 415, 422)}},
        },
        "/v1/organizations/api-keys/{key_id}": {
            "get": {"operationId": "api_key_get", "summary": "One key." + _WHO, "parameters": [_ID],
                    "responses": {"200": one, **errors(401, 403, 404)}},
            "patch": {"operationId": "api_key_update",
                      "summary": "Change a key's name, permissions, namespaces, expiry or limits; the secret stays."
                                 + _WHO,
                      "parameters": [_ID],
                      "requestBody": {"required": True, "content": {"application/json": {
                          "schema": {**_SETTINGS, "minProperties": 1}, "example": {"permissions": ["read"]}}}},
                      "responses": {"200": one, **errors(400, 401, 403, 404, 413, 415, 422)}},
        },
        "/v1/organizations/api-keys/{key_id}/revoke": {
            "post": {"operationId": "api_key_revoke",
                     "summary": "Revoke a key: every worker refuses it within INFERGATE_AUTH_CACHE_SECONDS." + _WHO,
                     "parameters": [_ID], "responses": {"200": one, **errors(401, 403, 404)}},
        },
        "/v1/organizations/api-keys/{key_id}/rotate": {
            "post": {"operationId": "api_key_rotate",
                     "summary": "A new secret with the same settings; the old key is revoked at once." + _WHO,
                     "parameters": [_ID], "responses": {"201": created, **errors(401, 403, 404, 422)}},
        },
    }
