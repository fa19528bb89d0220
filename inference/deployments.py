"""Deployments: one model alias of a namespace served by several upstream deployments (the same model under
other keys, accounts or regions), balanced by a strategy, each behind a circuit breaker. The alias's settings are
checked by tenancy/accounts/namespace_settings.py; the adapter that tries the deployments in turn is
``DeploymentGroup`` (inference/targets.py); this module keeps their shared state and picks the order.

All state is in Redis, so that every node of the gateway sees the same breakers, loads and latencies:

- ``ig:dep:{ns}:{alias}:{id}`` (hash): ``failures`` in a row, ``open_until`` (ms on the Redis clock's side of
  this node: wall time), ``latency_ms`` (moving average of answered calls), ``requests``, ``errors``;
- ``...:inflight`` (sorted set of request ids by start time): calls under way; members older than the longest
  provider timeout are a node that died mid-call and no longer count;
- ``...:m:{minute}`` (hash, two minutes' life): this minute's ``requests`` and ``tokens``, against ``rpm``/``tpm``;
- ``...:probe``: the one half-open probe at a time, across nodes;
- ``ig:deployments`` (set): every deployment that has been used, for ``/metrics``.

The breaker: closed until ``failures`` calls in a row fail with a failure another deployment could avoid (429,
5xx, timeouts: ``fallback_worthy``), then open for ``cooldown_seconds``; a 429 or 503 with ``Retry-After`` opens it
at once until then. After the cooldown it is half-open: one call (one node's) probes it; success closes it,
failure opens it again. A deployment at its ``rpm`` or ``tpm`` for this minute is passed over like an open one.

When Redis cannot be reached the group still answers: every deployment counts as closed and idle, and the
strategy orders them on weights alone (the state's writes are dropped, logged once a minute).
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from core.errors import InfergateError
from core.redis import ERRORS as REDIS_ERRORS
from core.redis import redis_async, redis_sync

logger = logging.getLogger(__name__)

REGISTRY_KEY = "ig:deployments"
MINUTE_KEY_SECONDS = 120
LATENCY_WEIGHT = 0.2  # of the newest call in the moving average
EXPLORE_SHARE = 0.05  # lowest_latency: calls that go to a random deployment, so that a slow one's figure can recover
STATES = ("closed", "half_open", "open")


@dataclass(frozen=True)
class Deployment:
    id: str
    target: str  # provider/model
    credential: str = ""  # a named credential of the namespace ("" only without base_url: the provider's default)
    base_url: str | None = None
    weight: float = 1.0
    rpm: int | None = None
    tpm: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "target": self.target, "credential": self.credential, "base_url": self.base_url,
                "weight": self.weight, "rpm": self.rpm, "tpm": self.tpm}


@dataclass(frozen=True)
class Group:
    namespace_id: str
    alias: str
    deployments: tuple[Deployment, ...]
    strategy: str = "weighted"
    failures: int = 3  # in a row, to open the breaker
    cooldown_s: int = 30

    @classmethod
    def from_settings(cls, namespace_id: str, alias: str, text: str) -> Group:
        """From the form NamespaceRecord carries (tenancy/accounts/namespace_settings.aliases_of)."""
        stored = json.loads(text)
        breaker = stored.get("breaker", {})
        return cls(namespace_id=namespace_id, alias=alias, strategy=stored.get("strategy", "weighted"),
                   failures=breaker.get("failures", 3), cooldown_s=breaker.get("cooldown_seconds", 30),
                   deployments=tuple(Deployment(**{k: v for k, v in d.items() if k in Deployment.__dataclass_fields__})
                                     for d in stored["deployments"]))

    def key(self, deployment: Deployment) -> str:
        return f"ig:dep:{self.namespace_id}:{self.alias}:{deployment.id}"


def groups_of(namespace_id: str, aliases: Any) -> list[Group]:
    """The groups of a namespace's aliases that have deployments (``aliases``: NamespaceRecord's form, aliases_of)."""
    return [Group.from_settings(namespace_id, name, deployments) for name, _, _, deployments in aliases if deployments]


@dataclass
class State:
    """One deployment's shared state as read before a choice."""

    failures: int = 0
    open_until_ms: int = 0
    latency_ms: float | None = None
    inflight: int = 0
    minute_requests: int = 0
    minute_tokens: int = 0
    requests: int = 0
    errors: int = 0

    def breaker(self, now_ms: int, threshold: int) -> str:
        if self.open_until_ms > now_ms:
            return "open"
        return "half_open" if self.failures >= threshold else "closed"

    def at_capacity(self, deployment: Deployment) -> bool:
        return (deployment.rpm is not None and self.minute_requests >= deployment.rpm
                or deployment.tpm is not None and self.minute_tokens >= deployment.tpm)


