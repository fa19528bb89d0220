"""The inference service: the one function that REST, websocket, SSE, OpenAI routes and tasks call.

``inference_run`` authenticates, validates, resolves the target, runs it and returns the response
envelope; whatever happens, it leaves exactly one usage record (written off the hot path).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import Any, Callable

from inference.errors import InfergateError, InternalServerError
from inference.request import call_build, request_parse
from inference.targets import target_resolve
from inference.types import InferenceRequest
from inference.usage.services import PRICE_TABLE_VERSION, UsageEntry, usage_cost, usage_record
from playground.accounts.authentication import key_resolve, namespace_resolve
from playground.accounts.models import Permission

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Credentials:
    """What a client presented: the Authorization and X-Namespace header values."""

    authorization: str | None
    namespace: str | None


async def inference_run(*, credentials: Credentials, body: Any | Callable[[], Any], request_id: str,
                        started: float | None = None) -> dict[str, Any]:
    """Run one inference request and return the response envelope, or raise an ``InfergateError``.

    ``body`` is the decoded JSON body, or a callable that decodes it (so that transport problems such
    as a wrong content type, an oversized or malformed body are checked after authentication and are
    recorded like any other failure). ``started`` is the ``time.perf_counter()`` at which the request
    arrived (defaults to now)."""
    started = time.perf_counter() if started is None else started
    entry = UsageEntry(request_id=request_id, status=200)
    try:
        key = await key_resolve(credentials.authorization)
        entry.organization_id, entry.api_key_id = key.organization_id, key.id
        principal = await namespace_resolve(key, credentials.namespace)
        entry.namespace_id = principal.namespace.id
        principal.require(Permission.READ)
        request = request_parse(body() if callable(body) else body)
        entry.provider, entry.model = request.provider or "", request.model or ""
        entry.inference_name = request.inference_name or ""
        adapter = await target_resolve(principal=principal, request=request)
        spec = adapter.spec
        entry.provider, entry.model = spec.provider, spec.model
        call = replace(call_build(spec, request), namespace_id=principal.namespace.id, request_id=request_id)
        entry.modality = call.modality.value
        result = await adapter.run(call)
        entry.latency_ms = round((time.perf_counter() - started) * 1000, 3)
        entry.prompt_tokens, entry.completion_tokens = result.usage.prompt, result.usage.completion
        entry.total_tokens = result.usage.total
        entry.cost_usd, entry.price_version = usage_cost(result.usage, spec.price), PRICE_TABLE_VERSION
        return {"data": result.data, "provider": spec.provider, "model": spec.model,
                "latency_ms": entry.latency_ms, "tokens_used": result.usage.as_dict(), "cached": False}
    except InfergateError as error:
        entry.status, entry.error_type = error.status, error.type
        raise
    except Exception as exc:
        logger.exception("inference failed: %s", type(exc).__name__)
        error = InternalServerError()
        entry.status, entry.error_type = error.status, error.type
        raise error from None
    finally:
        if entry.status != 200:
            entry.latency_ms = round((time.perf_counter() - started) * 1000, 3)
        usage_record(entry)
