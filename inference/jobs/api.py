"""The ``?async=true`` branch of POST /v1/inference (inference/api/endpoint.py calls it)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs


def async_requested(scope: dict[str, Any]) -> bool:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return query.get("async", ["false"])[-1].strip().lower() in ("true", "1", "yes")


async def job_accept(*, credentials: Any, body: Any, request_id: str) -> dict[str, Any]:
    """Queue the request as a job: the 202 body (task id, status, where to poll)."""
    from inference.jobs.services import job_submit

    return await job_submit(credentials=credentials, body=body, request_id=request_id)
