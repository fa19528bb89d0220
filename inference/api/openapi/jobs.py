"""OpenAPI for async jobs: the ``async`` query parameter and 202 of POST /v1/inference, and
GET /v1/tasks/{task_id}."""

from __future__ import annotations

from typing import Any

ASYNC_PARAMETER = {
    "name": "async", "in": "query", "required": False, "schema": {"type": "boolean", "default": False},
    "description": "true: check the request (key, namespace, body, target, inputs), queue it for a Celery worker "
                   "and answer 202 with a task id; poll GET /v1/tasks/{task_id}, or subscribe a websocket with "
                   "{\"type\": \"subscribe\", \"task_id\"} for progress events. For long work: audio over the "
                   "synchronous limit, big batches. Media URLs are fetched by the worker. Also accepted: 1 or yes "
                   "for true, 0 or no for false, in any case; any other value is a 422 ValidationError naming "
                   "the parameter (field \"async\"), and nothing runs."}

_QUEUED = {"task_id": "task_3f9a0c1d2e4b5a6978c0d1e2", "status": "queued", "progress": None,
           "request_id": "req_5b1f0e3a", "attempts": 0, "created_at": 1795467600.0, "updated_at": 1795467600.0,
           "status_url": "/v1/tasks/task_3f9a0c1d2e4b5a6978c0d1e2"}
ACCEPTED_RESPONSE = {"description": "Queued", "content": {"application/json": {"example": _QUEUED}}}

TASK_SCHEMA = {
    "type": "object", "required": ["task_id", "status", "progress", "request_id", "attempts", "status_url"],
    "properties": {
        "task_id": {"type": "string"},
        "status": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
        "progress": {"type": ["number", "null"], "minimum": 0, "maximum": 1,
                     "description": "Fraction done where the target reports it (transcription: audio time "
                                    "transcribed); 1 when done."},
        "request_id": {"type": "string", "description": "The id of its usage record."},
        "attempts": {"type": "integer", "description": "Runs started; more than 1 after a worker died mid-job."},
        "created_at": {"type": "number"}, "updated_at": {"type": "number"},
        "status_url": {"type": "string"},
        "response": {"$ref": "#/components/schemas/InferenceResponse", "description": "When done."},
        "error": {"type": "object", "description": "When failed: the error envelope the synchronous request "
                                                   "would have answered with."},
    },
}


def job_paths(error_response) -> dict[str, Any]:
    return {"/v1/tasks/{task_id}": {"get": {
        "operationId": "task_get",
        "summary": "An async job's status, progress, and its response or error envelope (its namespace only)",
        "parameters": [{"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"}},
                       {"name": "X-Namespace", "in": "header", "required": True, "schema": {"type": "string"}}],
        "responses": {
            "200": {"description": "The job", "content": {"application/json": {"schema": TASK_SCHEMA, "example": {
                **_QUEUED, "status": "done", "progress": 1.0, "attempts": 1, "response": {
                    "data": {"text": "The quick brown fox jumps over the lazy dog.", "language": "en",
                             "duration_s": 3.287, "segments": [{"start_s": 0.0, "end_s": 3.0,
                                                                "text": "The quick brown fox jumps over the lazy dog."}]},
                    "provider": "local", "model": "whisper-tiny-en", "latency_ms": 1210.4,
                    "tokens_used": {"prompt": 0, "completion": 12, "total": 12}, "cached": False}}}}},
            **{str(status): error_response(status) for status in (400, 401, 403, 404)},
        },
    }}}