@dataclass
class Unavailable:
    """Why no deployment was tried: each one's state, and when the first may take calls again."""

    states: dict[str, str] = field(default_factory=dict)
    retry_after_s: int = 1


def _now_ms() -> int:
    return int(time.time() * 1000)


def _minute(now_ms: int) -> int:
    return now_ms // 60_000


def _stale_ms() -> int:
    """A call in flight longer than this is a node that died mid-call."""
    return int((settings.INFERGATE["PROVIDER_TIMEOUT_SECONDS"] * 2 + 60) * 1000)


_last_warning = 0.0


def _redis_warn(exc: BaseException) -> None:
    global _last_warning
    if time.monotonic() - _last_warning > 60:
        _last_warning = time.monotonic()
        logger.warning("deployments: Redis unavailable (%s); balancing on weights alone, breakers not kept",
                       type(exc).__name__)


def _int(value: Any) -> int:
    return int(value) if value not in (None, b"") else 0


def _state_queries(pipe: Any, group: Group) -> Any:
    now = _now_ms()
    for deployment in group.deployments:
        key = group.key(deployment)
        pipe.hmget(key, "failures", "open_until", "latency_ms", "requests", "errors")
        pipe.zcount(f"{key}:inflight", now - _stale_ms(), "+inf")
        pipe.hmget(f"{key}:m:{_minute(now)}", "requests", "tokens")
    return pipe


async def states_read(group: Group) -> dict[str, State]:
    """Every deployment's state in one round trip; all closed and idle when Redis is unavailable."""
    pipe = _state_queries(redis_async().pipeline(transaction=False), group)
    try:
        replies = await pipe.execute()
    except REDIS_ERRORS as exc:
        _redis_warn(exc)
        return {d.id: State() for d in group.deployments}
    return {d.id: _state(replies[3 * i: 3 * i + 3]) for i, d in enumerate(group.deployments)}


def _state(replies: list[Any]) -> State:
    (failures, open_until, latency, requests, errors), inflight, (minute_requests, minute_tokens) = replies
    return State(failures=_int(failures), open_until_ms=_int(open_until),
                 latency_ms=float(latency) if latency not in (None, b"") else None, inflight=int(inflight or 0),
                 minute_requests=_int(minute_requests), minute_tokens=_int(minute_tokens),
                 requests=_int(requests), errors=_int(errors))


def order(group: Group, states: dict[str, State], rng: random.Random | None = None) -> list[Deployment]:
    """The deployments in the order the group's strategy would try them (breakers and capacity aside)."""
    rng = rng or random.Random()
    deployments = list(group.deployments)
    if group.strategy == "least_busy":
        return sorted(deployments, key=lambda d: (states[d.id].inflight / d.weight, rng.random()))
    if group.strategy == "lowest_latency":
        if rng.random() < EXPLORE_SHARE:
            rng.shuffle(deployments)
            return deployments
        # One never timed goes first: it has to be measured once to be compared.
        return sorted(deployments, key=lambda d: (states[d.id].latency_ms or 0.0, rng.random()))
    if group.strategy == "usage":
        return sorted(deployments, key=lambda d: (-_headroom(d, states[d.id]), rng.random()))
    # weighted: a random order in which each deployment comes first in proportion to its weight.
    return sorted(deployments, key=lambda d: -math.log(rng.random() or 1e-12) / d.weight)


