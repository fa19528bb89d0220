"""OpenAPI for datasets and evaluation runs (inference/api/evals.py)."""

from __future__ import annotations

from typing import Any, Callable

from inference.evals.datasets import FORMATS, MAX_BYTES, MAX_COLUMNS, MAX_ROWS
from inference.evals.scorers import MAX_SCORERS, TYPES
from inference.evals.services import MAX_PROMPTS, MAX_TARGETS

_NAMESPACE = {"name": "namespace", "in": "path", "required": True, "schema": {"type": "string"},
              "description": "Namespace id (ns_...) or name."}
_DATASET = {"name": "dataset", "in": "path", "required": True, "schema": {"type": "string"},
            "description": "The dataset's ds_... id or its name."}
_RUN = {"name": "run", "in": "path", "required": True, "schema": {"type": "string"},
        "description": "The run's ev_... id."}
_UPLOAD = {
    "type": "object", "additionalProperties": False, "required": ["name", "format", "content"],
    "description": f"A file's text: CSV with a header row, or JSON Lines of flat objects. At most {MAX_BYTES} bytes, "
                   f"{MAX_ROWS} rows and {MAX_COLUMNS} columns; column names are variable names; a column named "
                   "`expected` holds the expected output.",
    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100},
                   "format": {"enum": list(FORMATS)}, "content": {"type": "string"}}}
_DATASET_ITEM = {"id": "ds_Qw8c3VbN0sT1xY2z", "name": "topics", "columns": ["topic", "expected"], "rows": 20,
                 "has_expected": True, "size_bytes": 512, "created_at": "2026-12-06T10:00:00+00:00"}
_RUN_BODY = {
    "type": "object", "additionalProperties": False, "required": ["dataset", "prompts"],
    "description": "Columns are prompts x targets (no targets: each saved version's own); cells are rows x columns.",
    "properties": {
        "dataset": {"type": "string", "description": "The dataset's ds_... id or name."},
        "name": {"type": "string", "maxLength": 100},
        "prompts": {"type": "array", "minItems": 1, "maxItems": MAX_PROMPTS, "items": {
            "type": "object", "description": "A saved prompt `{prompt, version | label}` (neither: the latest), or a "
                                             "raw prompt `{system?, messages?, target?, parameters?}`."}},
        "targets": {"type": "array", "maxItems": MAX_TARGETS, "items": {"type": "string"},
                    "description": "provider/model or a model alias of the namespace."},
        "parameters": {"type": "object", "description": "Over each prompt's own parameters."},
        "scorers": {"type": "array", "maxItems": MAX_SCORERS, "items": {
            "type": "object", "required": ["type"], "properties": {"type": {"enum": list(TYPES)}},
            "description": "exact {ignore_case?}, contains {value?, ignore_case?}, regex {pattern, ignore_case?}, "
                           "json_schema {schema}, embedding {target?}, llm_judge {target, instructions?}."}}}}
_RUN_EXAMPLE = {"dataset": "topics", "prompts": [{"prompt": "summary", "version": 1},
                                                 {"prompt": "summary", "version": 2}],
                "targets": ["local/smollm2-135m-instruct"], "parameters": {"max_tokens": 32},
                "scorers": [{"type": "contains"}, {"type": "embedding"}]}
_TOTAL = {"column": 0, "label": "summary v1 · local/smollm2-135m-instruct", "cells": 20, "failed": 0,
          "latency_ms_mean": 412.5, "tokens": 1260, "cost_usd": 0.0, "scores": {"contains": 0.35, "embedding": 0.71}}
_RUN_ITEM = {"id": "ev_Lm2x8QpR4tZ0aB7c", "name": "", "status": "running",
             "dataset": {"id": "ds_Qw8c3VbN0sT1xY2z", "name": "topics"},
             "columns": [{"label": "summary v1 · local/smollm2-135m-instruct", "target": "local/smollm2-135m-instruct",
                          "prompt_id": "pr_Qw8c3VbN0sT1xY2z", "prompt": "summary", "version": 1,
                          "variables": ["topic"], "parameters": {"max_tokens": 32}}],
             "scorers": [{"name": "contains", "type": "contains", "ignore_case": False}], "total": 40, "done": 20,
             "failed": 0, "progress": 0.5, "error": None, "attempts": 1, "created_at": "2026-12-06T10:00:00+00:00",
             "started_at": "2026-12-06T10:00:01+00:00", "finished_at": None, "totals": [_TOTAL]}
_CELL = {"row": 0, "column": 0, "ok": True, "output": "pgvector stores vectors in PostgreSQL.", "latency_ms": 410.2,
         "tokens": 63, "prompt_tokens": 40, "completion_tokens": 23, "cost_usd": 0.0,
         "scores": {"contains": 1.0}, "notes": {}, "error": None}


def _json(example: Any, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"example": example}}}


