"""GET /v1/models and GET /v1/models/{id} through the OpenAI routes' namespace rule: the catalog's Django views
answer, and a request without ``X-Namespace`` whose key (``Authorization``, or Anthropic's ``x-api-key``) is scoped
to exactly one namespace is given that namespace."""

from __future__ import annotations

from typing import Any, Callable

from inference.api.edge import Receive, Send, scope_headers
from inference.api.openai_compat.transport import namespace_default


def models_endpoint(django_application: Callable[..., Any]) -> Callable[..., Any]:
    async def endpoint(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        headers = scope_headers(scope)
        if "x-namespace" not in headers and (namespace := await namespace_default(headers)) is not None:
            scope = {**scope, "headers": [*scope["headers"], (b"x-namespace", namespace.encode("latin-1"))]}
        await django_application(scope, receive, send)

    return endpoint