def _headroom(deployment: Deployment, state: State) -> float:
    """The share of this minute's capacity left (the smaller of rpm and tpm); a deployment without limits has all
    of it, scaled by weight so that equal ones split evenly."""
    shares = [1 - state.minute_requests / deployment.rpm] if deployment.rpm else []
    shares += [1 - state.minute_tokens / deployment.tpm] if deployment.tpm else []
    return min(shares, default=1.0) * deployment.weight


@dataclass
class Lease:
    """One call on one deployment: admitted (capacity counted, in flight), then ``succeeded`` or ``failed``."""

    group: Group
    deployment: Deployment
    request_id: str
    state: State
    probe: bool  # the half-open breaker's one call
    started: float = field(default_factory=time.perf_counter)
    answered: float | None = None  # a stream's first text: its latency is the time to it

    def first_answer(self) -> None:
        self.answered = time.perf_counter()

    async def succeeded(self, tokens: int) -> None:
        latency = ((self.answered or time.perf_counter()) - self.started) * 1000
        average = latency if self.state.latency_ms is None else \
            self.state.latency_ms * (1 - LATENCY_WEIGHT) + latency * LATENCY_WEIGHT
        key = self.group.key(self.deployment)
        pipe = redis_async().pipeline(transaction=False)
        pipe.hset(key, mapping={"failures": 0, "open_until": 0, "latency_ms": round(average, 3)})
        pipe.hincrby(key, "requests", 1)
        self._end(pipe, key, tokens)
        await _execute(pipe)

    async def failed(self, error: InfergateError, worthy: bool) -> None:
        """A failure: counted; one another deployment could avoid also moves the breaker (``worthy``)."""
        key = self.group.key(self.deployment)
        pipe = redis_async().pipeline(transaction=False)
        pipe.hincrby(key, "requests", 1)
        pipe.hincrby(key, "errors", 1)
        if worthy:
            pipe.hincrby(key, "failures", 1)
        self._end(pipe, key, 0)
        replies = await _execute(pipe)
        if not worthy or replies is None:
            return
        failures = replies[2]
        retry_after = _retry_after_s(error)
        if retry_after is None and failures < self.group.failures and not self.probe:
            return
        until = _now_ms() + 1000 * (retry_after if retry_after is not None else self.group.cooldown_s)
        pipe = redis_async().pipeline(transaction=False)
        pipe.hset(key, mapping={"open_until": until, "failures": max(failures, self.group.failures)})
        pipe.delete(f"{key}:probe")
        await _execute(pipe)
        logger.warning("deployment %s/%s of namespace %s: breaker open for %.0f s after %s",
                       self.group.alias, self.deployment.id, self.group.namespace_id,
                       (until - _now_ms()) / 1000, error.type)

    async def abandoned(self) -> None:
        """The client went away mid-call: no verdict on the deployment, only no longer in flight."""
        key = self.group.key(self.deployment)
        pipe = redis_async().pipeline(transaction=False)
        self._end(pipe, key, 0)
        await _execute(pipe)

    def _end(self, pipe: Any, key: str, tokens: int) -> None:
        pipe.zrem(f"{key}:inflight", self.request_id)
        if tokens:
            minute = f"{key}:m:{_minute(_now_ms())}"
            pipe.hincrby(minute, "tokens", tokens)
            pipe.expire(minute, MINUTE_KEY_SECONDS)
        if self.probe:
            pipe.delete(f"{key}:probe")


def _retry_after_s(error: InfergateError) -> int | None:
    """A provider's Retry-After on a 429 or 503 (whole seconds, at most a day), else None."""
    if error.status not in (429, 503):
        return None
    value = (error.headers or {}).get("Retry-After", "")
    return min(int(value), 86_400) if value.isdigit() else None


async def _execute(pipe: Any) -> list[Any] | None:
    try:
        return await pipe.execute()
    except REDIS_ERRORS as exc:
        _redis_warn(exc)
        return None


