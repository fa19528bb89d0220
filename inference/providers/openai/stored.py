"""A response OpenAI stored for a namespace, used later: read, deleted, cancelled (a background one) or its input
items listed. What ``GET``/``DELETE /v1/responses/{id}``, ``POST /v1/responses/{id}/cancel`` and
``GET /v1/responses/{id}/input_items`` relay (inference/api/openai_compat/stored.py).

Only the namespace whose request stored the response through Infergate may (wire.py's owner record: any other id
is a 404, as OpenAI answers for one it does not know); the call goes with the credential and base URL that made it,
the client's query string as it sent it, and OpenAI's answer comes back as OpenAI gave it.
"""

from __future__ import annotations

import json
from typing import Any, Mapping
from urllib.parse import quote

import httpx2
import openai

from core.errors import InfergateError, NotFoundError
from inference.providers.openai.client import Endpoint, session_open
from inference.providers.openai.wire import PATH, owner_forget, owner_get
from inference.providers.upstream import RAW_RESPONSE, unexpected_answer
from inference.types import CredentialLookup, InferenceCall, Modality

# What a client may do with a stored response: the method and what follows /responses/{id} on OpenAI's API.
OPERATIONS = {"retrieve": ("GET", ""), "delete": ("DELETE", ""), "cancel": ("POST", "/cancel"),
              "input_items": ("GET", "/input_items")}
READS = frozenset({"retrieve", "input_items"})


def _not_found(response_id: str, **details: Any) -> NotFoundError:
    return NotFoundError(f"No stored response {response_id[:100]!r} in this namespace",
                         details={"field": "response_id", **details})


def _named(credentials: CredentialLookup, name: str) -> CredentialLookup:
    """The namespace's named credential (a deployment's) in place of the provider's default."""

    async def named(provider: str, _: str = "") -> Mapping[str, str]:
        return await credentials(provider, name)

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
