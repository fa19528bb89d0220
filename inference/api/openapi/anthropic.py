"""The Anthropic-compatible routes in the OpenAPI document (merged into ``inference.api.openapi``)."""

from __future__ import annotations

from typing import Any

TAG = "Anthropic-compatible"
HEADERS = [
    {"name": "x-api-key", "in": "header", "required": False, "schema": {"type": "string"},
     "description": "An Infergate key (what the Anthropic SDK sends); or `Authorization: Bearer` (Claude Code's "
                    "ANTHROPIC_AUTH_TOKEN). Never an Anthropic key: the gateway calls Anthropic with the namespace's."},
    {"name": "X-Namespace", "in": "header", "required": False, "schema": {"type": "string"},
     "description": "Namespace id or name; may be left out when the key is scoped to exactly one namespace."},
    {"name": "anthropic-version", "in": "header", "required": False, "schema": {"type": "string"},
     "description": "Forwarded to Anthropic with the body (Claude targets)."},
    {"name": "anthropic-beta", "in": "header", "required": False, "schema": {"type": "string"},
     "description": "Forwarded to Anthropic with the body (Claude targets)."},
]
ERROR = {"type": "object", "required": ["type", "error"], "properties": {
    "type": {"const": "error"},
    "error": {"type": "object", "required": ["type", "message"], "properties": {
        "type": {"type": "string", "enum": ["invalid_request_error", "authentication_error", "permission_error",
                                            "not_found_error", "request_too_large", "rate_limit_error", "api_error",
                                            "overloaded_error", "timeout_error"]},
        "message": {"type": "string"},
        "details": {"type": "object", "description": "The native error's details: which fields, which limit."}}}}}
STATUSES = {400: "Malformed JSON, an unknown provider model, what the target cannot take (named)",
            401: "Missing or bad key", 403: "The key may not use this namespace", 404: "Unknown namespace or alias",
            405: "Not POST", 413: "Body over the limit", 415: "Wrong Content-Type", 422: "Bad fields or parameters",
            429: "Rate limited", 500: "Our fault", 502: "The provider failed", 503: "Provider not configured",
            504: "The provider did not answer in time"}
MODEL = {"type": "string", "description": "A Claude model id (`claude-sonnet-4-6`: Anthropic's, unless the namespace "
                                          "has an alias of that name), or `provider/model` for any other target."}
MESSAGES = {"type": "object", "required": ["model", "messages"], "properties": {
    "model": MODEL, "messages": {"type": "array", "minItems": 1, "items": {"type": "object"}},
    "max_tokens": {"type": "integer", "minimum": 1}, "stream": {"type": "boolean"},
    "system": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}]},
    "tools": {"type": "array", "items": {"type": "object"}}, "tool_choice": {"type": "object"}}}
EXAMPLE = {"model": "claude-sonnet-4-6", "max_tokens": 256,
           "messages": [{"role": "user", "content": "What is the capital of France?"}]}
ANSWER = {"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
          "content": [{"type": "text", "text": "Paris."}], "stop_reason": "end_turn", "stop_sequence": None,
          "usage": {"input_tokens": 14, "output_tokens": 4, "cache_read_input_tokens": 0,
                    "cache_creation_input_tokens": 0}}


def _errors() -> dict[str, Any]:
    return {str(status): {"description": when, "content": {"application/json": {"schema": ERROR}}}
            for status, when in STATUSES.items()}


ANTHROPIC_PATHS: dict[str, Any] = {
    "/v1/messages": {"post": {
        "operationId": "anthropic_messages", "tags": [TAG], "summary": "Anthropic's Messages API over the same service",
        "description": "A Claude target gets the body as it is (byte for byte when the model id needs no change) with "
                       "the anthropic-version and anthropic-beta headers, and its answer and stream events come back "
                       "as Anthropic sent them. Any other target (`openai/...`, `google/...`, `local/...`, an alias) "
                       "answers a translation of text, images (of the last user turn), tools and tool turns, "
                       "temperature, top_p, top_k, stop_sequences and max_tokens, in Anthropic's Message and event "
                       "shapes; earlier thinking blocks, `thinking`, `metadata` and cache_control marks mean nothing "
                       "to it and are dropped; anything else it cannot carry (documents, server tools, container, "
                       "images of earlier turns) is a 400 naming each field. Usage, limits, keys and fallbacks apply "
                       "as on every route (docs/anthropic-and-openai-sdks.md).",
        "parameters": HEADERS,
        "requestBody": {"required": True, "content": {"application/json": {"schema": MESSAGES, "example": EXAMPLE}}},
        "responses": {"200": {"description": "A Message, or with stream an event stream", "content": {
            "application/json": {"example": ANSWER},
            "text/event-stream": {"example": "event: message_start\ndata: {\"type\": \"message_start\", ...}\n\n"
                                             "event: content_block_delta\ndata: {\"type\": \"content_block_delta\", "
                                             "\"index\": 0, \"delta\": {\"type\": \"text_delta\", \"text\": \"Paris\"}}"
                                             "\n\nevent: message_stop\ndata: {\"type\": \"message_stop\"}\n\n"}}},
                      **_errors()}}},
    "/v1/messages/count_tokens": {"post": {
        "operationId": "anthropic_count_tokens", "tags": [TAG], "summary": "The tokens of a Messages request",
        "description": "Anthropic's own count for a Claude target (the body as it is); for any other target an "
                       "estimate with tiktoken's cl100k_base. Recorded in usage with endpoint `count_tokens`, no cost.",
        "parameters": HEADERS,
        "requestBody": {"required": True, "content": {"application/json": {"schema": MESSAGES, "example": {
            "model": "claude-sonnet-4-6", "messages": [{"role": "user", "content": "Hello"}]}}}},
        "responses": {"200": {"description": "The count", "content": {"application/json": {
            "example": {"input_tokens": 9}}}}, **_errors()}}},
}