async def lease_take(group: Group, deployment: Deployment, state: State, request_id: str) -> Lease | None:
    """Admit one call on the deployment, or None when its breaker is open, another node holds its half-open
    probe, or this minute's requests reached its ``rpm`` (counted atomically across nodes)."""
    now = _now_ms()
    breaker = state.breaker(now, group.failures)
    if breaker == "open" or state.at_capacity(deployment):
        return None
    key = group.key(deployment)
    minute = f"{key}:m:{_minute(now)}"
    pipe = redis_async().pipeline(transaction=False)
    if breaker == "half_open":
        pipe.set(f"{key}:probe", request_id, nx=True, px=_stale_ms())
    pipe.hincrby(minute, "requests", 1)
    pipe.expire(minute, MINUTE_KEY_SECONDS)
    pipe.zadd(f"{key}:inflight", {request_id: now})
    pipe.zremrangebyscore(f"{key}:inflight", 0, now - _stale_ms())  # the calls of a node that died mid-call
    pipe.sadd(REGISTRY_KEY, json.dumps([group.namespace_id, group.alias, deployment.id]))
    replies = await _execute(pipe)
    if replies is None:  # Redis unavailable: nothing to count against
        return Lease(group, deployment, request_id, state, probe=False)
    probe = breaker == "half_open"
    if probe and not replies[0]:
        await _undo(key, minute, request_id)
        return None
    admitted = replies[1 if probe else 0]
    if deployment.rpm is not None and admitted > deployment.rpm:
        await _undo(key, minute, request_id, probe=probe)
        return None
    return Lease(group, deployment, request_id, state, probe=probe)


async def _undo(key: str, minute: str, request_id: str, probe: bool = False) -> None:
    pipe = redis_async().pipeline(transaction=False)
    pipe.hincrby(minute, "requests", -1)
    pipe.zrem(f"{key}:inflight", request_id)
    if probe:
        pipe.delete(f"{key}:probe")
    await _execute(pipe)


def unavailable(group: Group, states: dict[str, State]) -> Unavailable:
    """Each deployment's state when none could be tried, and the seconds until the first one may be."""
    now = _now_ms()
    waits = []
    described = {}
    for deployment in group.deployments:
        state = states[deployment.id]
        breaker = state.breaker(now, group.failures)
        if breaker == "open":
            waits.append(state.open_until_ms - now)
        elif state.at_capacity(deployment):
            breaker = "at_capacity"
            waits.append(60_000 - now % 60_000)
        else:
            waits.append(1000)  # a half-open one whose probe another call holds
        described[deployment.id] = breaker
    return Unavailable(states=described, retry_after_s=max(1, math.ceil(min(waits, default=1000) / 1000)))


# -- reading it all back: the API, the dashboard and /metrics ----------------------------------------------

def group_report(group: Group, states: dict[str, State]) -> dict[str, Any]:
    now = _now_ms()
    items = []
    for deployment in group.deployments:
        state = states[deployment.id]
        breaker = state.breaker(now, group.failures)
        items.append({**deployment.as_dict(), "state": breaker, "failures": state.failures,
                      "retry_after_seconds": max(0, math.ceil((state.open_until_ms - now) / 1000))
                      if breaker == "open" else 0,
                      "requests": state.requests, "errors": state.errors, "latency_ms": state.latency_ms,
                      "inflight": state.inflight,
                      "minute": {"requests": state.minute_requests, "tokens": state.minute_tokens}})
    return {"alias": group.alias, "strategy": group.strategy,
            "breaker": {"failures": group.failures, "cooldown_seconds": group.cooldown_s}, "deployments": items}


def states_read_sync(group: Group) -> dict[str, State]:
    """``states_read`` for threads (the API's views, the metrics scrape); raises when Redis is unavailable."""
    replies = _state_queries(redis_sync().pipeline(transaction=False), group).execute()
    return {d.id: _state(replies[3 * i: 3 * i + 3]) for i, d in enumerate(group.deployments)}


def breaker_reset(group: Group, deployment: Deployment) -> None:
    """Close a deployment's breaker by hand (an operator who fixed what made it fail)."""
    key = group.key(deployment)
    pipe = redis_sync().pipeline(transaction=False)
    pipe.hset(key, mapping={"failures": 0, "open_until": 0})
    pipe.delete(f"{key}:probe")
    pipe.execute()


def registered_sync() -> list[tuple[str, str, str]]:
    """(namespace id, alias, deployment id) of every deployment used so far; raises when Redis is unavailable."""
    return sorted(tuple(json.loads(member)) for member in redis_sync().smembers(REGISTRY_KEY))
