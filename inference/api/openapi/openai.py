"""The OpenAI-compatible routes in the OpenAPI document (merged into ``inference.api.openapi``)."""

from __future__ import annotations

from typing import Any

from inference.api.openai_compat.chat import ACCEPTED as CHAT_KEYS
from inference.api.openai_compat.embeddings import ACCEPTED as EMBEDDING_KEYS
from inference.api.openai_compat.responses import ACCEPTED as RESPONSES_KEYS
from inference.api.openai_compat.transcriptions import FIELDS as TRANSCRIPTION_FIELDS
from inference.api.openai_compat.transport import FLAGS

TAG = "OpenAI-compatible"
NAMESPACE = {"name": "X-Namespace", "in": "header", "required": False, "schema": {"type": "string"},
             "description": "Namespace id (ns_...) or name. May be left out when the key is scoped to exactly one "
                            "namespace: that one is used. Otherwise its absence is a 400 (param `X-Namespace`)."}
SEMANTIC_CACHE = {"name": "X-Semantic-Cache", "in": "header", "required": False,
                  "schema": {"type": "string", "enum": list(FLAGS)},
                  "description": "The native `enable_semantic_cache` (any case). When sent, the response header "
                                 "`X-Semantic-Cache` says `hit` or `miss` (the response's `cached`)."}
CACHE_DELTA = {"name": "X-Cache-Delta", "in": "header", "required": False,
               "schema": {"type": "number", "minimum": 0, "maximum": 1}, "description": "The native `cache_delta`."}
REQUEST_ID = {"name": "X-Request-ID", "in": "header", "required": False, "schema": {"type": "string"},
              "description": "Echoed back on every response and recorded in usage and logs when it is 1-128 letters, "
                             "digits and `._:-`; anything else (or nothing) is replaced by a generated `req_...` id."}
MODEL = {"type": "string", "description": "`provider/model` (`local/smollm2-135m-instruct`, `openai/gpt-4o-mini`), "
                                          "`plugin/{inference_name}`, a feature URI, or a bare name: the namespace's "
                                          "alias, else a plugin's inference name (on /v1/responses: else an OpenAI "
                                          "model)."}
ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["message", "type", "param", "code"], "properties": {
        "message": {"type": "string"},
        "type": {"type": "string", "enum": ["invalid_request_error", "authentication_error", "permission_error",
                                            "not_found_error", "rate_limit_error", "server_error"]},
        "param": {"type": ["string", "null"], "description": "The request field at fault, where one is known."},
        "code": {"type": "string", "description": "The native error type in snake case (`validation_error`, "
                                                  "`unauthorized_error`, ...), or `model_not_found`."}}}}}
STATUSES = {400: "Malformed JSON or multipart, unknown provider model (code `model_not_found`), missing X-Namespace, "
                 "bad base64 or audio", 401: "Missing or bad key", 403: "The key may not use this namespace",
            404: "Unknown namespace or plugin", 405: "Not POST", 413: "Body over the limit",
            415: "Wrong Content-Type", 422: "Unsupported or invalid fields, parameters the model does not take",
            429: "Rate limited", 500: "Our fault", 502: "The provider failed", 503: "Provider not configured",
            504: "The provider did not answer in time"}


def _errors() -> dict[str, Any]:
    return {str(status): {"description": when, "content": {"application/json": {"schema": ERROR}}}
            for status, when in STATUSES.items()}


def _operation(operation_id: str, summary: str, description: str, request: dict[str, Any],
               ok: dict[str, Any], cache: bool = False) -> dict[str, Any]:
    headers = [NAMESPACE, REQUEST_ID, *([SEMANTIC_CACHE, CACHE_DELTA] if cache else [])]
    return {"post": {"operationId": operation_id, "tags": [TAG], "summary": summary, "description": description,
                     "parameters": headers, "requestBody": {"required": True, "content": request},
                     "responses": {"200": ok, **_errors()}}}


CHAT_EXAMPLE = {"model": "local/smollm2-135m-instruct", "temperature": 0, "max_tokens": 16,
                "messages": [{"role": "user", "content": "What is the capital of France?"}]}
CHAT_ANSWER = {"id": "chatcmpl-req_8130c0bc3c28414ab5ea71e2b1180273", "object": "chat.completion",
               "created": 1795467713, "model": "local/smollm2-135m-instruct", "system_fingerprint": None,
               "choices": [{"index": 0, "message": {"role": "assistant",
                                                    "content": "L'Étoile, la Marseillaise, la femme,",
                                                    "refusal": None}, "logprobs": None, "finish_reason": "length"}],
               "usage": {"prompt_tokens": 37, "completion_tokens": 16, "total_tokens": 53}}
