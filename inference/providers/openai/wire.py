"""OpenAI's Responses API spoken as it is: a request that came in on ``POST /v1/responses`` for an ``openai``
target goes to OpenAI's ``/responses`` with the client's own body, byte for byte when the client named the model
by OpenAI's id (else with only ``model`` replaced), so that built-in tools, reasoning items, ``include``,
``previous_response_id`` and ``conversation`` (OpenAI's stored state) work as on OpenAI. The answer and every
stream event come back as they are; they are read only for the usage record and the stream's bookkeeping (text,
function calls, finish, tokens). Compatible endpoints share the adapter but not the provider name: they keep the
translation (inference/targets.py, ``speaks``).

The provider's key is the namespace's (or the server's), never the client's Infergate key.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any, AsyncIterator

import httpx2
import openai

from core.errors import (
    BadRequestError,
    InfergateError,
    NotFoundError,
    ProviderError,
    ServiceUnavailableError,
    TooManyRequestsError,
)
from core.redis import ERRORS as REDIS_ERRORS
from core.redis import redis_async
from inference.providers.openai.client import Session
from inference.providers.upstream import SHAPE_ERRORS, common_error_map, scrub, sse_events, unexpected_answer, wire_post
from inference.types import (
    Delta,
    Finish,
    InferenceCall,
    InferenceResult,
    StreamEvent,
    TokenCount,
    ToolCall,
    ToolCallDelta,
    Usage,
    WireEvent,
    WireRequest,
)

logger = logging.getLogger(__name__)

RESPONSES = "openai.responses"
FORMATS = frozenset({RESPONSES})
PATH = "/responses"
# OpenAI's incomplete_details.reason -> the native finish_reason.
INCOMPLETE = {"max_output_tokens": "length", "content_filter": "content_filter"}
# A failed response's error.code (or a stream's error event's code): OpenAI's rate limit, OpenAI's own failures;
# any other (invalid_prompt, the image codes...) is the client's to fix.
RATE_LIMITED = frozenset({"rate_limit_exceeded"})
SERVER_CODES = frozenset({"server_error", "vector_store_timeout"})


# Which namespace a stored response belongs to. OpenAI keeps stored responses 30 days, under the key that made
# them: namespaces that share the server's key share that store, so a stored response is honoured (as a
# previous_response_id, or read, deleted and cancelled on /v1/responses/{id}) only in the namespace whose request
# stored it (no response crosses a namespace, whatever the id). The record also says which of the namespace's
# OpenAI credentials and base URL made it (a deployment's), for the calls that read it later.
OWNER_TTL_S = 30 * 24 * 3600


@dataclass(frozen=True)
class Owner:
    namespace_id: str
    credential_name: str = ""  # the namespace's named credential ("": its default OpenAI credential)
    base_url: str | None = None  # a deployment's endpoint (None: the provider's)


def _owner_key(response_id: str) -> str:
    return f"ig:response-owner:{response_id}"


async def owner_get(response_id: str) -> Owner | None:
    """Who stored the response through Infergate; None when nobody did (or it is past OpenAI's 30 days)."""
    try:
        value = await redis_async().get(_owner_key(response_id))
    except REDIS_ERRORS:
        raise ServiceUnavailableError("Stored responses cannot be checked right now; try again shortly",
                                      details={"reason": "redis"}, headers={"Retry-After": "1"}) from None
    if value is None:
        return None
    text = value.decode()
    if not text.startswith("{"):  # written before credentials were noted: the namespace's id alone
        return Owner(text)
    noted = json.loads(text)
    return Owner(noted["namespace"], noted.get("credential") or "", noted.get("base_url"))


async def owner_forget(response_id: str) -> None:
    """After OpenAI deleted the response: nobody's any more (a failure to forget leaves a record OpenAI answers
    404 for)."""
    try:
        await redis_async().delete(_owner_key(response_id))
    except REDIS_ERRORS:
        logger.warning("the owner of deleted response %s could not be forgotten", response_id)


async def owner_check(call: InferenceCall) -> None:
    """A ``previous_response_id`` must name a response this namespace stored through Infergate (404 otherwise,
    as OpenAI answers for an id it does not know)."""
    assert call.wire is not None
    previous = call.wire.body.get("previous_response_id")
    if previous is None:
        return
    owner = await owner_get(str(previous))
    if owner is None or owner.namespace_id != call.namespace_id:
        raise NotFoundError(f"No stored response {str(previous)[:100]!r} in this namespace",
                            details={"field": "previous_response_id"})


async def owner_note(call: InferenceCall, response: dict[str, Any]) -> None:
    """Remember whose a response OpenAI stores is (every one, unless the request said ``store: false``)."""
    assert call.wire is not None
    if call.wire.body.get("store") is False or not isinstance(response.get("id"), str):
        return
    noted = {"namespace": call.namespace_id or "", "credential": call.credential_name, "base_url": call.base_url}
    try:
        await redis_async().set(_owner_key(response["id"]), json.dumps(noted), ex=OWNER_TTL_S)
    except REDIS_ERRORS:
        logger.warning("the owner of stored response %s could not be noted: only a new conversation can go on",
                       response["id"])


# Background responses whose tokens are not known yet (OpenAI answers one ``queued``, its usage null): response
# id -> {namespace, request_id, since}, until its end is seen (stored.py) and its usage recorded (the service's
# background_settle).
PENDING = "ig:responses-pending"
UNFINISHED = frozenset({"queued", "in_progress"})


async def pending_note(call: InferenceCall, response: dict[str, Any]) -> None:
    if not (response.get("background") and response.get("status") in UNFINISHED and isinstance(response.get("id"),
                                                                                                  str)):
        return
    noted = {"namespace": call.namespace_id or "", "request_id": call.request_id, "since": time.time()}
    try:
        await redis_async().hset(PENDING, response["id"], json.dumps(noted))
    except REDIS_ERRORS:
        logger.warning("background response %s was not noted as pending: its tokens will not be recorded",
                       response["id"])


async def _post(session: Session, wire: WireRequest, model: str) -> httpx2.Response:
    """The response, unread. A refusal names the field OpenAI named (``param``: ``previous_response_id``...),
    so that the client's error does too."""
    refused: list[openai.APIStatusError] = []

    async def post(client: openai.AsyncOpenAI) -> httpx2.Response:
        try:
            return await client.post(PATH, cast_to=httpx2.Response, **wire_post(wire, model))
        except openai.APIStatusError as exc:
            refused[:] = [exc]
            raise

    try:
        return await session.call(post)
    except InfergateError as error:
        body = refused[0].body if refused else None
        param = body.get("param") if isinstance(body, dict) else None
        if isinstance(param, str) and param:
            error.details = {**(error.details or {}), "field": param}
        raise


async def wire_run(session: Session, call: InferenceCall, model: str) -> InferenceResult:
    """One response as OpenAI gave it, with its usage."""
    assert call.wire is not None
    await owner_check(call)
    response = await _post(session, call.wire, model)
    try:
        data = json.loads(await response.aread())
    except ValueError:
        raise unexpected_answer(session.endpoint.provider, "a body that is not JSON") from None
    finally:
        await response.aclose()
    if not isinstance(data, dict):
        raise unexpected_answer(session.endpoint.provider, "a body that is not a JSON object")
    await owner_note(call, data)
    await pending_note(call, data)
    try:
        return InferenceResult(data={"responses": [answer_of(data)]}, usage=usage_of(data.get("usage")), wire=data)
    except SHAPE_ERRORS as exc:
        raise unexpected_answer(session.endpoint.provider, type(exc).__name__) from None


def usage_of(reported: Any) -> Usage:
    """A Responses usage object (as JSON): input tokens (the cached ones among them), output tokens (the
    reasoning ones among them)."""
    usage = Usage()
    if isinstance(reported, dict):
        given = reported.get("input_tokens_details") or {}
        made = reported.get("output_tokens_details") or {}
        usage.prompt = int(reported.get("input_tokens") or 0)
        usage.completion = int(reported.get("output_tokens") or 0)
        usage.cache_read = int(given.get("cached_tokens") or 0)
        usage.cache_write = int(given.get("cache_write_tokens") or 0)
        usage.reasoning = int(made.get("reasoning_tokens") or 0)
    return usage


def finish_reason(response: dict[str, Any], *, called: bool) -> str:
    """The native finish_reason of a response: cut (``incomplete``), calling functions, or done."""
    if response.get("status") == "incomplete":
        return INCOMPLETE.get((response.get("incomplete_details") or {}).get("reason"), "length")
    return "tool_calls" if called else "stop"


def answer_of(response: dict[str, Any]) -> dict[str, Any]:
    """The native answer of a response object (as JSON): the text of its messages, its function calls."""
    output = response.get("output") or []
    text = "".join(part.get("text", "") for item in output if item.get("type") == "message"
                   for part in item.get("content") or () if part.get("type") == "output_text")
    calls = [ToolCall(item["call_id"], item["name"], item.get("arguments") or "").as_dict()
             for item in output if item.get("type") == "function_call"]
    answer: dict[str, Any] = {"text": text, "finish_reason": finish_reason(response, called=bool(calls))}
    if calls:
        answer["tool_calls"] = calls
    return answer


def failure(provider: str, error: Any, secret: str | None) -> InfergateError:
    """A failed response's ``error`` (or a stream's ``error`` event): OpenAI's rate limit a 429, its own
    failures a 502, the rest (an invalid prompt, an image it could not read...) the client's 400."""
    error = error if isinstance(error, dict) else {}
    code = error.get("code") if isinstance(error.get("code"), str) else None
    message = scrub(str(error.get("message") or code or "no message"), secret)
    details: dict[str, Any] = {"provider": provider, "upstream_status": None, "upstream_code": code}
    if isinstance(error.get("param"), str) and error["param"]:
        details["field"] = error["param"]
    if code in RATE_LIMITED:
        return TooManyRequestsError(f"{provider} rate limit: {message}", details=details)
    if code is None or code in SERVER_CODES:
        return ProviderError(f"{provider} failed mid-stream: {message}", details=details)
    return BadRequestError(f"{provider} could not answer the request: {message}", details=details)


class StreamReading:
    """What a relayed stream says, kept for the usage record and the stream's bookkeeping: the text as deltas,
    each function call's pieces, the finish and the tokens; ``failed``, the error a failure event carried."""

    def __init__(self, provider: str, secret: str | None) -> None:
        self.provider, self.secret = provider, secret
        self.usage = Usage()
        self.calls: dict[int, int] = {}  # a function_call item's output_index -> its position among the calls
        self.pieces: set[int] = set()  # the calls whose arguments came in deltas
        self.failed: InfergateError | None = None

    def read(self, name: str, data: dict[str, Any]) -> list[StreamEvent]:
        kind = data.get("type", name)
        if kind == "response.output_text.delta":
            self.usage.completion += 1  # a lower bound until the response says (each delta holds a token)
            return [Delta(0, data["delta"]), TokenCount.of(self.usage)]
        if kind == "response.output_item.added" and data["item"].get("type") == "function_call":
            item = data["item"]
            self.calls[data["output_index"]] = len(self.calls)
            return [ToolCallDelta(0, self.calls[data["output_index"]], item["call_id"], item["name"], "")]
        if kind == "response.function_call_arguments.delta" and data["output_index"] in self.calls:
            self.pieces.add(data["output_index"])
            return [ToolCallDelta(0, self.calls[data["output_index"]], None, None, data["delta"])]
        if kind == "response.output_item.done" and data["output_index"] in self.calls:
            return self._whole_arguments(data)
        if kind in ("response.completed", "response.incomplete"):
            response = data["response"]
            self.usage = usage_of(response.get("usage"))
            return [TokenCount.of(self.usage), Finish(0, finish_reason(response, called=bool(self.calls)))]
        if kind == "response.failed":
            response = data["response"]
            self.usage = usage_of(response.get("usage")) if response.get("usage") else self.usage
            self.failed = failure(self.provider, response.get("error"), self.secret)
            return [TokenCount.of(self.usage)]
        if kind == "error":
            self.failed = failure(self.provider, data, self.secret)
        return []

    def _whole_arguments(self, data: dict[str, Any]) -> list[StreamEvent]:
        """A call whose arguments came in no delta: as its done item has them."""
        if data["output_index"] in self.pieces or not data["item"].get("arguments"):
            return []
        return [ToolCallDelta(0, self.calls[data["output_index"]], None, None, data["item"]["arguments"])]


async def wire_stream(session: Session, call: InferenceCall, model: str) -> AsyncIterator[StreamEvent]:
    """OpenAI's events as they come (each a ``WireEvent``, first), with what they say for the bookkeeping; a
    ``response.failed`` or ``error`` event is relayed, then raised as the error it says. Opening the stream is
    retried like any call; closing this generator closes the upstream stream."""
    assert call.wire is not None
    provider = session.endpoint.provider
    await owner_check(call)
    response = await _post(session, call.wire, model)
    reading = StreamReading(provider, session.secret)
    try:
        async for name, data in sse_events(response.aiter_lines(), provider):
            events = reading.read(name, data)
            if data.get("type") == "response.created" and isinstance(data.get("response"), dict):
                await owner_note(call, data["response"])
            yield WireEvent(name or str(data.get("type", "")), data)
            for event in events:
                yield event
            if reading.failed is not None:
                raise reading.failed
    except httpx2.HTTPError as exc:  # the connection broke, or went quiet past the timeout, mid-stream
        raise common_error_map(exc, provider=provider, timeout_s=session.timeout_s, timeouts=httpx2.TimeoutException,
                               connection=httpx2.HTTPError, status=()) from None
    except SHAPE_ERRORS as exc:
        raise unexpected_answer(provider, type(exc).__name__) from None
    finally:
        await response.aclose()
