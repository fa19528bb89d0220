"""OpenAPI for GET/PATCH /v1/namespaces/{namespace} (inference/api/namespaces.py): a namespace's routing
rules (ordered fallbacks) and provider timeout."""

from __future__ import annotations

from typing import Any, Callable

from tenancy.accounts.namespace_settings import ALIASES_MAX, FALLBACKS_MAX, TIMEOUT_MAX_SECONDS, TIMEOUT_MIN_SECONDS

_TARGET = {"type": "string", "pattern": "^[^/]+/.+$", "description": "provider/model"}
_ROUTING = {
    "type": "object", "additionalProperties": False,
    "properties": {"fallbacks": {
        "type": "object", "additionalProperties": {"type": "array", "items": _TARGET, "minItems": 1,
                                                   "maxItems": FALLBACKS_MAX},
        "description": "provider/model → the targets to try, in order, when it fails with a 429, 502, 503 or 504 "
                       "(docs/providers.md: Fallbacks and timeouts per namespace)."},
        "aliases": {
            "type": "object", "maxProperties": ALIASES_MAX,
            "propertyNames": {"pattern": "^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$"},
            "additionalProperties": {"type": "object", "required": ["target"], "additionalProperties": False,
                                     "properties": {"target": _TARGET, "parameters": {"type": "object"}}},
            "description": "A model name of the namespace's own → the target it stands for and default parameters "
                           "(the request's own win). Clients send it as `model` alone (`{\"model\": \"fast\"}`, "
                           "or `model=\"fast\"` on the OpenAI routes)."}},
}
_TIMEOUT = {"type": ["number", "null"], "minimum": TIMEOUT_MIN_SECONDS, "maximum": TIMEOUT_MAX_SECONDS,
            "description": "Seconds a provider may take to answer a call of this namespace (504 after); null: "
                           "INFERGATE_PROVIDER_TIMEOUT_SECONDS."}
_EXAMPLE = {"id": "ns_w2nYIIcr5feSolK5", "name": "main", "provider_timeout_seconds": 20.0,
            "routing": {"fallbacks": {"openai/gpt-4o-mini": ["anthropic/claude-haiku-4-5",
                                                             "local/smollm2-135m-instruct"]},
                        "aliases": {"fast": {"target": "openai/gpt-5-mini",
                                             "parameters": {"reasoning_effort": "low"}}}}}
_NAMESPACE = {"type": "object", "required": ["id", "name", "routing", "provider_timeout_seconds"],
              "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "routing": _ROUTING,
                             "provider_timeout_seconds": _TIMEOUT}}
_PATH_PARAMETER = {"name": "namespace", "in": "path", "required": True, "schema": {"type": "string"},
                   "description": "Namespace id (ns_...) or name."}


def namespace_paths(error_response: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
    ok = {"description": "The namespace's settings",
          "content": {"application/json": {"schema": _NAMESPACE, "example": _EXAMPLE}}}
    return {"/v1/namespaces/{namespace}": {
        "get": {"operationId": "namespace_get",
                "summary": "A namespace's routing rules and provider timeout; needs read",
                "parameters": [_PATH_PARAMETER],
                "responses": {"200": ok, **{str(s): error_response(s) for s in (401, 403, 404)}}},
        "patch": {"operationId": "namespace_update",
                  "summary": "Set a namespace's routing rules (ordered fallbacks) and provider timeout; needs admin",
                  "description": "Send any of `routing` and `provider_timeout_seconds`. Fallback targets must exist "
                                 "(aliases are stored by their provider's name) and may not repeat in a chain; every "
                                 "problem is listed in one 422 and nothing changes.",
                  "parameters": [_PATH_PARAMETER],
                  "requestBody": {"required": True, "content": {"application/json": {
                      "schema": {"type": "object", "additionalProperties": False, "minProperties": 1,
                                 "properties": {"routing": _ROUTING, "provider_timeout_seconds": _TIMEOUT}},
                      "example": {"routing": _EXAMPLE["routing"], "provider_timeout_seconds": 20}}}},
                  "responses": {"200": ok, **{str(s): error_response(s) for s in (400, 401, 403, 404, 415, 422)}}},
    }}