CHUNKS = ('data: {"id": "chatcmpl-req_1", "object": "chat.completion.chunk", "created": 1795467713, "model": '
          '"local/smollm2-135m-instruct", "system_fingerprint": null, "choices": [{"index": 0, "delta": {"role": '
          '"assistant", "content": ""}, "logprobs": null, "finish_reason": null}], "usage": null}\n\n'
          'data: {..., "choices": [{"index": 0, "delta": {"content": "Red"}, ...}], "usage": null}\n\n'
          'data: {..., "choices": [{"index": 0, "delta": {}, "logprobs": null, "finish_reason": "length"}], '
          '"usage": null}\n\n'
          'data: {..., "choices": [], "usage": {"prompt_tokens": 35, "completion_tokens": 8, "total_tokens": 43}}\n\n'
          'data: [DONE]\n\n')
RESPONSES_EXAMPLE = {"model": "local/smollm2-135m-instruct", "instructions": "Answer briefly.", "temperature": 0,
                     "max_output_tokens": 16, "input": "What is the capital of France?"}
RESPONSES_ANSWER = {
    "id": "resp_req_8130c0bc3c28414ab5ea71e2b1180273", "object": "response", "created_at": 1795467713,
    "status": "incomplete", "model": "local/smollm2-135m-instruct", "completed_at": 1795467714,
    "output": [{"id": "msg_req_8130c0bc3c28414ab5ea71e2b1180273_0", "type": "message", "role": "assistant",
                "status": "incomplete", "content": [{"type": "output_text", "annotations": [], "logprobs": [],
                                                     "text": "The capital of France is Paris. It is the largest"}]}],
    "error": None, "incomplete_details": {"reason": "max_output_tokens"},
    "usage": {"input_tokens": 41, "output_tokens": 16, "total_tokens": 57,
              "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
              "output_tokens_details": {"reasoning_tokens": 0}},
    "instructions": "Answer briefly.", "metadata": {}, "parallel_tool_calls": True, "temperature": 0, "top_p": None,
    "tool_choice": "auto", "tools": [], "max_output_tokens": 16, "previous_response_id": None, "reasoning": None,
    "text": {"format": {"type": "text"}}, "truncation": "disabled", "user": None, "background": False}
RESPONSE_EVENTS = (
    'event: response.created\ndata: {"type": "response.created", "sequence_number": 0, "response": {"id": '
    '"resp_req_1", "object": "response", "status": "in_progress", "output": [], ...}}\n\n'
    'event: response.in_progress\ndata: {"type": "response.in_progress", "sequence_number": 1, ...}\n\n'
    'event: response.output_item.added\ndata: {"type": "response.output_item.added", "sequence_number": 2, '
    '"output_index": 0, "item": {"id": "msg_req_1_0", "type": "message", "role": "assistant", "status": '
    '"in_progress", "content": []}}\n\n'
    'event: response.content_part.added\ndata: {..., "item_id": "msg_req_1_0", "output_index": 0, '
    '"content_index": 0, "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []}}\n\n'
    'event: response.output_text.delta\ndata: {..., "sequence_number": 4, "item_id": "msg_req_1_0", '
    '"output_index": 0, "content_index": 0, "delta": "Paris", "logprobs": []}\n\n'
    'event: response.output_text.done\ndata: {..., "text": "Paris"}\n\n'
    'event: response.content_part.done\ndata: {...}\n\n'
    'event: response.output_item.done\ndata: {..., "item": {..., "status": "completed"}}\n\n'
    'event: response.completed\ndata: {"type": "response.completed", "sequence_number": 8, "response": {..., '
    '"status": "completed", "usage": {...}}}\n\n')

RESPONSE_ID = {"name": "response_id", "in": "path", "required": True, "schema": {"type": "string"},
               "description": "A `resp_...` id that `POST /v1/responses` answered for an openai target in this "
                              "namespace."}
