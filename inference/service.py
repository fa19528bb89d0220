"""The inference service: the one function that REST, websocket, SSE, OpenAI routes and tasks call.

``inference_run`` authenticates, validates, resolves the target, runs it and returns the response
envelope; ``inference_stream`` does the same as a sequence of events. Whatever happens, each request
leaves exactly one usage record (written off the hot path).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from typing import Any, AsyncIterator, Callable

from asgiref.sync import sync_to_async

from core.errors import CancelledByClientError, InfergateError, unexpected_error_logged
from inference.cache.services import CacheConsult, cache_consult, cache_hit_events, cache_store
from inference.estimates import micro_usd, tokens_estimate
from inference.prompts.selectors import prompt_request
from inference.providers.base import Adapter
from inference.providers.local.embedder import local_texts_embed
from inference.providers.openai import ENDPOINT as OPENAI
from inference.providers.openai.stored import (
    READS,
    ending,
    pending_forget,
    pending_get,
    pendings,
    stored_response_call,
)
from inference.providers.registry import provider_registry
from inference.providers.tokens import chat_usage_count, texts_tokens_count
from inference.request import WiredBody, call_build, request_parse
from inference.streaming import StreamCollector
from inference.targets import alias_resolve, route_headers, target_resolve, translated, wire_call
from inference.types import (
    UNKNOWN_PRICE,
    Delta,
    InferenceCall,
    InferenceRequest,
    InferenceResult,
    ModelSpec,
    ToolCallDelta,
    Usage,
    WireEvent,
)
from inference.usage.bodies import request_log
from inference.usage.records import PRICE_TABLE_VERSION, UsageEntry, usage_cost
from inference.usage.selectors import usage_request_first
from inference.usage.services import usage_record
from tenancy.accounts.authentication import (
    Principal,
    key_resolve,
    namespace_principal,
    namespace_resolve,
    principal_load,
)
from tenancy.accounts.limits import (
    Reservation,
    limits_counters_send,
    limits_for,
    limits_reserve,
    limits_settlement,
)
from tenancy.accounts.models import Permission
from tenancy.credentials.selectors import credential_lookup

logger = logging.getLogger(__name__)

PLUGIN_PROVIDER = "plugin"  # docs/contract.md: a plugin target answers as provider "plugin", model = its inference name


@dataclass(frozen=True)
class Credentials:
    """What a client presented: the Authorization and X-Namespace header values, or a principal
    already verified by other means (a websocket ticket minted for a signed-in session)."""

    authorization: str | None
    namespace: str | None
    principal: Principal | None = None


@dataclass(frozen=True)
class Purpose:
    """What a call is for: what its usage record's ``endpoint`` says, whether a plugin the namespace has not
    enabled may answer it (a plugin's test run), and whether it only counts the prompt's tokens."""

    endpoint: str = "inference"
    disabled_plugins: bool = False
    counts_tokens: bool = False


INFERENCE = Purpose()
PLUGIN_TEST = Purpose("plugin_test", disabled_plugins=True)
CACHE_JUDGE = Purpose("cache_judge")  # the semantic cache's LLM judge, comparing a cached and a fresh answer
COUNT_TOKENS = Purpose("count_tokens", counts_tokens=True)  # the prompt's tokens, no answer (nothing billed)


@dataclass
class _Prepared:
    adapter: Adapter
    call: InferenceCall
    reservation: Reservation
    request: InferenceRequest | None = None
    body: Any = None  # as the client sent it (a saved prompt's call before rendering), for the request log


@dataclass
class ResponseMeta:
    """What a transport should send besides the body: the rate-limit headers (every response after
    the key is known carries them, errors included)."""

    headers: dict[str, str] = field(default_factory=dict)


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


async def _target_and_call(principal: Principal, raw: Any, request_id: str,
                           entry: UsageEntry, purpose: Purpose) -> tuple[Adapter, InferenceCall, InferenceRequest]:
    if isinstance(raw, dict) and "prompt" in raw:  # a saved prompt's version, rendered with the call's variables
        raw, entry.prompt_id, entry.prompt_version = await prompt_request(namespace_id=principal.namespace.id, body=raw)
    request = alias_resolve(principal, request_parse(raw))
    entry.provider, entry.model = request.provider or "", request.model or ""
    entry.inference_name = request.inference_name or ""
    adapter = await target_resolve(principal=principal, request=request, disabled_plugins=purpose.disabled_plugins)
    entry.provider, entry.model = adapter.spec.provider, adapter.spec.model
    entry.price_known = adapter.spec.price.known  # also for a call that fails: the metrics' model label reads it
    if adapter.spec.provider == PLUGIN_PROVIDER:  # also when it was addressed by feature URI
        entry.inference_name = adapter.spec.model
    request = translated(adapter, request)
    call = replace(wire_call(adapter, request, call_build(adapter.spec, request)), namespace_id=principal.namespace.id,
                   request_id=request_id, timeout_s=principal.namespace.provider_timeout_s,
                   credentials=credential_lookup(principal.namespace.id))
    entry.modality = call.modality.value
    return adapter, call, request


async def _prepare(credentials: Credentials, body: Any | Callable[[], Any], request_id: str,
                   entry: UsageEntry, purpose: Purpose = INFERENCE) -> _Prepared:
    """Authenticate, validate and resolve the target, noting on ``entry`` all that becomes known."""
    principal = credentials.principal
    if principal is None:
        key = await key_resolve(credentials.authorization)
        entry.organization_id, entry.api_key_id = key.organization_id, key.id
        principal = await namespace_resolve(key, credentials.namespace)
    entry.organization_id, entry.api_key_id = principal.organization_id, principal.key.id
    entry.namespace_id = principal.namespace.id
    principal.require(Permission.READ)
    raw = body() if callable(body) else body
    try:
        adapter, call, request = await _target_and_call(principal, raw, request_id, entry, purpose)
    except InfergateError as error:
        # An invalid request still counts as a request, and its answer carries the limit headers.
        reservation = await limits_reserve(principal=principal)
        error.headers = {**reservation.headers, **error.headers}
        raise
    tokens = tokens_estimate(call, adapter.spec)
    reservation = await limits_reserve(principal=principal, tokens=tokens,
                                       cost_micro_usd=micro_usd(adapter.spec.price, tokens, 0))
    return _Prepared(adapter=adapter, call=call, reservation=reservation, request=request, body=raw)


async def _cache_consult(prepared: _Prepared, entry: UsageEntry):
    """The semantic cache's decision for this request (None when it does not apply), noted on the record."""
    request = prepared.request
    consult = await cache_consult(namespace_id=entry.namespace_id, spec=prepared.adapter.spec, call=prepared.call,
                                  enabled=request is not None and request.enable_semantic_cache,
                                  delta=request.cache_delta if request is not None else 0.0, embed=prompt_embed)
    entry.cache_decision = consult.decision if consult is not None else ""
    return consult


async def prompt_embed(text: str) -> list[float]:
    """The cache's embedder: the local MiniLM model (no network, its own threads)."""
    vectors, _ = await local_texts_embed([text])
    return vectors[0]


def _response(entry: UsageEntry, spec: ModelSpec, result: InferenceResult, started: float) -> dict[str, Any]:
    entry.latency_ms = _elapsed_ms(started)
    entry.provider, entry.model = spec.provider, spec.model  # the target that answered: a fallback, maybe
    _count(entry, spec, result.usage)
    response = {"data": result.data, "provider": spec.provider, "model": spec.model,
                "latency_ms": entry.latency_ms, "tokens_used": result.usage.as_dict(), "cached": False}
    if result.wire is not None:  # the provider's own answer to a request in its own format, for that route only
        response["wire"] = result.wire
    return response


def _hit_mark(consult: CacheConsult, entry: UsageEntry, response: dict[str, Any]) -> dict[str, Any]:
    """A response envelope (and its usage record) as a hit: ``cached`` true, what it saved recorded."""
    saved = consult.saved()
    entry.cached = True
    entry.saved_tokens = saved.total
    entry.saved_cost_usd = usage_cost(saved, consult.price)
    return {**response, "cached": True}


def _count(entry: UsageEntry, spec: ModelSpec, usage: Usage) -> None:
    entry.prompt_tokens, entry.completion_tokens, entry.total_tokens = usage.prompt, usage.completion, usage.total
    entry.cache_read_tokens, entry.cache_write_tokens = usage.cache_read, usage.cache_write
    entry.reasoning_tokens = usage.reasoning
    entry.cost_usd, entry.price_version = usage_cost(usage, spec.price), spec.price.version or PRICE_TABLE_VERSION
    entry.price_known = spec.price.known
    if not spec.price.known:
        _unpriced_warn(spec)


@lru_cache(maxsize=1024)
def _unpriced_warn(spec: ModelSpec) -> None:
    """Once per model and process (the cache remembers which were said): its calls cost an unknown amount."""
    logger.warning("no price table knows %s/%s: its usage records carry an unknown cost (price_known false)",
                   spec.provider, spec.model)


def _failure(entry: UsageEntry, exc: BaseException) -> InfergateError:
    if not isinstance(exc, InfergateError):
        exc = unexpected_error_logged(exc, logger, "inference")
    entry.status, entry.error_type = exc.status, exc.type
    return exc


async def inference_run(*, credentials: Credentials, body: Any | Callable[[], Any], request_id: str,
                        started: float | None = None, meta: ResponseMeta | None = None,
                        usage_id: uuid.UUID | None = None, purpose: Purpose = INFERENCE) -> dict[str, Any]:
    """Run one inference request and return the response envelope, or raise an ``InfergateError``.

    ``body`` is the decoded JSON body, or a callable that decodes it (so that transport problems such
    as a wrong content type, an oversized or malformed body are checked after authentication and are
    recorded like any other failure). ``started`` is the ``time.perf_counter()`` at which the request
    arrived (defaults to now). ``meta``, when given, receives the headers to send with the answer.
    ``usage_id`` fixes the usage record's id: work that may run again (a job whose worker died after
    recording it) passes the same id each time, and the record is stored once. ``purpose`` says what the
    call is for, when it is not a client's request for an answer (a plugin test)."""
    started = time.perf_counter() if started is None else started
    entry = UsageEntry(request_id=request_id, status=200, endpoint=purpose.endpoint,
                       **({"id": usage_id} if usage_id else {}))
    prepared, usage, answer = None, Usage(), None
    try:
        prepared = await _prepare(credentials, body, request_id, entry, purpose)
        _headers_give(meta, prepared)
        if purpose.counts_tokens:
            answer = _response(entry, prepared.adapter.spec, await _tokens_count(prepared), started)
            return answer
        consult = await _cache_consult(prepared, entry)
        if consult is not None and consult.served:
            answer = _hit_mark(consult, entry, _response(entry, prepared.adapter.spec, consult.answer(), started))
            return answer
        result = await prepared.adapter.run(prepared.call)
        if meta is not None:
            meta.headers.update(route_headers(prepared.adapter))
        await cache_store(consult, result, answered_by=prepared.adapter.spec)
        usage = result.usage
        answer = _response(entry, prepared.adapter.spec, result, started)
        return answer
    except Exception as exc:
        error = _with_limit_headers(_failure(entry, exc), prepared)
        answer = error.envelope()
        raise error from None
    finally:
        if entry.status != 200:
            entry.latency_ms = _elapsed_ms(started)
        await _record(entry, prepared, usage)
        if prepared is not None:
            await _body_log(prepared, entry, answer)


async def _body_log(prepared: _Prepared, entry: UsageEntry, answer: Any) -> None:
    """The request's body and answer, for a namespace that keeps them (inference/usage/bodies.py)."""
    body = prepared.body
    if isinstance(body, WiredBody):
        body = {"format": body.wire.format, "body": body.wire.body}
    await request_log(id=entry.id, namespace_id=entry.namespace_id, request_id=entry.request_id,
                      endpoint=entry.endpoint, status=entry.status, body=body, response=answer)


async def inference_for_namespace(*, namespace_id: str, body: dict[str, Any], purpose: Purpose) -> dict[str, Any]:
    """A model call the gateway makes for itself (the cache judge): it runs as the namespace, with the
    namespace's provider credentials, its limits and budget (no key's: no key asked for it), and leaves
    one usage record whose ``endpoint`` says what it was for."""
    principal = await namespace_principal(namespace_id=namespace_id)
    return await inference_run(credentials=Credentials(None, None, principal=principal), body=body,
                               request_id=f"{purpose.endpoint}_{uuid.uuid4().hex}", purpose=purpose)


async def stored_response(*, credentials: Credentials, response_id: str, operation: str, query: str = "",
                          meta: ResponseMeta | None = None) -> dict[str, Any]:
    """A response OpenAI stored when this namespace created it (``POST /v1/responses`` on an ``openai`` target):
    read (``retrieve``, ``input_items``: read permission), deleted or cancelled (write), with the credential that
    made it (inference/providers/openai/stored.py). It counts against the key's and the namespace's request rates,
    as any call made with the namespace's credential; it runs no model, so it leaves no usage record."""
    principal = credentials.principal
    if principal is None:
        principal = await namespace_resolve(await key_resolve(credentials.authorization), credentials.namespace)
    principal.require(Permission.READ if operation in READS else Permission.WRITE)
    reservation = await limits_reserve(principal=principal)
    if meta is not None:
        meta.headers.update(reservation.headers)
    answer = await _stored_call(principal, response_id, operation, query)
    if operation in ("retrieve", "cancel"):
        await background_settle(answer)
    return answer


async def _stored_call(principal: Principal, response_id: str, operation: str, query: str = "") -> dict[str, Any]:
    """OpenAI's answer about one of the namespace's stored responses, with the namespace's credentials and timeout."""
    namespace = principal.namespace
    return await stored_response_call(OPENAI, namespace_id=namespace.id, credentials=credential_lookup(namespace.id),
                                      timeout_s=namespace.provider_timeout_s, response_id=response_id,
                                      operation=operation, query=query)


BACKGROUND_ENDPOINT = "background_response"  # the usage record of a background response's tokens
SETTLE_AFTER_S = 30.0  # a background response is first asked about this long after it was created
GIVE_UP_S = 24 * 3600.0  # and no more after this: its tokens stay unrecorded (logged)


async def background_settle(response: dict[str, Any]) -> bool:
    """Record what a background response used once OpenAI says it ended: its creation's usage record counts no
    tokens (OpenAI answered it ``queued``), so this adds one more record for the same request, endpoint
    ``background_response``, with its tokens and cost, charged to the key's and the namespace's token and budget
    counters as of now (the creation reserved its estimate and gave it back when OpenAI said nothing was used).
    The response is taken off the pending list first, so that one settler records it. False while it runs, or
    when its creation's record is not stored yet (the next round settles it)."""
    ended = ending(response)
    pending = await pending_get(response["id"]) if ended is not None else None
    if ended is None or pending is None:
        return False
    original = await sync_to_async(usage_request_first, thread_sensitive=False)(namespace_id=pending.namespace_id,
                                                                               request_id=pending.request_id)
    if original is None or not await pending_forget(response["id"]):  # taken: by one settler only
        return False
    entry = UsageEntry(request_id=pending.request_id, status=ended.status, endpoint=BACKGROUND_ENDPOINT,
                       namespace_id=pending.namespace_id, error_type=ended.error_type,
                       id=uuid.uuid5(uuid.NAMESPACE_URL, f"infergate:background:{response['id']}"), **original)
    try:
        spec = provider_registry().resolve(entry.provider, entry.model).spec
    except InfergateError:  # the provider is no longer configured: its price is not known here
        spec = ModelSpec(provider=entry.provider, model=entry.model, modalities=(), price=UNKNOWN_PRICE)
    usage = ended.usage
    _count(entry, spec, usage)
    principal = await _settling_principal(original["api_key_id"], pending.namespace_id)
    counters = [] if principal is None else limits_settlement(
        Reservation(limits=limits_for(principal, 0, 0, time.time())), tokens=usage.total,
        cost_micro_usd=micro_usd(spec.price, usage.prompt, usage.completion))
    if not await usage_record(entry, counters) and counters:
        limits_counters_send(counters)
    return True


async def _settling_principal(key_id: int | None, namespace_id: str) -> Principal | None:
    """Whose token and budget counters a late settlement charges: the key's and the namespace's; the namespace's
    alone when the key is gone since; None when the namespace is too."""
    try:
        if key_id is not None:
            return await principal_load(key_id=key_id, namespace_id=namespace_id)
    except InfergateError:
        pass
    try:
        return await namespace_principal(namespace_id=namespace_id)
    except InfergateError:
        return None


async def background_settlements(*, after_s: float = SETTLE_AFTER_S) -> int:
    """Ask OpenAI about every background response pending for longer than ``after_s`` and settle those that ended
    (the periodic task's work; a client that polls settles its own sooner). How many were settled."""
    settled = 0
    for pending in await pendings():
        age = time.time() - pending.since
        if age < after_s:
            continue
        if age > GIVE_UP_S:
            logger.warning("background response %s did not end within a day: its tokens are not recorded",
                           pending.response_id)
            await pending_forget(pending.response_id)
            continue
        try:
            principal = await namespace_principal(namespace_id=pending.namespace_id)
            answer = await _stored_call(principal, pending.response_id, "retrieve")
        except InfergateError as error:  # OpenAI or the namespace away: the next round; gone: nothing to record
            if error.status == 404:
                await pending_forget(pending.response_id)
            continue
        settled += await background_settle(answer)
    return settled


def _tool_call_event(event: ToolCallDelta) -> dict[str, Any]:
    named = {"id": event.id, "name": event.name} if event.id or event.name else {}
    return {"type": "tool_call", "index": event.index, "call": event.position, **named, "arguments": event.arguments}


async def _tokens_count(prepared: _Prepared) -> InferenceResult:
    """The prompt's tokens as the target counts them where it can (Anthropic's count_tokens, sent as it came),
    else our estimate (tiktoken's cl100k: exact for some models, close for others); no answer, no cost."""
    adapter, call = prepared.adapter, prepared.call
    if call.wire is not None:
        result = await adapter.run(call)
        return InferenceResult(data=result.data, wire=result.wire)
    conversation = call.conversations[0] if call.conversations else ()
    counted = await chat_usage_count(conversation=conversation, answer="")
    tools = await texts_tokens_count(texts=tuple(json.dumps(asdict(tool)) for tool in call.tools))
    return InferenceResult(data={"input_tokens": counted.prompt + tools})


async def _record(entry: UsageEntry, prepared: _Prepared | None, usage: Usage) -> None:
    """The usage record, and the limits' reservation corrected to what the call used, in one round trip to Redis
    (the record's) where there is one, else in the background."""
    counters = [] if prepared is None else limits_settlement(
        prepared.reservation, tokens=usage.total,
        cost_micro_usd=micro_usd(prepared.adapter.spec.price, usage.prompt, usage.completion))
    if not await usage_record(entry, counters) and counters:
        limits_counters_send(counters)


def _headers_give(meta: ResponseMeta | None, prepared: _Prepared) -> None:
    if meta is not None:
        meta.headers.update(prepared.reservation.headers)


def _with_limit_headers(error: InfergateError, prepared: _Prepared | None) -> InfergateError:
    if prepared is not None:
        error.headers = {**prepared.reservation.headers, **error.headers}
    return error


async def inference_stream(*, credentials: Credentials, body: Any | Callable[[], Any], request_id: str,
                           started: float | None = None,
                           meta: ResponseMeta | None = None) -> AsyncIterator[dict[str, Any]]:
    """The same request, answered as events: ``start``, ``delta`` (``index``, ``text``) as text is
    generated, ``tool_call`` (``index``, ``call``: its position in the answer, ``id`` and ``name`` on its first
    piece, an ``arguments`` piece) as a tool call is, then ``done`` (the full response envelope) or ``error``
    (the error envelope). A target that answers a request in its own API format (types.WireRequest) also sends
    its own events as ``wire`` (``event``, ``data``), first: its route relays those and no other.

    Consumers close the generator to cancel (``contextlib.aclosing``): the provider's work stops and
    the usage record counts what was generated, with status 499 and error type ``Cancelled``.
    Errors before ``start`` are raised, so that HTTP transports can answer with their status code."""
    started = time.perf_counter() if started is None else started
    entry = UsageEntry(request_id=request_id, status=200)
    try:
        prepared = await _prepare(credentials, body, request_id, entry)
    except Exception as exc:
        entry.latency_ms = _elapsed_ms(started)
        error = _failure(entry, exc)
        await usage_record(entry)
        raise error from None
    _headers_give(meta, prepared)
    spec = prepared.adapter.spec  # the target asked for; after a fallback, prepared.adapter.spec is another
    collector = StreamCollector(prepared.call)
    consult = await _cache_consult(prepared, entry)
    hit = consult is not None and consult.served
    events = cache_hit_events(consult) if hit else prepared.adapter.stream(prepared.call)
    finished, answer = False, None
    try:
        yield {"type": "start", "request_id": request_id, "provider": spec.provider, "model": spec.model}
        async for event in events:
            collector.add(event)
            if isinstance(event, Delta):
                yield {"type": "delta", "index": event.index, "text": event.text}
            elif isinstance(event, ToolCallDelta):
                yield _tool_call_event(event)
            elif isinstance(event, WireEvent):
                yield {"type": "wire", "event": event.event, "data": event.data}
        finished = True
        response = _response(entry, prepared.adapter.spec, collector.result(), started)
        if hit:
            response = _hit_mark(consult, entry, response)
        else:
            await cache_store(consult, collector.result(), answered_by=prepared.adapter.spec)
        answer = response
        yield {"type": "done", "response": response}
    except Exception as exc:
        answer = _failure(entry, exc).envelope()
        yield {"type": "error", "error": answer}
    finally:
        await events.aclose()  # stops the provider's work when the consumer went away
        if not finished and entry.status == 200:
            entry.status, entry.error_type = CancelledByClientError.status, CancelledByClientError.type
        if entry.status != 200:
            entry.latency_ms = _elapsed_ms(started)
            _count(entry, prepared.adapter.spec, collector.usage)
        await _record(entry, prepared, collector.usage)
        await _body_log(prepared, entry, answer)
