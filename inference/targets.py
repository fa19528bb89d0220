"""Which adapter answers a request: a provider's model, or a plugin by inference name or feature URI.

A plugin target must be installed (registered through ``infergate.plugins`` or settings) and enabled
in the principal's namespace; its adapter carries the namespace's parameters for the plugin.

A provider target for which the namespace's routing names fallbacks answers through a ``FallbackChain``:
the target first, then each fallback in order while the failure is one another target may avoid
(``fallback_worthy``). ``chain.spec`` is the target that answered (or failed last), so the response and
the one usage record name it; ``chain.attempts`` lists every target tried.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import AsyncIterator, Iterator

from core.errors import BadRequestError, InfergateError, NotFoundError
from inference.plugins.adapter import PluginAdapter
from inference.plugins.feature_uri import feature_uri_parse
from inference.plugins.registry import plugin_registry
from inference.plugins.services import enabled_plugins_get
from inference.providers.base import Adapter
from inference.providers.registry import provider_registry
from inference.request import call_build
from inference.types import (
    Complete,
    CredentialLookup,
    Delta,
    InferenceCall,
    InferenceRequest,
    InferenceResult,
    ModelSpec,
    StreamEvent,
    ToolCallDelta,
    WireEvent,
)
from tenancy.accounts.authentication import Principal


def alias_resolve(principal: Principal, request: InferenceRequest) -> InferenceRequest:
    """A request that names only a ``model``: the namespace's alias of that name, as the target it stands for
    with its default parameters under the request's own; without such an alias, the model of that id of the
    provider whose API the request came in (``claude-sonnet-4-6`` on Anthropic's), else the plugin of that
    inference name (OpenAI clients name plugins as models)."""
    if request.provider or not request.model:
        return request
    alias = principal.namespace.alias_for(request.model)
    if alias is None and request.wire is not None:  # a provider's own API: its bare model ids are its own
        return replace(request, provider=request.wire.provider)
    if alias is None:
        return replace(request, model=None, inference_name=request.model)
    target, defaults = alias
    provider, _, model = target.partition("/")
    return replace(request, provider=provider, model=model, parameters={**defaults, **request.parameters})


async def target_resolve(*, principal: Principal, request: InferenceRequest, disabled_plugins: bool = False) -> Adapter:
    """The request's adapter. A plugin must be enabled in the principal's namespace, unless
    ``disabled_plugins`` (a plugin's test run: any installed plugin, with the namespace's parameters for it
    where it enabled it)."""
    if request.provider and request.model:
        adapter = provider_registry().resolve(request.provider, request.model)
        fallbacks = principal.namespace.fallbacks_for(f"{adapter.spec.provider}/{adapter.spec.model}")
        return FallbackChain(adapter, fallbacks, request) if fallbacks else adapter
    registry = plugin_registry()
    if request.inference_name:
        name = request.inference_name
    else:
        name = registry.feature_resolve(feature_uri_parse(request.feature_uri or ""))
    enabled = await enabled_plugins_get(namespace_id=principal.namespace.id)
    installed = registry.get(name)
    if installed is None or name not in enabled and not disabled_plugins:
        namespace = principal.namespace.name
        if installed is not None:
            message = (f"Plugin {name!r} is not enabled in namespace {namespace!r}; enable it with "
                       f"POST /v1/namespaces/{namespace}/plugins")
        elif request.inference_name and not principal.namespace.aliases:
            message = f"No plugin with inference name {name!r} is installed"
        else:
            message = f"Namespace {principal.namespace.name!r} has no model alias {name!r}, and no plugin of that " \
                      "inference name is installed"
        raise NotFoundError(message, details={
            "resource": "plugin", "inference_name": name, "installed": installed is not None,
            "enabled": sorted(n for n in enabled if registry.get(n) is not None),
            "available": [p.inference_name for p in registry.plugins()]})
    return PluginAdapter(installed, defaults=enabled.get(name))


def speaks(adapter: Adapter, request: InferenceRequest) -> bool:
    """Whether the adapter sends the request's own API body as it is (types.WireRequest)."""
    wire = request.wire
    return wire is not None and adapter.spec.provider == wire.provider and wire.format in adapter.wire_formats


def translated(adapter: Adapter, request: InferenceRequest) -> InferenceRequest:
    """A request in another provider's format, as ``adapter``'s model takes it: a ``max_tokens`` over the model's
    own limit is that limit (Claude Code asks every model for 32,000 tokens; gpt-4o-mini writes 16,384)."""
    if request.wire is None or speaks(adapter, request):
        return request
    declared, asked = adapter.spec.parameter("max_tokens"), request.parameters.get("max_tokens")
    if declared is None or declared.maximum is None or not isinstance(asked, int) or asked <= declared.maximum:
        return request
    return replace(request, parameters={**request.parameters, "max_tokens": int(declared.maximum)})


def wire_call(adapter: Adapter, request: InferenceRequest, call: InferenceCall) -> InferenceCall:
    """The call as ``adapter`` takes it: with the client's own body when it speaks its format; else the native
    translation, which is a 400 naming what it could not carry."""
    if speaks(adapter, request):
        return replace(call, wire=request.wire)
    if request.wire is not None and request.wire.untranslated:
        name = f"{adapter.spec.provider}/{adapter.spec.model}"
        problems = list(request.wire.untranslated)
        raise BadRequestError(f"{name} cannot take this request: " + "; ".join(
            f"{p['field']}: {p['problem']}" for p in problems), details={"errors": problems, "target": name})
    return replace(call, wire=None)


# -- ordered fallbacks ------------------------------------------------------------------------------

FALLBACK_STATUSES = frozenset({429, 502, 503, 504})
ATTEMPTS_HEADER = "X-Infergate-Attempts"


def fallback_worthy(error: InfergateError) -> bool:
    """Failures another target may avoid: the provider's rate limit (429; ours is checked before any
    target runs), its errors after our retries, connection failures and refused credentials (502), a
    provider that is not configured or unavailable (503), no answer in time (504). Not the client's
    errors (400, 413, 422: the next target would refuse them too, or answer another question) nor our
    own faults (500)."""
    return error.status in FALLBACK_STATUSES


@dataclass(frozen=True)
class Attempt:
    target: str  # provider/model
    status: int  # 200, or the error's status
    error_type: str = ""

    def as_dict(self) -> dict[str, object]:
        provider, _, model = self.target.partition("/")
        return {"provider": provider, "model": model, "status": self.status, "error_type": self.error_type}


def attempts_header(attempts: list[Attempt]) -> dict[str, str]:
    """``X-Infergate-Attempts: openai/gpt-4o-mini;status=502, test/echo;status=200`` (a structured-field
    list of the targets tried, in order)."""
    return {ATTEMPTS_HEADER: ", ".join(f"{a.target};status={a.status}" for a in attempts)} if attempts else {}


def route_headers(adapter: Adapter) -> dict[str, str]:
    """What a response answered through fallbacks adds to its headers (nothing for a single target)."""
    return attempts_header(adapter.attempts) if isinstance(adapter, FallbackChain) else {}


def _name(spec: ModelSpec) -> str:
    return f"{spec.provider}/{spec.model}"


class FallbackChain(Adapter):
    """A target and the namespace's ordered fallbacks for it; one per request (it records attempts).

    A fallback that cannot take the request (unknown now, or its inputs or parameters differ) is
    skipped and listed with its error. A stream falls back only before its first text: once a delta
    has been sent, a failure is the client's."""

    def __init__(self, first: Adapter, fallbacks: tuple[str, ...], request: InferenceRequest) -> None:
        self.first, self.fallbacks, self.request = first, fallbacks, request
        self.answered = first
        self.attempts: list[Attempt] = []

    @property
    def spec(self) -> ModelSpec:  # type: ignore[override]
        return self.answered.spec

    @property
    def wire_formats(self) -> frozenset[str]:  # type: ignore[override]
        return self.first.wire_formats

    async def configured(self, credentials: CredentialLookup) -> bool:
        return await self.first.configured(credentials)

    def _candidates(self, call: InferenceCall) -> Iterator[tuple[Adapter, InferenceCall]]:
        yield self.first, call
        for target in self.fallbacks:
            provider, _, model = target.partition("/")
            try:
                adapter = provider_registry().resolve(provider, model)
                request = translated(adapter, self.request)
                built = wire_call(adapter, request, call_build(adapter.spec, request))
            except InfergateError as error:
                self.attempts.append(Attempt(target, error.status, error.type))
                continue
            yield adapter, replace(built, namespace_id=call.namespace_id, request_id=call.request_id,
                                   timeout_s=call.timeout_s, credentials=call.credentials)

    def _failed(self, adapter: Adapter, error: InfergateError) -> None:
        self.attempts.append(Attempt(_name(adapter.spec), error.status, error.type))

    def _final(self, error: InfergateError) -> InfergateError:
        """The last target's error, listing every attempt in ``details.attempts`` and the header."""
        if len(self.attempts) > 1:
            error.details = {**(error.details or {}), "attempts": [a.as_dict() for a in self.attempts]}
        error.headers = {**error.headers, **attempts_header(self.attempts)}
        return error

    async def run(self, call: InferenceCall) -> InferenceResult:
        last: InfergateError | None = None
        for adapter, attempt_call in self._candidates(call):
            self.answered = adapter
            try:
                result = await adapter.run(attempt_call)
            except InfergateError as error:
                self._failed(adapter, error)
                if not fallback_worthy(error):
                    raise self._final(error) from None
                last = error
                continue
            self.attempts.append(Attempt(_name(adapter.spec), 200))
            return result
        raise self._final(last) from None

    async def stream(self, call: InferenceCall) -> AsyncIterator[StreamEvent]:
        last: InfergateError | None = None
        for adapter, attempt_call in self._candidates(call):
            self.answered = adapter
            events = adapter.stream(attempt_call)
            try:
                try:
                    held = await _until_text(events)
                except InfergateError as error:
                    self._failed(adapter, error)
                    if not fallback_worthy(error):
                        raise self._final(error) from None
                    last = error
                    continue
                self.attempts.append(Attempt(_name(adapter.spec), 200))
                for event in held:
                    yield event
                async for event in events:
                    yield event
                return
            finally:
                await events.aclose()
        raise self._final(last) from None


async def _until_text(events: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    """The events up to and including the first text (a delta, or a whole result), held back until we
    know this target answers."""
    held: list[StreamEvent] = []
    async for event in events:
        held.append(event)
        if isinstance(event, (Delta, ToolCallDelta, Complete, WireEvent)) and not _prelude(event):
            break
    return held


def _prelude(event: StreamEvent) -> bool:
    """A wire event that comes before any answer (Anthropic's message_start, ping; OpenAI's response.created):
    held back with the rest, since the target may still fail before it answers."""
    return isinstance(event, WireEvent) and event.event in PRELUDE_EVENTS


PRELUDE_EVENTS = frozenset({"message_start", "ping", "response.created", "response.in_progress"})