# A stored response's routes: path -> method -> (operationId, summary).
STORED = {
    "/v1/responses/{response_id}": {
        "get": ("openai_response_retrieve", "A response OpenAI stored for this namespace, as OpenAI answers it"),
        "delete": ("openai_response_delete", "Delete a response OpenAI stored for this namespace")},
    "/v1/responses/{response_id}/cancel": {
        "post": ("openai_response_cancel", "Cancel a background response of this namespace")},
    "/v1/responses/{response_id}/input_items": {
        "get": ("openai_response_input_items", "The input items of a response OpenAI stored for this namespace")},
}
STORED_DESCRIPTION = (
    "For a response that `POST /v1/responses` made on an `openai` target in this namespace (and OpenAI stored: not "
    "`store: false`), relayed to OpenAI with the credential (and deployment endpoint) that made it, the query "
    "string as sent (`include`, `limit`, `after`, `order`, ...); OpenAI's answer comes back as it is. Any other "
    "id, another namespace's included, a translated response's, or one OpenAI no longer has, is a 404 (param "
    "`response_id`). GET reads (read permission); DELETE and cancel need write. `stream=true` on GET is a 400: "
    "a stored response is not streamed again. Counted against the request rate limits; no usage record (no model "
    "runs).")


def _stored(operation_id: str, summary: str) -> dict[str, Any]:
    return {"operationId": operation_id, "tags": [TAG], "summary": summary, "description": STORED_DESCRIPTION,
            "parameters": [RESPONSE_ID, NAMESPACE, REQUEST_ID],
            "responses": {"200": {"description": "OpenAI's answer: the response object (cancel: with its new "
                                                 "status), `{id, object, deleted}`, or a list of input items",
                                  "content": {"application/json": {"example": {
                                      "id": "resp_68af...", "object": "response", "status": "completed"}}}},
                          **_errors()}}


