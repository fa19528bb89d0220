"""A stored response, after ``POST /v1/responses`` made it on an ``openai`` target: ``GET /v1/responses/{id}``,
``DELETE /v1/responses/{id}``, ``POST /v1/responses/{id}/cancel`` and ``GET /v1/responses/{id}/input_items``, as
the OpenAI SDK's ``responses.retrieve``, ``delete``, ``cancel`` and ``input_items.list`` call them. OpenAI's answer
comes back as it is; the namespace's own responses only (``inference.service.stored_response``). Responses that
other targets answered are translations that nobody stores: their ids are 404s here.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from core.errors import BadRequestError, MethodNotAllowedError, NotFoundError
from inference.api.edge import EdgeRequest, edge_route
from inference.api.openai_compat.errors import openai_error
from inference.api.openai_compat.transport import FLAGS, namespace_default
from inference.service import stored_response

PREFIX = "/v1/responses/"
# What follows the id, by method: the operation it is.
ACTIONS = {"": {"GET": "retrieve", "DELETE": "delete"}, "cancel": {"POST": "cancel"},
           "input_items": {"GET": "input_items"}}

stored_route = edge_route(openai_error, namespace=namespace_default, methods=())  # each path has its own


def _operation(path: str, method: str) -> tuple[str, str]:
    """The response id and the operation a path and method name; 404 or 405 otherwise."""
    response_id, _, action = path[len(PREFIX):].partition("/")
    methods = ACTIONS.get(action)
    if not response_id or methods is None:
        raise NotFoundError(f"No route for {method} {path[:200]}", details={"path": path[:200]})
    if method not in methods:
        raise MethodNotAllowedError(f"Use {' or '.join(methods)}", headers={"Allow": ", ".join(methods)})
    return response_id, methods[method]


@stored_route
async def stored_response_endpoint(request: EdgeRequest) -> None:
    response_id, operation = _operation(request.scope["path"], request.scope["method"])
    query = request.scope.get("query_string", b"").decode("latin-1")
    stream = [value for name, value in parse_qsl(query, keep_blank_values=True) if name == "stream"]
    if operation == "retrieve" and stream and FLAGS.get(stream[-1].strip().lower(), True):
        raise BadRequestError("A stored response is not streamed again here: retrieve it without stream (or "
                              "stream it as you create it)", details={"field": "stream"})
    await request.respond(await stored_response(credentials=request.credentials, response_id=response_id,
                                                operation=operation, query=query, meta=request.meta))