def eval_paths(error_response: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
    def errors(*statuses: int) -> dict[str, Any]:
        return {str(s): error_response(s) for s in statuses}

    base = "/v1/namespaces/{namespace}"
    return {
        f"{base}/datasets": {
            "get": {"operationId": "datasets_list", "summary": "The namespace's datasets; needs read",
                    "parameters": [_NAMESPACE],
                    "responses": {"200": _json({"namespace": "ns_w2nYIIcr5feSolK5", "data": [_DATASET_ITEM]},
                                               "One item per dataset"), **errors(401, 403, 404)}},
            "post": {"operationId": "dataset_create", "summary": "Upload a dataset (CSV or JSONL text); needs write",
                     "parameters": [_NAMESPACE],
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": _UPLOAD, "example": {"name": "topics", "format": "csv",
                                                        "content": "topic,expected\npgvector,PostgreSQL\n"}}}},
                     "responses": {"201": _json({**_DATASET_ITEM, "preview": [{"topic": "pgvector",
                                                                               "expected": "PostgreSQL"}]}, "Stored"),
                                   **errors(400, 401, 403, 404, 413, 415, 422)}}},
        f"{base}/datasets/{{dataset}}": {
            "get": {"operationId": "dataset_get", "summary": "A dataset with its first 20 rows; needs read",
                    "parameters": [_NAMESPACE, _DATASET],
                    "responses": {"200": _json(_DATASET_ITEM, "The dataset"), **errors(401, 403, 404)}},
            "delete": {"operationId": "dataset_delete", "summary": "Delete a dataset and every run over it; needs write",
                       "parameters": [_NAMESPACE, _DATASET],
                       "responses": {"204": {"description": "Deleted"}, **errors(401, 403, 404)}}},
        f"{base}/evals": {
            "get": {"operationId": "evals_list", "summary": "The namespace's latest 50 evaluation runs; needs read",
                    "parameters": [_NAMESPACE],
                    "responses": {"200": _json({"namespace": "ns_w2nYIIcr5feSolK5", "data": [_RUN_ITEM]},
                                               "Newest first, without totals"), **errors(401, 403, 404)}},
            "post": {"operationId": "eval_create",
                     "summary": "Start an evaluation run (queued for a worker; progress on the websocket); needs write",
                     "parameters": [_NAMESPACE],
                     "requestBody": {"required": True, "content": {"application/json": {"schema": _RUN_BODY,
                                                                                        "example": _RUN_EXAMPLE}}},
                     "responses": {"202": _json({**_RUN_ITEM, "status": "queued", "done": 0, "progress": 0.0},
                                                "Queued"), **errors(400, 401, 403, 404, 413, 415, 422, 503)}}},
        f"{base}/evals/compare": {
            "get": {"operationId": "evals_compare", "summary": "Two runs side by side; needs read",
                    "parameters": [_NAMESPACE, *[{"name": name, "in": "query", "required": True,
                                                  "schema": {"type": "string"}, "description": "A run's ev_... id."}
                                                 for name in ("a", "b")]],
                    "responses": {"200": _json({"a": _RUN_ITEM, "b": _RUN_ITEM, "same_dataset": True,
                                                "shared_scorers": ["contains"], "rows": [
                                                    {"row": 0, "values": {"topic": "pgvector"}, "a": [_CELL],
                                                     "b": [_CELL], "score_a": 1.0, "score_b": 1.0,
                                                     "differs": False}]}, "Both runs, and per row both runs' cells"),
                                  **errors(401, 403, 404, 422)}}},
        f"{base}/evals/{{run}}": {
            "get": {"operationId": "eval_get", "summary": "A run: status, progress and totals per column; needs read",
                    "parameters": [_NAMESPACE, _RUN],
                    "responses": {"200": _json(_RUN_ITEM, "The run"), **errors(401, 403, 404)}}},
        f"{base}/evals/{{run}}/cancel": {
            "post": {"operationId": "eval_cancel",
                     "summary": "Cancel a queued or running run (the worker stops before its next cell); needs write",
                     "parameters": [_NAMESPACE, _RUN],
                     "responses": {"200": _json({**_RUN_ITEM, "status": "cancelled"}, "The run"),
                                   **errors(401, 403, 404)}}},
        f"{base}/evals/{{run}}/cells": {
            "get": {"operationId": "eval_cells", "summary": "The grid, a page of rows at a time; needs read",
                    "parameters": [_NAMESPACE, _RUN, {"name": "offset", "in": "query", "required": False,
                                                      "schema": {"type": "string"},
                                                      "description": "The first row (0, 1, ...)."}],
                    "responses": {"200": _json({"run": "ev_Lm2x8QpR4tZ0aB7c", "offset": 0, "next_offset": None,
                                                "rows": [{"row": 0, "values": {"topic": "pgvector"},
                                                          "cells": [_CELL]}]}, "Rows with their cells"),
                                  **errors(401, 403, 404, 422)}}},
        f"{base}/evals/{{run}}/export.csv": {
            "get": {"operationId": "eval_export", "summary": "The run as CSV, a line per cell; needs read",
                    "parameters": [_NAMESPACE, _RUN],
                    "responses": {"200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
                                  **errors(401, 403, 404)}}},
    }