OPENAI_PATHS: dict[str, Any] = {
    "/v1/chat/completions": _operation(
        "openai_chat_completions", "OpenAI's chat completions over the same service",
        "Translated keys: " + ", ".join(f"`{k}`" for k in CHAT_KEYS) + "; any other key (`reasoning_effort`, "
        "`frequency_penalty`, `logit_bias`, `logprobs`, `parallel_tool_calls`, `service_tier`, `metadata`, ...) "
        "goes to the target as a parameter: a cloud provider decides on it, a local model refuses it (422). "
        "Messages with roles system, developer (as system), user, assistant (with `tool_calls`) and tool (with "
        "`tool_call_id`); content a string or text and image_url parts (images go with the last user message). "
        "`tools` (type function), `tool_choice`; the answer's `message.tool_calls` (finish_reason `tool_calls`), "
        "streamed as `delta.tool_calls` pieces; Anthropic and Gemini models get them in their own shapes. "
        "`max_completion_tokens` or `max_tokens`; `response_format` text, json_object or json_schema (for models "
        "that take a schema); only `n: 1`. `usage.prompt_tokens_details.cached_tokens` and "
        "`usage.completion_tokens_details.reasoning_tokens` carry the provider's counts. With `stream: true`: "
        "`chat.completion.chunk` events ending with `data: [DONE]`; `stream_options.include_usage` adds "
        "`usage: null` to every chunk and a last chunk with no choices and the usage. A failure after the stream "
        "started arrives as `data: {\"error\": {...}}` (no [DONE]); a client that disconnects stops the "
        "generation (usage status 499).",
        {"application/json": {"schema": {"type": "object", "required": ["model", "messages"],
                                         "properties": {"model": MODEL}}, "example": CHAT_EXAMPLE}},
        {"description": "A chat.completion, or with stream an event stream of chunks", "content": {
            "application/json": {"example": CHAT_ANSWER}, "text/event-stream": {"example": CHUNKS}}},
        cache=True),
    "/v1/embeddings": _operation(
        "openai_embeddings", "OpenAI's embeddings over the same service",
        "Keys: " + ", ".join(f"`{k}`" for k in EMBEDDING_KEYS) + ". `input` a string or an array of strings "
        "(no token arrays). `encoding_format` `float` (default) or `base64`: the little-endian float32 bytes of "
        "each vector, base64-encoded, as OpenAI does (the OpenAI SDK asks for base64 and decodes it itself). "
        "`dimensions` for models that take it.",
        {"application/json": {"schema": {"type": "object", "required": ["model", "input"],
                                         "properties": {"model": MODEL}},
                              "example": {"model": "local/all-minilm-l6-v2", "input": "machine learning"}}},
        {"description": "OpenAI's embedding list", "content": {"application/json": {"example": {
            "object": "list", "model": "local/all-minilm-l6-v2",
            "data": [{"object": "embedding", "index": 0,
                      "embedding": [-0.02821761928498745, 0.0026610041968524456, 0.055476803332567215]}],
            "usage": {"prompt_tokens": 4, "total_tokens": 4}}}}}),
    "/v1/audio/transcriptions": _operation(
        "openai_transcriptions", "OpenAI's transcription upload over the same service",
        "multipart/form-data fields: `file` (required; the format is read from its bytes), "
        + ", ".join(f"`{k}`" for k in TRANSCRIPTION_FIELDS) + ". `response_format` json (`{\"text\"}`), text "
        "(text/plain) or verbose_json (task, language, duration, text, segments with id, seek, start, end, text); "
        "srt and vtt are not supported, nor streaming or word timestamps.",
        {"multipart/form-data": {"schema": {"type": "object", "required": ["file", "model"], "properties": {
            "file": {"type": "string", "format": "binary"}, "model": MODEL,
            "language": {"type": "string"}, "prompt": {"type": "string"}, "temperature": {"type": "number"},
            "response_format": {"type": "string", "enum": ["json", "text", "verbose_json"]}}}}},
        {"description": "The transcription", "content": {"application/json": {"example": {"text": "Hello."}},
                                                          "text/plain": {"example": "Hello."}}}),
    "/v1/responses": _operation(
        "openai_responses", "OpenAI's Responses API: OpenAI's own for openai targets, translated for the others",
        "An `openai` target (`openai/gpt-5.2`, or a bare OpenAI model id, after the namespace's aliases) gets the "
        "body as it is (byte for byte when the model id needs no change) and its answer and stream events come "
        "back as OpenAI sent them: built-in tools, reasoning items, `include` and OpenAI's stored state work "
        "there. OpenAI stores responses unless `store: false`; `previous_response_id` must name one this "
        "namespace stored (a 404 otherwise, before OpenAI is asked: namespaces that share the server's key share "
        "OpenAI's store). Every other target gets the translation below, and what it cannot carry is a 400 "
        "naming the field (`param`). Translated, keys taken: " + ", ".join(f"`{k}`" for k in RESPONSES_KEYS) +
        "; any other key (`prompt_cache_key`, "
        "`service_tier`, `safety_identifier`, ...) goes to the target as a parameter: a cloud provider decides on "
        "it, a local model refuses it (422). `input` a string or items: messages (roles user, assistant, system, "
        "developer as system; content a string or input_text, output_text and input_image parts, images by URL or "
        "data URL going with the last user message), `function_call` items (joined to the assistant turn before "
        "them) and `function_call_output` items. `instructions` is the system prompt; function `tools`, "
        "`tool_choice` (auto, none, required, {type: function, name}), `parallel_tool_calls`; `text.format` "
        "json_schema or json_object for models that take a schema, `text.verbosity` passed on; "
        "`max_output_tokens`; `reasoning.effort` (as `reasoning_effort`); `temperature`, `top_p`. `metadata`, "
        "`user` and `truncation` are repeated in the response and go no further; `store`, `include` and "
        "`stream_options` are accepted and ignored. Infergate stores no translated responses: for these targets "
        "`previous_response_id`, `conversation` and `background: true` are a 400 (send the conversation as input "
        "items), and so are built-in tools (web_search, file_search, computer use, mcp, ...), reasoning, "
        "item_reference and other items, input_file parts and images by file_id. The answer: a `message` item "
        "when there is text, a `function_call` item per tool call; `status` `incomplete` with "
        "`incomplete_details.reason` `max_output_tokens` when the answer was cut; usage with "
        "`input_tokens_details.cached_tokens` and `output_tokens_details.reasoning_tokens`. With `stream: true`: "
        "the Responses events with `event:` lines and `sequence_number` (response.created, "
        "response.in_progress, output_item.added, content_part.added, output_text.delta, ..., "
        "function_call_arguments.delta/done, output_item.done, then response.completed or "
        "response.incomplete). A failure after the stream started is a `response.failed` event then an `error` "
        "event (the SDK raises it); a client that disconnects stops the generation (usage status 499).",
        {"application/json": {"schema": {"type": "object", "required": ["model", "input"], "properties": {
            "model": MODEL, "input": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}]},
            "stream": {"type": ["boolean", "null"], "description": "null counts as absent, as OpenAI takes it"}}},
            "example": RESPONSES_EXAMPLE}},
        {"description": "A response object, or with stream an event stream of Responses events", "content": {
            "application/json": {"example": RESPONSES_ANSWER}, "text/event-stream": {"example": RESPONSE_EVENTS}}},
        cache=True),
    **{path: {method: _stored(operation, summary)
              for method, (operation, summary) in operations.items()}
       for path, operations in STORED.items()},
}
