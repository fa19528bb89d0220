"""OpenAPI for GET/PATCH /v1/namespaces/{namespace} (inference/api/namespaces.py): a namespace's routing
rules (ordered fallbacks, model aliases and their deployments) and provider timeout; and the deployments' state
(inference/api/deployments.py)."""

from __future__ import annotations

from typing import Any, Callable

from tenancy.accounts.namespace_settings import (
    ALIASES_MAX,
    BREAKER_LIMITS,
    CAPACITY_MAX,
    DEPLOYMENTS_MAX,
    FALLBACKS_MAX,
    STRATEGIES,
    TIMEOUT_MAX_SECONDS,
    TIMEOUT_MIN_SECONDS,
    WEIGHT_MAX,
)

_TARGET = {"type": "string", "pattern": "^[^/]+/.+$", "description": "provider/model"}
_ID = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"}
_CAPACITY = {"type": ["integer", "null"], "minimum": 1, "maximum": CAPACITY_MAX}
_DEPLOYMENT = {
    "type": "object", "required": ["id", "target"], "additionalProperties": False,
    "properties": {
        "id": _ID, "target": _TARGET,
        "credential": {**_ID, "description": "A named credential of the target's provider in this namespace "
                                             "(PUT .../credentials/{provider}/{name}); without one, the provider's "
                                             "default credential, else the server's key."},
        "base_url": {"type": ["string", "null"], "description": "Another endpoint of the provider (a region, an "
                     "account's own host): only under the server's INFERGATE_DEPLOYMENT_BASE_URLS, and only with "
                     "a named `credential`."},
        "weight": {"type": "number", "exclusiveMinimum": 0, "maximum": WEIGHT_MAX, "default": 1},
        "rpm": {**_CAPACITY, "description": "Requests a minute this deployment takes (across every node)."},
        "tpm": {**_CAPACITY, "description": "Tokens a minute this deployment takes."}},
}
_ALIAS_OF_DEPLOYMENTS = {
    "type": "object", "required": ["deployments"], "additionalProperties": False,
    "properties": {
        "deployments": {"type": "array", "items": _DEPLOYMENT, "minItems": 1, "maxItems": DEPLOYMENTS_MAX},
        "strategy": {"enum": list(STRATEGIES), "default": STRATEGIES[0],
                     "description": "weighted: random in proportion to weight; least_busy: fewest calls in flight "
                                    "per weight; lowest_latency: the lowest moving average of answer time; usage: "
                                    "the most rpm/tpm left this minute."},
        "breaker": {"type": "object", "additionalProperties": False, "properties": {
            name: {"type": "integer", "minimum": low, "maximum": high} for name, (low, high) in BREAKER_LIMITS.items()},
            "description": "Opens after `failures` failures in a row (429, 5xx, timeouts) for `cooldown_seconds` "
                           "(a provider's Retry-After instead, when it sends one); then one call probes it."},
        "parameters": {"type": "object"}},
}
_ROUTING = {
    "type": "object", "additionalProperties": False,
    "properties": {"fallbacks": {
        "type": "object", "additionalProperties": {"type": "array", "items": _TARGET, "minItems": 1,
                                                   "maxItems": FALLBACKS_MAX},
        "description": "provider/model (or an alias of deployments, once all of them failed) → the targets to try, "
                       "in order, when it fails with a 429, 502, 503 or 504 (docs/providers.md: Fallbacks and "
                       "timeouts per namespace)."},
        "aliases": {
            "type": "object", "maxProperties": ALIASES_MAX,
            "propertyNames": {"pattern": "^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$"},
            "additionalProperties": {"oneOf": [
                {"type": "object", "required": ["target"], "additionalProperties": False,
                 "properties": {"target": _TARGET, "parameters": {"type": "object"}}},
                _ALIAS_OF_DEPLOYMENTS]},
            "description": "A model name of the namespace's own → the target it stands for (or several deployments "
                           "of it, balanced, each behind a circuit breaker: docs/deployments.md) and default "
                           "parameters (the request's own win). Clients send it as `model` alone "
                           "(`{\"model\": \"fast\"}`, or `model=\"fast\"` on the OpenAI routes)."}},
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


_DEPLOYMENT_STATE = {
    "id": "east", "target": "openai/gpt-4o-mini", "credential": "east", "base_url": None, "weight": 1, "rpm": 500,
    "tpm": None, "state": "open", "failures": 3, "retry_after_seconds": 12, "requests": 1840, "errors": 7,
    "latency_ms": 412.5, "inflight": 0, "minute": {"requests": 31, "tokens": 18220}}
_DEPLOYMENTS_EXAMPLE = {"namespace": "ns_w2nYIIcr5feSolK5", "data": [{
    "alias": "fast", "strategy": "weighted", "breaker": {"failures": 3, "cooldown_seconds": 30},
    "deployments": [_DEPLOYMENT_STATE]}]}


def deployment_paths(error_response: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
    alias = {"name": "alias", "in": "path", "required": True, "schema": {"type": "string"},
             "description": "A model alias of deployments."}
    deployment = {"name": "deployment", "in": "path", "required": True, "schema": {"type": "string"},
                  "description": "The deployment's id."}
    return {
        "/v1/namespaces/{namespace}/deployments": {"get": {
            "operationId": "deployments_list",
            "summary": "Each deployment of the namespace's model aliases as every node sees it: breaker state, "
                       "requests, errors, latency, calls in flight, this minute's use; needs read",
            "parameters": [_PATH_PARAMETER],
            "responses": {"200": {"description": "One item per alias of deployments",
                                  "content": {"application/json": {"example": _DEPLOYMENTS_EXAMPLE}}},
                          **{str(s): error_response(s) for s in (401, 403, 404, 503)}}}},
        "/v1/namespaces/{namespace}/deployments/{alias}/{deployment}/reset": {"post": {
            "operationId": "deployment_reset",
            "summary": "Close a deployment's circuit breaker by hand; needs admin",
            "parameters": [_PATH_PARAMETER, alias, deployment],
            "responses": {"200": {"description": "The deployment's state after",
                                  "content": {"application/json": {"example": {**_DEPLOYMENT_STATE, "state": "closed",
                                                                               "failures": 0,
                                                                               "retry_after_seconds": 0}}}},
                          **{str(s): error_response(s) for s in (401, 403, 404, 503)}}}},
    }


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
