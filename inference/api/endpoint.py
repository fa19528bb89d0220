"""POST /v1/inference and POST /v1/inference/stream (Server-Sent Events), served straight from ASGI through
the edge (inference/api/edge.py): no Django request thread on the hot path."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from core.encoding import json_bytes
from core.errors import InfergateError, ValidationError
from inference.api.edge import EdgeRequest, edge_route, refusing
from inference.jobs.services import job_submit

PATH = "/v1/inference"
STREAM_PATH = "/v1/inference/stream"
ASYNC_VALUES = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def _envelope(error: InfergateError) -> dict[str, Any]:
    return error.envelope()


def async_requested(scope: dict[str, Any]) -> bool:
    """``?async=``: true, 1 or yes queue a job; false, 0 or no (or none, or empty) run at once; any case.
    Anything else is a 422 naming the parameter: ``?async=ture`` must not quietly run synchronously."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    value = query.get("async", ["false"])[-1].strip().lower()
    if value not in ASYNC_VALUES:
        raise ValidationError([{"field": "async", "problem": "query parameter: must be one of "
                                                             + ", ".join(ASYNC_VALUES)}],
                              message="Query parameter 'async' must be one of " + ", ".join(ASYNC_VALUES))
    return ASYNC_VALUES[value]


@edge_route(_envelope)
async def inference_endpoint(request: EdgeRequest) -> None:
    """POST /v1/inference: one JSON answer; with ``?async=true``, queued as a Celery job (inference/jobs):
    202 with its task id."""
    body: Any = request.json_body
    try:
        queued = async_requested(request.scope)
    except ValidationError as error:  # ?async=ture: a 422 like a bad body's, after the key and namespace
        queued, body = False, refusing(error)
    if queued:
        accepted = await job_submit(credentials=request.credentials, body=body, request_id=request.request_id)
        return await request.respond(accepted, status=202)
    await request.respond(await request.run(body))


@edge_route(_envelope)
async def stream_endpoint(request: EdgeRequest) -> None:
    """POST /v1/inference/stream: Server-Sent Events (``event: <type>`` + ``data: <json>``).

    A request that fails before the stream starts (key, namespace, body) is answered like
    POST /v1/inference: its status code and the JSON envelope. Once started, failures arrive as an
    ``error`` event. A client that disconnects stops the generation."""
    events = request.stream(request.json_body)
    first = await anext(events)  # raises before anything is sent when the request is refused
    await request.sse(events, first, lambda event: [sse_encode(event)])


def sse_encode(event: dict[str, Any]) -> bytes:
    return b"event: " + event["type"].encode() + b"\ndata: " + json_bytes(event) + b"\n\n"
