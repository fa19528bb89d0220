"""A response OpenAI stored for a namespace, used later: read, deleted, cancelled (a background one) or its input
items listed. What ``GET``/``DELETE /v1/responses/{id}``, ``POST /v1/responses/{id}/cancel`` and
``GET /v1/responses/{id}/input_items`` relay (inference/api/openai_compat/stored.py).

Only the namespace whose request stored the response through Infergate may (wire.py's owner record: any other id
is a 404, as OpenAI answers for one it does not know); the call goes with the credential and base URL that made it,
the client's query string as it sent it, and OpenAI's answer comes back as OpenAI gave it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import quote

import httpx2
import openai

from core.errors import InferenceServiceUnavailableError, InfergateError, NotFoundError
from core.redis import ERRORS as REDIS_ERRORS
from core.redis import redis_async
from inference.providers.openai.client import Endpoint, session_open
from inference.providers.openai.wire import PATH, PENDING, owner_forget, owner_get, usage_of
from inference.providers.upstream import RAW_RESPONSE, unexpected_answer
from inference.types import CredentialLookup, InferenceCall, Modality, Usage

# What a client may do with a stored response: the method and what follows /responses/{id} on OpenAI's API.
OPERATIONS = {"retrieve": ("GET", ""), "delete": ("DELETE", ""), "cancel": ("POST", "/cancel"),
              "input_items": ("GET", "/input_items")}
READS = frozenset({"retrieve", "input_items"})
# How a background response ended -> its usage record's status and error type.
ENDINGS = {"completed": (200, ""), "incomplete": (200, ""), "cancelled": (499, "Cancelled"),
           "failed": (502, "ProviderError")}
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pending:
    """A background response whose tokens are not recorded yet (wire.py's ``pending_note``)."""

    response_id: str
    namespace_id: str
    request_id: str
    since: float


@dataclass(frozen=True)
class Ending:
    """How a background response ended, as its usage record says it."""

    status: int
    error_type: str
    usage: Usage


def _pending(response_id: str, noted: bytes) -> Pending:
    fields = json.loads(noted)
    return Pending(response_id, fields["namespace"], fields["request_id"], fields["since"])


async def pendings() -> list[Pending]:
    """Every background response waiting for its tokens ([] when Redis cannot say: the next round will)."""
    try:
        noted = await redis_async().hgetall(PENDING)
    except REDIS_ERRORS:
        return []
    return [_pending(response_id.decode(), value) for response_id, value in noted.items()]


async def pending_get(response_id: str) -> Pending | None:
    try:
        value = await redis_async().hget(PENDING, response_id)
    except REDIS_ERRORS:
        return None
    return None if value is None else _pending(response_id, value)


async def pending_forget(response_id: str) -> bool:
    """No longer pending; True for the one caller that took it off (who settles it)."""
    try:
        return bool(await redis_async().hdel(PENDING, response_id))
    except REDIS_ERRORS:
        logger.warning("background response %s stays pending: Redis is away", response_id)
        return False


def ending(response: dict[str, Any]) -> Ending | None:
    """How the response ended and what it used; None while it runs (or for what is no response object)."""
    status = response.get("status")
    if status not in ENDINGS or response.get("object", "response") != "response":
        return None
    code, error_type = ENDINGS[status]
    return Ending(code, error_type, usage_of(response.get("usage")))


def _not_found(response_id: str, **details: Any) -> NotFoundError:
    return NotFoundError(f"No stored response {response_id[:100]!r} in this namespace",
                         details={"field": "response_id", **details})


def _named(credentials: CredentialLookup, name: str) -> CredentialLookup:
    """The namespace's named credential (a deployment's) in place of the provider's default; never the server's
    key, as for the deployment itself: one removed since is a 503 naming it."""

    async def named(provider: str, _: str = "") -> Mapping[str, str]:
        fields = await credentials(provider, name)
        if not fields:
            raise InferenceServiceUnavailableError(
                f"The {provider} credential {name!r} that stored this response is not set any more: PUT "
                f"/v1/namespaces/{{namespace}}/credentials/{provider}/{name}",
                details={"provider": provider, "missing_credential": name})
        return fields

    return credentials if not name else named


async def stored_response_call(endpoint: Endpoint, *, namespace_id: str, credentials: CredentialLookup,
                               timeout_s: float | None, response_id: str, operation: str,
                               query: str = "") -> dict[str, Any]:
    """OpenAI's answer to ``operation`` (a key of OPERATIONS) on the stored response, as JSON."""
    owner = await owner_get(response_id)
    if owner is None or owner.namespace_id != namespace_id:
        raise _not_found(response_id)
    call = InferenceCall(modality=Modality.CHAT, inputs={}, parameters={}, namespace_id=namespace_id,
                         credentials=_named(credentials, owner.credential_name), timeout_s=timeout_s,
                         base_url=owner.base_url)
    session = await session_open(endpoint, call)
    method, suffix = OPERATIONS[operation]
    path = f"{PATH}/{quote(response_id, safe='')}{suffix}" + (f"?{query}" if query else "")
    options: Any = {"headers": RAW_RESPONSE}

    async def send(client: openai.AsyncOpenAI) -> httpx2.Response:
        if method == "GET":
            return await client.get(path, cast_to=httpx2.Response, options=options)
        if method == "DELETE":
            return await client.delete(path, cast_to=httpx2.Response, options=options)
        return await client.post(path, cast_to=httpx2.Response, options=options)

    try:
        response = await session.call(send)
    except InfergateError as error:  # gone from OpenAI's store (deleted elsewhere, past its 30 days): ours too
        if (error.details or {}).get("upstream_status") == 404:
            await owner_forget(response_id)
            raise _not_found(response_id, provider=endpoint.provider, upstream_status=404) from None
        raise
    try:
        data = json.loads(await response.aread())
    except ValueError:
        raise unexpected_answer(endpoint.provider, "a body that is not JSON") from None
    finally:
        await response.aclose()
    if not isinstance(data, dict):
        raise unexpected_answer(endpoint.provider, "a body that is not a JSON object")
    if operation == "delete":
        await owner_forget(response_id)
    return data
