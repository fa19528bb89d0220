"""The ``?async=true`` branch of POST /v1/inference (inference/api/endpoint.py calls it)."""

from __future__ import annotations

from typing import Any, Callable, NoReturn
from urllib.parse import parse_qs

from inference.errors import ValidationError

ASYNC_VALUES = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


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


def body_refused(error: ValidationError) -> Callable[[], NoReturn]:
    """A body loader that raises ``error``: the service refuses the request where it refuses a bad body,
    after the key and namespace are checked, and records its usage."""

    def load() -> NoReturn:
        raise error

    return load


async def job_accept(*, credentials: Any, body: Any, request_id: str) -> dict[str, Any]:
    """Queue the request as a job: the 202 body (task id, status, where to poll)."""
    from inference.jobs.services import job_submit

    return await job_submit(credentials=credentials, body=body, request_id=request_id)
