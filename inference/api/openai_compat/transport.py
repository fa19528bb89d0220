"""What the OpenAI-compatible routes share beyond the edge (inference/api/edge.py): the namespace
(``X-Namespace``, or the key's only one), every failure in OpenAI's error format (``openai_route``),
OpenAI's SSE lines, its cache headers, its ``model`` names and request objects.

A request's own problems (content type, size, JSON, OpenAI fields) are raised from the body callable that
``inference_run`` calls after authentication (``refusing``), so that they are recorded in usage like any
other failure.
"""

from __future__ import annotations

import logging
from typing import Any

from core.encoding import json_bytes
from core.errors import (
    InfergateError,
    ValidationError,
)
from core.strings import name_problem
from inference.api.edge import edge_route
from inference.api.openai_compat.errors import openai_error
from tenancy.accounts.authentication import key_header, key_resolve

logger = logging.getLogger(__name__)
USER_CHARS = 256  # OpenAI's `user`: an end user's id
FLAGS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}


async def namespace_default(headers: dict[str, str]) -> str | None:
    """``X-Namespace`` when sent; else the id of the key's only namespace when the key (``Authorization``, or
    ``x-api-key`` as Anthropic's SDKs send it) is scoped to exactly one. Otherwise None, and the service refuses
    the request (missing X-Namespace, or the key's own failure), recording it like any other."""
    given = headers.get("x-namespace")
    if given is not None and given.strip():
        return given
    try:
        key = await key_resolve(key_header(authorization=headers.get("authorization"), api_key=headers.get("x-api-key")))
    except InfergateError:
        return None
    if not key.all_namespaces and len(key.namespace_ids) == 1:
        return next(iter(key.namespace_ids))
    return None


openai_route = edge_route(openai_error, namespace=namespace_default)
"""An OpenAI-compatible route: POST only, the body read with its limit, any failure in OpenAI's format."""


def sse_data(payload: Any) -> bytes:
    return b"data: " + json_bytes(payload) + b"\n\n"


def cache_headers(headers: dict[str, str]) -> dict[str, Any]:
    """``X-Semantic-Cache`` / ``X-Cache-Delta`` as the native body's ``enable_semantic_cache`` / ``cache_delta``."""
    body: dict[str, Any] = {}
    problems = []
    flag = headers.get("x-semantic-cache")
    if flag is not None:
        value = FLAGS.get(flag.strip().lower())
        if value is None:
            problems.append({"field": "X-Semantic-Cache", "problem": "must be true or false"})
        body["enable_semantic_cache"] = value
    delta = headers.get("x-cache-delta")
    if delta is not None:
        try:
            body["cache_delta"] = float(delta)
            if not 0 <= body["cache_delta"] <= 1:
                raise ValueError(delta)
        except ValueError:
            problems.append({"field": "X-Cache-Delta", "problem": "must be a number between 0 and 1"})
    if problems:
        raise ValidationError(problems)
    return body


def cache_report(headers: dict[str, str], response: dict[str, Any]) -> dict[str, str]:
    """When the client asked for the cache: whether this answer came from it (the response's ``cached``)."""
    if "x-semantic-cache" not in headers:
        return {}
    return {"X-Semantic-Cache": "hit" if response.get("cached") else "miss"}


def extra_parameters(body: dict[str, Any], accepted: tuple[str, ...]) -> dict[str, Any]:
    """The request's fields this route does not translate (``reasoning_effort``, ``logit_bias``, penalties,
    ``service_tier``, ...): the target's parameters as they are; a cloud provider decides on them, a model
    that takes no such parameter refuses them (422 naming ``parameters.<field>``)."""
    return {name: value for name, value in body.items() if name not in accepted}


def model_target(model: Any) -> dict[str, Any]:
    """An OpenAI ``model`` as the native target: ``provider/model``, ``plugin/{inference_name}`` (the
    /v1/models id), a feature URI (``scheme://...``), or a bare name: a model alias of the namespace, else a
    plugin's inference name."""
    if not isinstance(model, str) or not model.strip():
        raise ValidationError([{"field": "model", "problem": "required: a string such as "
                                "'local/smollm2-135m-instruct' or a plugin inference name"}])
    if "://" in model:
        return {"feature_uri": model}
    provider, slash, name = model.partition("/")
    if not slash:
        return {"model": model}
    if provider == "plugin":
        return {"inference_name": name}
    return {"provider": provider, "model": name}


def object_check(body: Any, accepted: tuple[str, ...], required: tuple[str, ...],
                 passed_through: bool = False) -> dict[str, Any]:
    """An OpenAI request object: a JSON object with every ``required`` key and only ``accepted`` ones, unless
    ``passed_through`` (the others then go to the target as parameters: ``extra_parameters``); 422 naming each
    problem. Keys sent as null count as absent, as OpenAI's API treats them."""
    if not isinstance(body, dict):
        raise ValidationError([{"field": "body", "problem": "must be a JSON object"}])
    unknown = sorted(k for k in body if k not in accepted)
    if unknown and not passed_through:
        raise ValidationError([{"field": key, "problem": "not supported here"} for key in unknown],
                              message=f"Unsupported keys {', '.join(unknown)}; accepted keys are "
                                      f"{', '.join(accepted)}", accepted=list(accepted))
    body = {k: v for k, v in body.items() if v is not None}
    missing = [{"field": key, "problem": "required"} for key in required if key not in body]
    if missing:
        raise ValidationError(missing)
    if "user" in body and (problem := name_problem(body["user"], max_chars=USER_CHARS)):
        raise ValidationError([{"field": "user", "problem": problem}])  # not kept, but checked as OpenAI's API does
    return body
