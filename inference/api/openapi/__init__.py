"""The OpenAPI 3.1 document served at /v1/openapi.json and rendered at /v1/docs.

Written out by hand from the contract (docs/contract.md) so that it says exactly what the endpoint does,
including where we decided what the Mixpeek contract leaves open.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from inference.api.openapi.anthropic import ANTHROPIC_PATHS
from inference.api.openapi.cache import CACHE_PATHS
from inference.api.openapi.evals import eval_paths
from inference.api.openapi.jobs import ACCEPTED_RESPONSE, ASYNC_PARAMETER, job_paths
from inference.api.openapi.keys import key_paths
from inference.api.openapi.namespaces import deployment_paths, namespace_paths
from inference.api.openapi.openai import OPENAI_PATHS
from inference.api.openapi.plugins import PLUGIN_PATHS
from inference.api.openapi.prompts import prompt_paths
from inference.api.openapi.usage import usage_paths
from inference.request import BODY_KEYS, DEFAULT_CACHE_DELTA

ERROR_STATUSES = {
    400: ("BadRequestError", "Unknown provider/model combination, not exactly one target, malformed JSON, "
          "missing X-Namespace header."),
    401: ("UnauthorizedError", "Missing, malformed, unknown, revoked or expired API key."),
    403: ("ForbiddenError", "The key may not use this namespace, or lacks the permission."),
    404: ("NotFoundError", "Namespace, plugin or feature URI unknown (other organizations' namespaces look unknown)."),
    405: ("MethodNotAllowedError", "Only POST is served here."),
    413: ("PayloadTooLargeError", "Body over the limit (10 MB by default)."),
    415: ("UnsupportedMediaTypeError", "Content-Type is not application/json."),
    422: ("ValidationError", "Schema violations, unknown keys, inputs the target does not read; "
          "`details.errors` lists each field and problem."),
    429: ("TooManyRequestsError", "Our limits or the provider's; see Retry-After and X-RateLimit-* headers."),
    500: ("InternalServerError", "Our own fault; never carries a stack trace or a secret. A plugin that raised or "
          "returned data that is not its modality's shape answers type `PluginError`, `details.plugin` naming it."),
    502: ("ProviderError", "The provider answered with an error."),
    503: ("InferenceServiceUnavailableError", "Provider not configured or circuit open. Type `ServiceUnavailableError` "
          "(with Retry-After) when the database cannot be reached, or Redis with limits set to fail closed."),
    504: ("TimeoutError", "The provider (or the plugin, within its timeout) did not answer in time."),
}

EXAMPLES = {
    "local_chat": {
        "summary": "Chat on the local SmolLM2 model (a batch of prompts)",
        "value": {"provider": "local", "model": "smollm2-135m-instruct",
                  "inputs": {"prompts": ["What is the capital of France?"], "system": "Answer briefly."},
                  "parameters": {"temperature": 0.2, "max_tokens": 64}},
    },
    "local_messages": {
        "summary": "One conversation as messages",
        "value": {"provider": "local", "model": "smollm2-135m-instruct",
                  "inputs": {"messages": [{"role": "user", "content": "Name a primary colour."},
                                          {"role": "assistant", "content": "Red."},
                                          {"role": "user", "content": "Another one?"}]},
                  "parameters": {"max_tokens": 16, "seed": 7}},
    },
    "local_embedding": {
        "summary": "Text embedding on the local all-MiniLM-L6-v2 model",
        "value": {"provider": "local", "model": "all-minilm-l6-v2", "inputs": {"text": "machine learning"}},
    },
    "local_embeddings": {
        "summary": "A batch of text embeddings",
        "value": {"provider": "local", "model": "all-minilm-l6-v2",
                  "inputs": {"texts": ["machine learning", "deep learning"]}},
    },
    "openai_vision": {
        "summary": "Vision (a cloud provider, once configured)",
        "value": {"provider": "openai", "model": "gpt-4o", "inputs": {"prompts": ["Describe this image"],
                  "image_url": "https://example.com/image.jpg"}, "parameters": {"temperature": 0.5}},
    },
    "transcription": {
        "summary": "Transcription (a cloud provider, once configured)",
        "value": {"provider": "openai", "model": "whisper-1", "inputs": {"audio_url": "https://example.com/a.mp3"}},
    },
    "tools": {
        "summary": "Tool calling: the model calls get_weather, or answers the tool's result (any cloud chat model)",
        "value": {"provider": "openai", "model": "gpt-5-mini",
                  "inputs": {"messages": [
                      {"role": "user", "content": "What is the weather in Paris?"},
                      {"role": "assistant", "content": None, "tool_calls": [
                          {"id": "call_1", "name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}]},
                      {"role": "tool", "tool_call_id": "call_1", "content": "18 degrees, sunny"}]},
                  "parameters": {"reasoning_effort": "low", "tools": [
                      {"name": "get_weather", "description": "The weather in a city now.",
                       "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                      "required": ["city"]}}]}},
    },
    "plugin": {
        "summary": "A plugin by inference name",
        "value": {"inference_name": "my_text_embedder_1_0_0", "inputs": {"text": "hello world"}, "parameters": {}},
    },
    "feature_uri": {
        "summary": "A plugin by feature URI (the built-in extractor of the local text embedder)",
        "value": {"feature_uri": "mixpeek://text_extractor@v1/minilm_l6_v2",
                  "inputs": {"text": "hello world"}},
    },
}

RESPONSE_EXAMPLES = {
    "chat": {"summary": "chat / vision", "value": {
        "data": {"responses": [{"text": "Paris.", "finish_reason": "stop"}]}, "provider": "local",
        "model": "smollm2-135m-instruct", "latency_ms": 412.7,
        "tokens_used": {"prompt": 15, "completion": 3, "total": 18}, "cached": False}},
    "tool_calls": {"summary": "chat that called a tool", "value": {
        "data": {"responses": [{"text": "", "finish_reason": "tool_calls", "tool_calls": [
            {"id": "call_1", "name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}]}]},
        "provider": "openai", "model": "gpt-5-mini", "latency_ms": 850.2,
        "tokens_used": {"prompt": 80, "completion": 30, "total": 110, "cache_read": 64, "reasoning": 12},
        "cached": False}},
    "embedding": {"summary": "one embedding (`text`)", "value": {
        "data": {"embedding": [0.0123, -0.0456, "…"], "dimensions": 384}, "provider": "local",
        "model": "all-minilm-l6-v2", "latency_ms": 6.1, "tokens_used": {"prompt": 4, "completion": 0, "total": 4},
        "cached": False}},
    "embeddings": {"summary": "several embeddings (`texts`)", "value": {
        "data": {"embeddings": [[0.0123, "…"], [0.0789, "…"]], "dimensions": 384}, "provider": "local",
        "model": "all-minilm-l6-v2", "latency_ms": 7.9, "tokens_used": {"prompt": 8, "completion": 0, "total": 8},
        "cached": False}},
    "video": {"summary": "video embedding", "value": {
        "data": {"segments": [{"start_s": 0.0, "end_s": 16.0, "embedding": [0.01, "…"]}], "dimensions": 1408},
        "provider": "google", "model": "multimodalembedding", "latency_ms": 2310.0,
        "tokens_used": {"prompt": 0, "completion": 0, "total": 0}, "cached": False}},
    "transcription": {"summary": "transcription", "value": {
        "data": {"text": "Hello there.", "language": "en", "duration_s": 1.4,
                 "segments": [{"start_s": 0.0, "end_s": 1.4, "text": "Hello there."}]},
        "provider": "openai", "model": "whisper-1", "latency_ms": 820.0,
        "tokens_used": {"prompt": 0, "completion": 0, "total": 0}, "cached": False}},
}


def _number_array() -> dict[str, Any]:
    return {"type": "array", "items": {"type": "number"}}


SCHEMAS: dict[str, Any] = {
    "InferenceRequest": {
        "type": "object",
        "additionalProperties": False,
        "anyOf": [{"required": ["inputs"]}, {"required": ["prompt"]}],
        "description": "Exactly one target: `provider` + `model`, or `model` alone (a model alias of the "
                       "namespace), or `inference_name`, or `feature_uri` (anything else is a 400), unless a saved "
                       "`prompt` names one. `inputs`, or a `prompt` in its place. Unknown keys are a 422 naming the "
                       "accepted keys.",
        "properties": {
            "provider": {"type": "string", "maxLength": 200, "examples": ["local", "openai", "anthropic", "google"],
                         "description": "`openai`, `anthropic`, `google` (alias `gemini`), `local`, or a configured "
                                        "OpenAI-compatible endpoint's name."},
            "model": {"type": "string", "maxLength": 200,
                      "examples": ["smollm2-135m-instruct", "all-minilm-l6-v2", "gpt-4o-mini", "gpt-5.2"],
                      "description": "Any model id of a cloud or OpenAI-compatible provider is forwarded: one "
                                     "Infergate's catalog does not list is routed by the shape of the inputs and "
                                     "the provider decides (its cost is recorded as unknown where no price table "
                                     "knows it). Local models are the ones GET /v1/models lists. Without "
                                     "`provider`: one of the namespace's model aliases (routing.aliases), else a "
                                     "plugin's inference name."},
            "inference_name": {"type": "string", "maxLength": 200, "examples": ["my_text_embedder_1_0_0"]},
            "feature_uri": {"type": "string", "maxLength": 200,
                            "examples": ["mixpeek://text_extractor@v1/multilingual_e5_large_instruct_v1"]},
            "inputs": {"type": "object", "description":
                       "By modality. chat: `prompts` (array of strings, each answered on its own) or `messages` "
                       "(array of ChatMessage: {role, content}; an assistant turn may carry the `tool_calls` it "
                       "made, a `tool` turn answers one by `tool_call_id`), optional `system`. vision: chat inputs "
                       "plus `image_url`, `image_base64` or `images`. text embedding: `text` or `texts`. multimodal "
                       "embedding: one of `text`, `image_url`, `image_base64`, `video_url`, `video_base64`. transcription: "
                       "`audio_url` or `audio_base64`. A key the target does not read is a 422."},
            "parameters": {"type": "object", "description":
                           "Those Infergate models are declared per model (see GET /v1/models) and checked: "
                           "`temperature` (0-2), `max_tokens`, `top_p` (0-1), `stop` (string or up to 4), `seed`, "
                           "`schema`, `dimensions`, `language`, `prompt`, `tools` (array of Tool), `tool_choice` "
                           "(ToolChoice); one a model does not declare is a 422. "
                           "Any other (`reasoning_effort`, `frequency_penalty`, `logit_bias`, Anthropic's "
                           "`thinking`, Gemini's `safety_settings`, ...) goes to a cloud or OpenAI-compatible "
                           "provider as it is sent, and the provider decides (its refusal is a 400 with its "
                           "message); local models and plugins take only what they declare."},
            "enable_semantic_cache": {"type": "boolean", "default": False},
            "cache_delta": {"type": "number", "minimum": 0, "maximum": 1, "default": DEFAULT_CACHE_DELTA},
            "prompt": {"type": "object", "required": ["id"], "additionalProperties": False,
                       "description": "An extension of the contract: a saved prompt of the namespace in place of "
                                      "`inputs` (docs/prompts.md). Its version's messages and system text with "
                                      "`variables` filled in become the inputs; its target applies unless the "
                                      "request names one; its parameters are defaults under the request's. Without "
                                      "`version` or `label`: the latest version. The usage record names the prompt "
                                      "and version. Every variable must be given, and no other (422).",
                       "properties": {"id": {"type": "string", "description": "The prompt's pr_... id or its name."},
                                      "version": {"type": "integer", "minimum": 1},
                                      "label": {"type": "string", "examples": ["production"]},
                                      "variables": {"type": "object", "additionalProperties": {
                                          "type": ["string", "number", "boolean"]}}},
                       "examples": [{"id": "summary", "label": "production",
                                     "variables": {"topic": "pgvector", "audience": "new engineers"}}]},
        },
    },
    "TokensUsed": {
        "type": "object", "required": ["prompt", "completion", "total"], "additionalProperties": {"type": "integer"},
        "description": "Always integers, 0 where a count does not apply. Where the provider reported them: "
                       "cache_read and cache_write, the prompt tokens read from and written to its prompt cache "
                       "(part of prompt, priced at the table's cache rates), and reasoning (part of completion).",
        "properties": {"prompt": {"type": "integer"}, "completion": {"type": "integer"}, "total": {"type": "integer"},
                       "cache_read": {"type": "integer"}, "cache_write": {"type": "integer"},
                       "reasoning": {"type": "integer"}},
    },
    "ChatData": {
        "type": "object", "required": ["responses"],
        "properties": {"responses": {"type": "array", "items": {
            "type": "object", "required": ["text", "finish_reason"],
            "properties": {"text": {"type": "string", "description": "Empty when the model only called tools."},
                           "finish_reason": {"type": "string", "examples": ["stop", "length", "tool_calls"]},
                           "structured": {"description": "Parsed JSON when `parameters.schema` was given."},
                           "tool_calls": {"type": "array", "items": {"$ref": "#/components/schemas/ToolCall"},
                                          "description": "The calls the model made (with `parameters.tools`); "
                                                         "answer each with a `tool` message."}}}}},
    },
    "Tool": {
        "type": "object", "required": ["name"], "additionalProperties": False,
        "description": "A function the model may call (`parameters.tools`, at most 1024 (OpenAI takes 128), names unique).",
        "properties": {"name": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_-]{0,63}$"},
                       "description": {"type": "string", "description": "What it does, for the model to read."},
                       "parameters": {"type": "object", "description": "JSON Schema (type object) of its arguments."},
                       "strict": {"type": "boolean", "description": "OpenAI's strict schema adherence; others ignore it."}},
    },
    "ToolChoice": {
        "description": "`auto` (the default: the model decides), `none`, `required` (some tool), or {name}: that tool.",
        "oneOf": [{"type": "string", "enum": ["auto", "none", "required"]},
                  {"type": "object", "required": ["name"], "additionalProperties": False,
                   "properties": {"name": {"type": "string"}}}],
    },
    "ToolCall": {
        "type": "object", "required": ["id", "name", "arguments"], "additionalProperties": False,
        "properties": {"id": {"type": "string", "description": "What the `tool` message answering it names."},
                       "name": {"type": "string"},
                       "arguments": {"type": "string", "description": "JSON text, as the model wrote it (it may not "
                                                                      "parse); an object is accepted in requests."}},
    },
    "ChatMessage": {
        "type": "object", "required": ["role", "content"], "additionalProperties": False,
        "description": "One turn of `inputs.messages`. Providers get each turn in their own shape (Anthropic "
                       "tool_use/tool_result blocks, Gemini functionCall/functionResponse parts).",
        "properties": {"role": {"type": "string", "enum": ["system", "user", "assistant", "tool"]},
                       "content": {"type": ["string", "null"], "description": "null or empty only for an assistant "
                                                                               "turn that called tools."},
                       "tool_calls": {"type": "array", "items": {"$ref": "#/components/schemas/ToolCall"}},
                       "tool_call_id": {"type": "string", "description": "A tool turn: the call it answers."}},
    },
    "EmbeddingData": {"type": "object", "required": ["embedding", "dimensions"],
                      "properties": {"embedding": _number_array(), "dimensions": {"type": "integer"}}},
    "EmbeddingsData": {"type": "object", "required": ["embeddings", "dimensions"],
                       "properties": {"embeddings": {"type": "array", "items": _number_array()},
                                      "dimensions": {"type": "integer"}}},
    "VideoEmbeddingData": {"type": "object", "required": ["segments", "dimensions"], "properties": {
        "segments": {"type": "array", "items": {"type": "object", "required": ["start_s", "end_s", "embedding"],
                     "properties": {"start_s": {"type": "number"}, "end_s": {"type": "number"},
                                    "embedding": _number_array()}}},
        "dimensions": {"type": "integer"}}},
    "TranscriptionData": {"type": "object", "required": ["text", "language", "duration_s", "segments"], "properties": {
        "text": {"type": "string"}, "language": {"type": "string"}, "duration_s": {"type": "number"},
        "segments": {"type": "array", "items": {"type": "object", "required": ["start_s", "end_s", "text"],
                     "properties": {"start_s": {"type": "number"}, "end_s": {"type": "number"},
                                    "text": {"type": "string"}}}}}},
    "InferenceResponse": {
        "type": "object", "required": ["data", "provider", "model", "latency_ms", "tokens_used", "cached"],
        "description": "One shape whether the answer came from a cloud provider, a local model or the cache. "
                       "For a plugin target, `provider` is `plugin` and `model` its inference name.",
        "properties": {
            "data": {"oneOf": [{"$ref": f"#/components/schemas/{name}"} for name in
                               ("ChatData", "EmbeddingData", "EmbeddingsData", "VideoEmbeddingData",
                                "TranscriptionData")]},
            "provider": {"type": "string"},
            "model": {"type": "string"},
            "latency_ms": {"type": "number", "description": "Measured by the server, from arrival to answer."},
            "tokens_used": {"$ref": "#/components/schemas/TokensUsed"},
            "cached": {"type": "boolean"},
        },
    },
    "ErrorResponse": {
        "type": "object", "required": ["success", "status", "error"],
        "properties": {
            "success": {"type": "boolean", "const": False},
            "status": {"type": "integer"},
            "error": {"type": "object", "required": ["message", "type"], "properties": {
                "message": {"type": "string"}, "type": {"type": "string"},
                "details": {"type": "object", "description": "For 422: `errors`, a list of {field, problem}."}}},
        },
    },
}


ATTEMPTS_HEADER_DOC = (
    "Sent when the namespace's routing names fallbacks for the target: every target tried, in order, with its "
    "status, e.g. `openai/gpt-4o-mini;status=502, anthropic/claude-haiku-4-5;status=200`. `provider` and `model` "
    "name the one that answered. When every target fails, the error carries the same header and "
    "`details.attempts` ([{provider, model, status, error_type}]).")


def _error_response(status: int) -> dict[str, Any]:
    error_type, when = ERROR_STATUSES[status]
    return {"description": f"{error_type}: {when}", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/ErrorResponse"},
        "example": {"success": False, "status": status, "error": {"message": when, "type": error_type}}}}}


REQUEST_ID = {"name": "X-Request-ID", "in": "header", "required": False, "schema": {"type": "string"},
              "description": "Echoed back on every response and recorded in usage and logs when it is 1-128 letters, "
                             "digits and `._:-`; anything else (or nothing) is replaced by a generated `req_...` id."}


NAMESPACE_IN_PATH = {"name": "namespace", "in": "path", "required": True, "schema": {"type": "string"},
                     "description": "Namespace id (ns_...) or name."}
PROVIDER_IN_PATH = {"name": "provider", "in": "path", "required": True, "schema": {"type": "string"},
                    "description": "A provider that takes credentials: openai, anthropic, google, or a configured "
                                   "compatible endpoint."}
_CREDENTIAL_TEXT = {"type": "string", "minLength": 1, "maxLength": 4096}
CREDENTIAL_BODY = {
    "type": "object", "minProperties": 1, "additionalProperties": False,
    "description": "The fields the provider takes (any non-empty set of them; a field it does not take is a 422 "
                   "listing those it does): api_key for openai, anthropic and compatible endpoints; for google, "
                   "api_key (Gemini API) and/or service_account_json with project and location (Vertex AI).",
    "properties": {
        "api_key": {**_CREDENTIAL_TEXT, "writeOnly": True},
        "service_account_json": {
            "oneOf": [_CREDENTIAL_TEXT, {"type": "object", "minProperties": 1}], "writeOnly": True,
            "description": "google: a service account's JSON key file, as its text or as the object (at most 4096 "
                           "characters as compact JSON)."},
        "project": {**_CREDENTIAL_TEXT, "description": "google: the Vertex AI project (default: the service "
                                                       "account's own)."},
        "location": {**_CREDENTIAL_TEXT, "description": "google: the Vertex AI location (default: us-central1)."},
    },
}
CREDENTIAL_ITEM = {"provider": "openai", "name": "", "set": True, "fields": ["api_key"],
                   "updated_at": "2026-11-23T20:30:00+00:00"}
CREDENTIAL_NAME_IN_PATH = {"name": "name", "in": "path", "required": True,
                           "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"},
                           "description": "A named credential of the provider (one per key, account or region), which "
                                          "a deployment of a model alias names as its `credential`."}
_CREDENTIAL_EXAMPLES = {
    "api_key": {"summary": "openai, anthropic, a compatible endpoint, or google's Gemini API",
                "value": {"api_key": "sk-..."}},
    "vertex": {"summary": "google on Vertex AI", "value": {
        "service_account_json": {"type": "service_account", "project_id": "my-project",
                                 "client_email": "infergate@my-project.iam.gserviceaccount.com",
                                 "private_key": "-----BEGIN PRIVATE KEY-----\n..."},
        "project": "my-project", "location": "us-central1"}}}


def _credential_operations(named: bool) -> dict[str, Any]:
    """PUT and DELETE of a provider's default credential, or of a named one."""
    suffix, what = ("_named", "a named credential of a provider") if named else ("", "a provider's credentials")
    parameters = [NAMESPACE_IN_PATH, PROVIDER_IN_PATH, *([CREDENTIAL_NAME_IN_PATH] if named else []), REQUEST_ID]
    return {
        "put": {
            "operationId": f"credential_set{suffix}",
            "summary": f"Set or replace {what} (write-only, encrypted at rest); needs admin",
            "parameters": parameters,
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": CREDENTIAL_BODY, "examples": _CREDENTIAL_EXAMPLES}}},
            "responses": {
                "200": {"description": "Set; the value is never returned",
                        "content": {"application/json": {"example": {**CREDENTIAL_ITEM,
                                                                     "name": "east" if named else ""}}}},
                **{str(status): _error_response(status) for status in (401, 403, 404, 415, 422)},
            },
        },
        "delete": {
            "operationId": f"credential_delete{suffix}",
            "summary": f"Remove {what}" + ("" if named else " (the environment's key applies again, if any)")
                       + "; needs admin",
            "parameters": parameters,
            "responses": {"204": {"description": "Removed"},
                          **{str(status): _error_response(status) for status in (401, 403, 404, 422)}},
        },
    }


