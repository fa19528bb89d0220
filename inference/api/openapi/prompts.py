"""OpenAPI for /v1/namespaces/{namespace}/prompts (inference/api/prompts.py): saved prompts, their immutable
versions, diffs and labels."""

from __future__ import annotations

from typing import Any, Callable

from inference.prompts.render import MESSAGES_MAX, ROLES

_NAMESPACE = {"name": "namespace", "in": "path", "required": True, "schema": {"type": "string"},
              "description": "Namespace id (ns_...) or name."}
_PROMPT = {"name": "prompt", "in": "path", "required": True, "schema": {"type": "string"},
           "description": "The prompt's pr_... id or its name."}
_VERSION_BODY = {
    "type": "object", "additionalProperties": False,
    "description": "A version: a system text and/or messages, with `{{variables}}` in either; every problem is one "
                   "422 and nothing is saved.",
    "properties": {
        "system": {"type": "string"},
        "messages": {"type": "array", "maxItems": MESSAGES_MAX, "items": {
            "type": "object", "required": ["role", "content"], "additionalProperties": False,
            "properties": {"role": {"enum": list(ROLES)}, "content": {"type": "string"}}}},
        "target": {"type": "string", "description": "provider/model, or a model alias of the namespace; empty: the "
                                                    "request names the target."},
        "parameters": {"type": "object", "description": "Defaults under the calling request's own."},
        "note": {"type": "string", "maxLength": 500, "description": "What changed, for the version list."}},
}
_EXAMPLE_BODY = {"system": "You answer in {{style}}.", "target": "openai/gpt-4o-mini",
                 "messages": [{"role": "user", "content": "Summarise {{topic}} for {{audience}}."}],
                 "parameters": {"temperature": 0}}
_VERSION = {"version": 2, **_EXAMPLE_BODY, "variables": ["style", "topic", "audience"], "note": "shorter",
            "created_at": "2026-12-06T10:30:00+00:00"}
_PROMPT_ITEM = {"id": "pr_Qw8c3VbN0sT1xY2z", "name": "summary", "latest_version": 2, "versions": 2,
                "labels": {"production": 2}, "created_at": "2026-12-06T10:00:00+00:00",
                "updated_at": "2026-12-06T10:30:00+00:00"}


def _json(example: Any, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"example": example}}}


def prompt_paths(error_response: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
    def errors(*statuses: int) -> dict[str, Any]:
        return {str(s): error_response(s) for s in statuses}

    version_body = {"required": True, "content": {"application/json": {"schema": _VERSION_BODY,
                                                                       "example": _EXAMPLE_BODY}}}
    return {
        "/v1/namespaces/{namespace}/prompts": {
            "get": {"operationId": "prompts_list", "summary": "The namespace's saved prompts; needs read",
                    "parameters": [_NAMESPACE],
                    "responses": {"200": _json({"namespace": "ns_w2nYIIcr5feSolK5", "data": [_PROMPT_ITEM]},
                                               "One item per prompt"), **errors(401, 403, 404)}},
            "post": {"operationId": "prompt_create", "summary": "Save a new prompt with its version 1; needs write",
                     "parameters": [_NAMESPACE],
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": {**_VERSION_BODY, "required": ["name"],
                                    "properties": {"name": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$"},
                                                   **_VERSION_BODY["properties"]}},
                         "example": {"name": "summary", **_EXAMPLE_BODY}}}},
                     "responses": {"201": _json({**_PROMPT_ITEM, "latest_version": 1, "versions": 1, "labels": {},
                                                 "version": {**_VERSION, "version": 1, "note": ""}},
                                                "Saved"), **errors(400, 401, 403, 404, 415, 422)}}},
        "/v1/namespaces/{namespace}/prompts/{prompt}": {
            "get": {"operationId": "prompt_get", "summary": "A prompt with every version; needs read",
                    "parameters": [_NAMESPACE, _PROMPT],
                    "responses": {"200": _json({**_PROMPT_ITEM, "versions": [_VERSION]}, "The prompt"),
                                  **errors(401, 403, 404)}},
            "delete": {"operationId": "prompt_delete", "summary": "Delete a prompt and all its versions; needs write",
                       "parameters": [_NAMESPACE, _PROMPT],
                       "responses": {"204": {"description": "Deleted"}, **errors(401, 403, 404)}}},
        "/v1/namespaces/{namespace}/prompts/{prompt}/versions": {
            "post": {"operationId": "prompt_version_create",
                     "summary": "Save a new version (versions never change); needs write",
                     "parameters": [_NAMESPACE, _PROMPT], "requestBody": version_body,
                     "responses": {"201": _json(_VERSION, "The new version"),
                                   **errors(400, 401, 403, 404, 415, 422)}}},
        "/v1/namespaces/{namespace}/prompts/{prompt}/versions/{version}": {
            "get": {"operationId": "prompt_version_get", "summary": "One version; needs read",
                    "parameters": [_NAMESPACE, _PROMPT, {"name": "version", "in": "path", "required": True,
                                                         "schema": {"type": "integer", "minimum": 1}}],
                    "responses": {"200": _json(_VERSION, "The version"), **errors(401, 403, 404)}}},
        "/v1/namespaces/{namespace}/prompts/{prompt}/diff": {
            "get": {"operationId": "prompt_diff", "summary": "A unified diff of two versions; needs read",
                    "parameters": [_NAMESPACE, _PROMPT,
                                   *({"name": name, "in": "query", "required": True,
                                      "schema": {"type": "integer", "minimum": 1}} for name in ("from", "to"))],
                    "responses": {"200": _json({"from": 1, "to": 2, "changed": ["messages"], "diff": (
                        "--- v1\n+++ v2\n@@ -4,2 +4,2 @@\n messages[0] user:\n-  Summarise {{topic}} for "
                        "{{audience}}.\n+  Explain {{topic}} to {{audience}} in one line.\n")}, "The diff"),
                        **errors(401, 403, 404, 422)}}},
        "/v1/namespaces/{namespace}/prompts/{prompt}/labels/{label}": {
            "put": {"operationId": "prompt_label_set", "summary": "Point a label at a version; needs write",
                    "parameters": [_NAMESPACE, _PROMPT, {"name": "label", "in": "path", "required": True,
                                                         "schema": {"type": "string",
                                                                    "pattern": "^[a-z0-9][a-z0-9._-]{0,63}$"}}],
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"type": "object", "required": ["version"], "additionalProperties": False,
                                   "properties": {"version": {"type": "integer", "minimum": 1}}},
                        "example": {"version": 2}}}},
                    "responses": {"200": _json({"label": "production", "version": 2}, "Set"),
                                  **errors(400, 401, 403, 404, 415, 422)}},
            "delete": {"operationId": "prompt_label_delete", "summary": "Remove a label; needs write",
                       "parameters": [_NAMESPACE, _PROMPT, {"name": "label", "in": "path", "required": True,
                                                            "schema": {"type": "string"}}],
                       "responses": {"204": {"description": "Removed"}, **errors(401, 403, 404)}}},
    }
