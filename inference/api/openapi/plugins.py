"""The plugins API in the OpenAPI document (merged into ``inference.api.openapi``)."""

from __future__ import annotations

from typing import Any

NAMESPACE = {"name": "namespace", "in": "path", "required": True, "schema": {"type": "string"},
             "description": "Namespace id (ns_...) or name; the key must be allowed to use it."}
INFERENCE_NAME = {"name": "inference_name", "in": "path", "required": True, "schema": {"type": "string"},
                  "description": "`{name}_{version with dots as underscores}`, e.g. `keyword_extractor_1_0_0`."}

PLUGIN = {
    "type": "object",
    "description": "An installed plugin and its state in this namespace.",
    "properties": {
        "inference_name": {"type": "string"}, "name": {"type": "string"}, "version": {"type": "string"},
        "description": {"type": "string"},
        "origin": {"type": "string", "description": "The settings module or the package that registered it."},
        "modalities": {"type": "array", "items": {"type": "string"}},
        "input_keys": {"type": "array", "items": {"type": "string"}},
        "parameters": {"type": "array", "items": {"type": "object"}, "description": "Declared parameters."},
        "dimensions": {"type": ["integer", "null"]},
        "timeout_s": {"type": "number"},
        "feature_uris": {"type": "array", "items": {"type": "string"}},
        "enabled": {"type": "boolean"},
        "enabled_parameters": {"type": ["object", "null"],
                               "description": "The namespace's parameters; a request's override them."},
    },
}
PLUGIN_EXAMPLE = {
    "inference_name": "keyword_extractor_1_0_0", "name": "keyword_extractor", "version": "1.0.0",
    "description": "Keyphrases of each prompt, ranked with the local all-MiniLM-L6-v2 embedder (KeyBERT + MMR).",
    "origin": "infergate-example-plugins", "modalities": ["chat"], "input_keys": ["prompts"],
    "parameters": [{"name": "top_k", "kind": "integer", "description": "How many keyphrases per prompt.",
                    "minimum": 1, "maximum": 20, "default": 5}],
    "dimensions": None, "timeout_s": 20.0, "feature_uris": [], "enabled": True, "enabled_parameters": {"top_k": 3},
}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): {"description": "The error envelope", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/ErrorResponse"}}}} for status in statuses}


def _json(schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"schema": schema}
    if example is not None:
        body["example"] = example
    return {"content": {"application/json": body}}


ONE = {"description": "The plugin", **_json(PLUGIN, PLUGIN_EXAMPLE)}

PLUGIN_PATHS: dict[str, Any] = {
    "/v1/namespaces/{namespace}/plugins": {
        "get": {
            "operationId": "plugins_list",
            "summary": "Every installed plugin and whether this namespace enabled it; needs read",
            "parameters": [NAMESPACE],
            "responses": {"200": {"description": "A list", **_json(
                {"type": "object", "properties": {"object": {"const": "list"}, "namespace": {"type": "object"},
                                                  "data": {"type": "array", "items": PLUGIN}}},
                {"object": "list", "namespace": {"id": "ns_IR3dJ2nR4bRhEmYX", "name": "demo"}, "data": [PLUGIN_EXAMPLE]})},
                **_errors(401, 403, 404)},
        },
        "post": {
            "operationId": "plugin_enable",
            "summary": "Enable a plugin in the namespace, with parameters (201; 200 when it replaced them); needs write",
            "parameters": [NAMESPACE],
            "requestBody": {"required": True, **_json(
                {"type": "object", "required": ["inference_name"], "additionalProperties": False,
                 "properties": {"inference_name": {"type": "string"}, "parameters": {"type": "object"}}},
                {"inference_name": "keyword_extractor_1_0_0", "parameters": {"top_k": 3}})},
            "responses": {"201": ONE, "200": ONE, **_errors(400, 401, 403, 404, 422)},
        },
    },
    "/v1/namespaces/{namespace}/plugins/{inference_name}": {
        "get": {"operationId": "plugin_get", "summary": "One plugin and its state in the namespace; needs read",
                "parameters": [NAMESPACE, INFERENCE_NAME], "responses": {"200": ONE, **_errors(401, 403, 404)}},
        "put": {"operationId": "plugin_put",
                "summary": "Enable the plugin or replace its parameters; needs write",
                "parameters": [NAMESPACE, INFERENCE_NAME],
                "requestBody": {"required": False, **_json(
                    {"type": "object", "additionalProperties": False, "properties": {"parameters": {"type": "object"}}},
                    {"parameters": {"top_k": 3}})},
                "responses": {"201": ONE, "200": ONE, **_errors(400, 401, 403, 404, 422)}},
        "delete": {"operationId": "plugin_disable", "summary": "Disable the plugin in the namespace; needs write",
                   "parameters": [NAMESPACE, INFERENCE_NAME],
                   "responses": {"204": {"description": "Disabled"}, **_errors(401, 403, 404)}},
    },
    "/v1/namespaces/{namespace}/plugins/{inference_name}/test": {"post": {
        "operationId": "plugin_test",
        "summary": "Run the plugin on sample inputs (enabled or not; with the namespace's parameters where it is) "
                   "and answer like POST /v1/inference; needs read",
        "parameters": [NAMESPACE, INFERENCE_NAME],
        "requestBody": {"required": True, **_json(
            {"type": "object", "required": ["inputs"], "additionalProperties": False,
             "properties": {"inputs": {"type": "object"}, "parameters": {"type": "object"}}},
            {"inputs": {"prompts": ["Gradient descent follows the gradient of the loss."]}})},
        "responses": {"200": {"description": "The inference result", **_json(
            {"$ref": "#/components/schemas/InferenceResponse"})},
            **_errors(400, 401, 403, 404, 422, 500, 504)},
    }},
}
