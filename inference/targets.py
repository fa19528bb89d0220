"""Which adapter answers a request: a provider's model, or a plugin by inference name or feature URI.

A plugin target must be installed (registered through ``infergate.plugins`` or settings) and enabled
in the principal's namespace; its adapter carries the namespace's parameters for the plugin.

A provider target for which the namespace's routing names fallbacks answers through a ``FallbackChain``:
the target first, then each fallback in order while the failure is one another target may avoid
(``fallback_worthy``). ``chain.spec`` is the target that answered (or failed last), so the response and
the one usage record name it; ``chain.attempts`` lists every target tried.
"""

from __future__ import annotations

from contextlib import aclosing
from dataclasses import dataclass, replace
from typing import Any, AsyncIterator, Iterator, Mapping

from core.errors import BadRequestError, InferenceServiceUnavailableError, InfergateError, NotFoundError
from inference.deployments import Deployment, Group, Lease, lease_take, order, states_read, unavailable
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
    TokenCount,
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
    deployments = request.model if principal.namespace.deployments_for(request.model) else None
    return replace(request, provider=provider, model=model, parameters={**defaults, **request.parameters},
                   deployments=deployments)


async def target_resolve(*, principal: Principal, request: InferenceRequest, disabled_plugins: bool = False) -> Adapter:
    """The request's adapter. A plugin must be enabled in the principal's namespace, unless
    ``disabled_plugins`` (a plugin's test run: any installed plugin, with the namespace's parameters for it
    where it enabled it)."""
    if request.deployments:
        namespace = principal.namespace
        group = DeploymentGroup(Group.from_settings(namespace.id, request.deployments,
                                                    namespace.deployments_for(request.deployments)), request)
        fallbacks = namespace.fallbacks_for(request.deployments)
        return FallbackChain(group, fallbacks, request) if fallbacks else group
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
    deployment: str = ""  # the deployment's id, for a target of a DeploymentGroup

    def as_dict(self) -> dict[str, object]:
        provider, _, model = self.target.partition("/")
        return {"provider": provider, "model": model, **({"deployment": self.deployment} if self.deployment else {}),
                "status": self.status, "error_type": self.error_type}

    def header_item(self) -> str:
        deployment = f';deployment="{self.deployment}"' if self.deployment else ""
        return f"{self.target}{deployment};status={self.status}"


def attempts_header(attempts: list[Attempt]) -> dict[str, str]:
    """``X-Infergate-Attempts: openai/gpt-4o-mini;status=502, test/echo;status=200`` (a structured-field
    list of the targets tried, in order; a deployment's with its id: ``openai/gpt-4o-mini;deployment="east"``)."""
    return {ATTEMPTS_HEADER: ", ".join(a.header_item() for a in attempts)} if attempts else {}


def route_headers(adapter: Adapter) -> dict[str, str]:
    """What a response answered through fallbacks or deployments adds to its headers (nothing for a single
    target): the targets tried and, from a group of deployments, ``X-Infergate-Deployment: <alias>/<id>``."""
    chain = adapter if isinstance(adapter, FallbackChain) else None
    group = chain.first if chain is not None else adapter
    headers = group.headers() if isinstance(group, DeploymentGroup) else {}
    return {**headers, **attempts_header(chain.attempts)} if chain is not None else headers


def attempts_listed(error: InfergateError, attempts: list[Attempt]) -> InfergateError:
    """The last target's error, listing every attempt in ``details.attempts`` (when there were several) and the
    header."""
    if len(attempts) > 1:
        error.details = {**(error.details or {}), "attempts": [a.as_dict() for a in attempts]}
    error.headers = {**error.headers, **attempts_header(attempts)}
    return error


def retargeted(target: str, request: InferenceRequest, call: InferenceCall,
               **overrides: Any) -> tuple[Adapter, InferenceCall]:
    """Another target's adapter and the call as it takes it (the request translated for it and built again), with
    what the first call carried for the namespace and ``overrides`` over it; the target's InfergateError when it
    cannot take the request."""
    adapter = _adapter(target)
    translation = translated(adapter, request)
    built = wire_call(adapter, translation, call_build(adapter.spec, translation))
    return adapter, replace(built, **{"namespace_id": call.namespace_id, "request_id": call.request_id,
                                      "timeout_s": call.timeout_s, "credentials": call.credentials, **overrides})


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
            try:
                candidate = retargeted(target, self.request, call)
            except InfergateError as error:
                self.attempts.append(Attempt(target, error.status, error.type))
                continue
            yield candidate

    def _failed(self, adapter: Adapter, error: InfergateError) -> None:
        self.attempts.append(Attempt(_name(adapter.spec), error.status, error.type))

    def _final(self, error: InfergateError) -> InfergateError:
        return attempts_listed(error, self.attempts)

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


DEPLOYMENT_HEADER = "X-Infergate-Deployment"