CREDENTIAL_PATHS: dict[str, Any] = {
    "/v1/namespaces/{namespace}/credentials": {"get": {
        "operationId": "credentials_list",
        "summary": "Which providers have credentials set in the namespace (never their values); needs read",
        "parameters": [NAMESPACE_IN_PATH, REQUEST_ID],
        "responses": {
            "200": {"description": "One item per provider that takes a key",
                    "content": {"application/json": {"example": {"namespace": "ns_IR3dJ2nR4bRhEmYX",
                                                                 "data": [CREDENTIAL_ITEM]}}}},
            **{str(status): _error_response(status) for status in (401, 403, 404)},
        },
    }},
    "/v1/namespaces/{namespace}/credentials/{provider}": _credential_operations(named=False),
    "/v1/namespaces/{namespace}/credentials/{provider}/{name}": _credential_operations(named=True),
}


REQUEST_LOG_SETTINGS = {"namespace": "ns_IR3dJ2nR4bRhEmYX", "enabled": True, "retention_days": 7}
REQUEST_LOG_PATHS: dict[str, Any] = {
    "/v1/namespaces/{namespace}/request-log": {
        "get": {"operationId": "request_log_get",
                "summary": "Whether the namespace keeps its requests' bodies (off by default), and for how long; needs "
                           "read",
                "parameters": [NAMESPACE_IN_PATH, REQUEST_ID],
                "responses": {"200": {"description": "The settings", "content": {"application/json": {
                    "example": REQUEST_LOG_SETTINGS}}},
                              **{str(status): _error_response(status) for status in (401, 403, 404)}}},
        "patch": {"operationId": "request_log_update",
                  "summary": "Turn request-body logging on or off, and its retention (1-90 days); needs admin",
                  "description": "Bodies are stored as sent with media replaced by their SHA-256 and size, with the "
                                 "answer, and deleted after the retention (docs/usage.md: Request bodies).",
                  "parameters": [NAMESPACE_IN_PATH, REQUEST_ID],
                  "requestBody": {"required": True, "content": {"application/json": {
                      "schema": {"type": "object", "additionalProperties": False, "minProperties": 1,
                                 "properties": {"enabled": {"type": "boolean"},
                                                "retention_days": {"type": "integer", "minimum": 1, "maximum": 90}}},
                      "example": {"enabled": True, "retention_days": 7}}}},
                  "responses": {"200": {"description": "The settings now", "content": {"application/json": {
                      "example": REQUEST_LOG_SETTINGS}}},
                                **{str(status): _error_response(status) for status in (400, 401, 403, 404, 415, 422)}}},
    },
    "/v1/namespaces/{namespace}/requests/{request_id}": {"get": {
        "operationId": "request_body_get",
        "summary": "A logged request's body and answer (media replaced by references); needs admin",
        "parameters": [NAMESPACE_IN_PATH, {"name": "request_id", "in": "path", "required": True,
                                           "schema": {"type": "string"}}, REQUEST_ID],
        "responses": {"200": {"description": "The logged request", "content": {"application/json": {"example": {
            "request_id": "req_5b1f0e3a", "created_at": "2026-12-06T10:30:00+00:00", "endpoint": "inference",
            "status": 200, "body": {"provider": "local", "model": "smollm2-135m-instruct",
                                    "inputs": {"prompts": ["Hello"]}},
            "response": {"data": {"responses": [{"text": "Hi!", "finish_reason": "stop"}]}}}}}},
                      **{str(status): _error_response(status) for status in (401, 403, 404)}}}},
}


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    assert set(SCHEMAS["InferenceRequest"]["properties"]) == set(BODY_KEYS)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Infergate", "version": "0.1.0",
                 "description": "One authenticated endpoint for chat, vision, embeddings and transcription across "
                                "providers and local models. Wire-compatible with Mixpeek's POST /v1/inference."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "sk_live_... API key"}},
            "schemas": SCHEMAS,
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v1/inference": {"post": {
                "operationId": "inference_run",
                "summary": "Run inference on a provider model, a plugin or a feature URI",
                "parameters": [
                    {"name": "X-Namespace", "in": "header", "required": True, "schema": {"type": "string"},
                     "description": "Namespace id (ns_...) or name."},
                    REQUEST_ID,
                    ASYNC_PARAMETER,
                ],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/InferenceRequest"}, "examples": EXAMPLES}}},
                "responses": {
                    "200": {"description": "The inference result", "headers": {
                        "X-Request-ID": {"schema": {"type": "string"}},
                        "X-Infergate-Attempts": {"schema": {"type": "string"}, "description": ATTEMPTS_HEADER_DOC}},
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/InferenceResponse"},
                                "examples": RESPONSE_EXAMPLES}}},
                    "202": ACCEPTED_RESPONSE,
                    **{str(status): _error_response(status) for status in ERROR_STATUSES},
                },
            }},
            "/v1/inference/stream": {"post": {
                "operationId": "inference_stream",
                "summary": "The same request answered as Server-Sent Events (the websocket at the same path speaks "
                           "the same events)",
                "description": "Events: `start` {request_id, provider, model}; `delta` {index, text} as text is "
                               "generated; then `done` {response: the full response envelope} or `error` {error: the "
                               "error envelope}. Each SSE block is `event: <type>` and `data: <json>`. A request "
                               "refused before the stream starts (key, namespace, body) is answered like POST "
                               "/v1/inference: its status and the JSON envelope. A tool call arrives as `tool_call` "
                               "events: `index` (the answer), `call` (its position), `id` and `name` on its first "
                               "piece, and `arguments` pieces that join into its JSON text; `done` holds the whole "
                               "calls in `data.responses[i].tool_calls`. Targets that do not stream answer "
                               "with `start` and `done`. A client that disconnects stops the generation; its usage "
                               "record has status 499 (Cancelled) and the tokens produced so far.\n\n"
                               "Websocket: `ws://HOST/v1/inference/stream` with `Authorization` and `X-Namespace` on "
                               "the handshake, or `?ticket=` from POST /v1/inference/stream/tickets for a signed-in "
                               "browser session. Send request bodies one at a time; `{\"type\": \"cancel\"}` stops "
                               "the running one (answered with an `error` event of status 499). A refused key gets one "
                               "`error` event and the socket closes with code 4000 + the HTTP status.",
                "parameters": [{"name": "X-Namespace", "in": "header", "required": True, "schema": {"type": "string"}},
                               REQUEST_ID],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/InferenceRequest"},
                    "examples": {"local_chat": EXAMPLES["local_chat"]}}}},
                "responses": {
                    "200": {"description": "An event stream", "content": {"text/event-stream": {"example":
                        'event: start\ndata: {"type": "start", "request_id": "req_1", "provider": "local", '
                        '"model": "smollm2-135m-instruct"}\n\nevent: delta\ndata: {"type": "delta", "index": 0, '
                        '"text": "Paris"}\n\nevent: tool_call\ndata: {"type": "tool_call", "index": 0, "call": 0, '
                        '"id": "call_1", "name": "get_weather", "arguments": "{\\"ci"}\n\nevent: tool_call\ndata: '
                        '{"type": "tool_call", "index": 0, "call": 0, "arguments": "ty\\": \\"Paris\\"}"}\n\n'
                        'event: done\ndata: {"type": "done", "response": {...}}\n\n'}}},
                    **{str(status): _error_response(status) for status in (400, 401, 403, 404, 413, 415, 422)},
                },
            }},
            "/v1/inference/stream/tickets": {"post": {
                "operationId": "stream_ticket_create",
                "summary": "A 60-second ticket that lets a signed-in browser session open the websocket",
                "security": [],
                "description": "Session cookie and CSRF token required; body {\"namespace\": id or name}. Members "
                               "get read permission, organization admins read, write and admin.",
                "requestBody": {"required": True, "content": {"application/json": {"example": {"namespace": "demo"}}}},
                "responses": {"200": {"description": "The ticket", "content": {"application/json": {
                    "example": {"ticket": "eyJ1Ijo...", "expires_in": 60}}}},
                    **{str(status): _error_response(status) for status in (400, 401, 403, 404)}},
            }},
            "/v1/models": {"get": {
                "operationId": "models_list",
                "summary": "The catalog of models the namespace can address: modalities, input keys, parameters, price",
                "description": "Models are `kind: model`: first those Infergate registers and tests (`catalog: "
                               "infergate`), then the other ids genai-prices describes for a provider that forwards "
                               "any id (`catalog: genai-prices`), then ids only this namespace has used (`catalog: "
                               "null`). A catalog, not a gate: any id of a cloud or OpenAI-compatible provider is "
                               "forwarded. `configured`: the provider's credentials are set for the namespace (or "
                               "the server); `used`: the namespace has had answers from it; `price.known` false: "
                               "no price table knows it (its cost is recorded as unknown). The namespace's model "
                               "aliases are `kind: alias` (`target`, default `parameters`); plugins `kind: plugin` "
                               "and their feature URIs `kind: feature_uri`.",
                "parameters": [{"name": "X-Namespace", "in": "header", "required": False, "schema": {"type": "string"},
                                "description": "Required, except that it may be left out when the key is scoped "
                                               "to exactly one namespace (as on the OpenAI-compatible routes)."},
                               REQUEST_ID],
                "responses": {
                    "200": {"description": "OpenAI's list format, with Anthropic's fields (`type`, `display_name`, "
                                           "`created_at`: the epoch, release dates unknown; `has_more`, `first_id`, "
                                           "`last_id`: one page holds all) and Infergate's in each item",
                            "content": {"application/json": {"example": {"object": "list", "data": [{
                                "id": "local/all-minilm-l6-v2", "object": "model", "created": 0, "owned_by": "local",
                                "provider": "local", "model": "all-minilm-l6-v2", "modalities": ["text_embedding"],
                                "input_keys": ["text", "texts"], "parameters": [], "can_stream": False,
                                "dimensions": 384, "configured": True, "used": True, "catalog": "infergate",
                                "price": {"currency": "USD", "known": True, "prompt_per_million": 0.0,
                                          "completion_per_million": 0.0}}, {
                                "id": "fast", "object": "model", "kind": "alias", "created": 0,
                                "owned_by": "namespace", "target": "openai/gpt-5-mini",
                                "parameters": {"reasoning_effort": "low"}}]}}}},
                    **{str(status): _error_response(status) for status in (400, 401, 403, 404)},
                },
            }},
            "/v1/models/{model_id}": {"get": {
                "operationId": "model_retrieve",
                "summary": "One item of the catalog, as either SDK's models.retrieve asks for it",
                "description": "By its id (`local/all-minilm-l6-v2`, an alias, `plugin/...`), or by the id its "
                               "provider knows it by (`all-minilm-l6-v2`) when only one provider has that id. The "
                               "key may come as `Authorization: Bearer` or as `x-api-key` (Anthropic's SDKs), here "
                               "and on the list.",
                "parameters": [{"name": "model_id", "in": "path", "required": True, "schema": {"type": "string"}},
                               {"name": "X-Namespace", "in": "header", "required": False, "schema": {"type": "string"},
                                "description": "As on the list."}, REQUEST_ID],
                "responses": {
                    "200": {"description": "The item, in the list's format", "content": {"application/json": {
                        "example": {"id": "local/all-minilm-l6-v2", "object": "model", "type": "model",
                                    "display_name": "local/all-minilm-l6-v2", "created": 0,
                                    "created_at": "1970-01-01T00:00:00Z", "owned_by": "local", "kind": "model",
                                    "provider": "local", "model": "all-minilm-l6-v2"}}}},
                    **{str(status): _error_response(status) for status in (400, 401, 403, 404)},
                },
            }},
            **CREDENTIAL_PATHS,
            **CACHE_PATHS,
            **namespace_paths(_error_response),
            **deployment_paths(_error_response),
            **prompt_paths(_error_response),
            **eval_paths(_error_response),
            **REQUEST_LOG_PATHS,
            **job_paths(_error_response),
            **usage_paths(_error_response),
            **key_paths(_error_response),
            **PLUGIN_PATHS,
            **OPENAI_PATHS,
            **ANTHROPIC_PATHS,
            "/healthz": {"get": {"operationId": "healthz", "summary": "Liveness", "security": [],
                                 "responses": {"200": {"description": "The server is up"}}}},
            "/readyz": {"get": {"operationId": "readyz",
                                "summary": "Readiness: database and Redis reachable, usage records being stored",
                                "description": "checks.usage reports lag_s, the age of the oldest usage record "
                                               "not yet stored in PostgreSQL (not ready past lag_limit_s, "
                                               "INFERGATE_USAGE_LAG_READY_SECONDS; 0 turns that off), and "
                                               "dead_letters, the records PostgreSQL refused (kept for "
                                               "manage.py usage_dead_letters; they never make a node unready).",
                                "security": [],
                                "responses": {"200": {"description": "Ready"}, "503": {"description": "Not ready"}}}},
        },
    }