class DeploymentGroup(Adapter):
    """A model alias served by several deployments (inference/deployments.py): tried in the order of the alias's
    strategy, passing over those whose breaker is open or whose minute is full, each with its own credential and
    endpoint, until one answers or a failure is the client's; one per request (it records attempts). When none
    could be tried at all, a 503 with ``Retry-After`` (when the first breaker half-opens). A stream moves on to
    the next deployment only before its first text, as a fallback chain's does."""

    def __init__(self, group: Group, request: InferenceRequest) -> None:
        self.group, self.request = group, request
        self.current = _adapter(group.deployments[0].target)
        self.answered: Deployment | None = None
        self.attempts: list[Attempt] = []

    @property
    def spec(self) -> ModelSpec:  # type: ignore[override]
        return self.current.spec

    @property
    def wire_formats(self) -> frozenset[str]:  # type: ignore[override]
        return self.current.wire_formats

    async def configured(self, credentials: CredentialLookup) -> bool:
        return await self.current.configured(_named(credentials, self.group.deployments[0]))

    def headers(self) -> dict[str, str]:
        answered = {DEPLOYMENT_HEADER: f"{self.group.alias}/{self.answered.id}"} if self.answered else {}
        return {**answered, **attempts_header(self.attempts)}

    async def _leases(self, call: InferenceCall) -> AsyncIterator[tuple[Adapter, InferenceCall, Lease]]:
        """Each deployment that takes the call, in the strategy's order, with its call built and its lease taken."""
        states = await states_read(self.group)
        admitted, refused = False, None
        for deployment in order(self.group, states):
            try:
                adapter, built = retargeted(deployment.target, self.request, call,
                                            credentials=_named(call.credentials, deployment),
                                            base_url=deployment.base_url, credential_name=deployment.credential)
            except InfergateError as error:  # this deployment's model cannot take the request
                self.attempts.append(Attempt(deployment.target, error.status, error.type, deployment.id))
                refused = error
                continue
            lease = await lease_take(self.group, deployment, states[deployment.id], call.request_id or "")
            if lease is None:
                continue
            admitted = True
            yield adapter, built, lease
        if not admitted:
            raise refused if refused is not None else await self._unavailable()

    async def _unavailable(self) -> InfergateError:
        """Read afresh: another node's calls may have filled a minute since the choice was made."""
        found = unavailable(self.group, await states_read(self.group))
        return InferenceServiceUnavailableError(
            f"Every deployment of {self.group.alias!r} is unavailable (breaker open or at capacity); retry in "
            f"{found.retry_after_s} s", headers={"Retry-After": str(found.retry_after_s)},
            details={"alias": self.group.alias, "deployments": found.states, "retry_after": found.retry_after_s})

    def _final(self, error: InfergateError) -> InfergateError:
        return attempts_listed(error, self.attempts)

    async def _failed(self, lease: Lease, error: InfergateError) -> bool:
        """Note a deployment's failure; whether the next deployment may be tried."""
        worthy = fallback_worthy(error)
        await lease.failed(error, worthy)
        self.attempts.append(Attempt(lease.deployment.target, error.status, error.type, lease.deployment.id))
        return worthy

    async def _succeeded(self, lease: Lease, tokens: int) -> None:
        await lease.succeeded(tokens)
        self.answered = lease.deployment
        self.attempts.append(Attempt(lease.deployment.target, 200, "", lease.deployment.id))

    async def run(self, call: InferenceCall) -> InferenceResult:
        last: InfergateError | None = None
        async with aclosing(self._leases(call)) as leases:
            async for adapter, attempt_call, lease in leases:
                self.current = adapter
                try:
                    result = await adapter.run(attempt_call)
                except InfergateError as error:
                    if not await self._failed(lease, error):
                        raise self._final(error) from None
                    last = error
                    continue
                except BaseException:  # cancelled: the client left; no verdict on the deployment
                    await lease.abandoned()
                    raise
                await self._succeeded(lease, result.usage.total)
                return result
        raise self._final(last) from None  # type: ignore[misc]  # _leases raised if none was admitted

    async def stream(self, call: InferenceCall) -> AsyncIterator[StreamEvent]:
        last: InfergateError | None = None
        async with aclosing(self._leases(call)) as leases:
            async for adapter, attempt_call, lease in leases:
                self.current = adapter
                async with aclosing(adapter.stream(attempt_call)) as events:
                    try:
                        held = await _until_text(events)
                    except InfergateError as error:
                        if not await self._failed(lease, error):
                            raise self._final(error) from None
                        last = error
                        continue
                    except BaseException:
                        await lease.abandoned()
                        raise
                    lease.first_answer()
                    tokens = 0
                    try:
                        for event in held:
                            tokens = _tokens(event, tokens)
                            yield event
                        async for event in events:
                            tokens = _tokens(event, tokens)
                            yield event
                    except InfergateError as error:  # after the first text: the client's, but the deployment's fault
                        await lease.failed(error, fallback_worthy(error))
                        raise
                    except BaseException:
                        await lease.abandoned()
                        raise
                    await self._succeeded(lease, tokens)
                    return
        raise self._final(last) from None  # type: ignore[misc]


def _adapter(target: str) -> Adapter:
    provider, _, model = target.partition("/")
    return provider_registry().resolve(provider, model)


def _named(credentials: CredentialLookup, deployment: Deployment) -> CredentialLookup:
    """The deployment's named credential in place of the provider's default; never the server's key: a missing one
    is a 503 of this deployment (the next one is tried)."""
    if not deployment.credential:
        return credentials

    async def named(provider: str, name: str = "") -> Mapping[str, str]:
        fields = await credentials(provider, deployment.credential)
        if not fields:
            raise InferenceServiceUnavailableError(
                f"Deployment {deployment.id!r} names the {provider} credential {deployment.credential!r}, which is "
                f"not set: PUT /v1/namespaces/{{namespace}}/credentials/{provider}/{deployment.credential}",
                details={"provider": provider, "deployment": deployment.id, "missing_credential": deployment.credential})
        return fields

    return named


def _tokens(event: StreamEvent, tokens: int) -> int:
    if isinstance(event, TokenCount):
        return event.prompt + event.completion
    if isinstance(event, Complete):
        return event.result.usage.total
    return tokens


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
