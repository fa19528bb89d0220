"""Rate limits and budgets, enforced atomically in Redis so that they hold across any number of processes.

Each request checks, in one Redis round trip (a Lua script), every limit that applies to it:

- the key's requests and tokens per minute (the key's override, else its organization's default, else
  ``INFERGATE["KEY_RATE_LIMIT_RPM"/"TPM"]``),
- the namespace's requests and tokens per minute, and its monthly budget in USD, where set.

Requests per minute are exact: a sorted set of the requests admitted in the last 60 s (a sliding log), so
that no 60 s ever holds more than the limit. Tokens per minute use a sliding-window counter: the current
minute's count plus the previous minute's, weighted by how much of it still lies inside the last 60 s.
Tokens are reserved before the call (the caller's estimate: inference/estimates.py) and settled to the
actual count afterwards, off the hot path; concurrent requests can overshoot by at most one request's
reservation. Budgets reserve the estimated cost the same way, in micro-dollars per calendar month (UTC).

If Redis cannot be reached, ``INFERGATE["LIMITS_ON_REDIS_ERROR"]`` decides: ``open`` (default) admits the
request and logs an alarm, ``closed`` refuses it with 503. Never a 500.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from django.conf import settings
from redis.exceptions import NoScriptError

from core.errors import ServiceUnavailableError, TooManyRequestsError
from core.metrics import limiter_decision
from core.redis import ERRORS as REDIS_ERRORS
from core.redis import redis_async
from tenancy.accounts.authentication import Principal

logger = logging.getLogger(__name__)

WINDOW_S = 60

# KEYS: for each limit, two keys. ARGV: the number of limits, now in ms, a member id unique to this request,
# then for each limit: its kind, ceiling, this request's cost, the previous window's weight and the keys' time
# to live. Kind "log" (requests): KEYS[2i-1] is a sorted set of the admitted requests of the last 60 s, exact.
# Kind "window" (tokens, budgets): KEYS[2i-1] and KEYS[2i] count the current and previous windows.
# Returns {0, used...} when admitted (and counts the costs), or {i, used..., oldest} for the first limit i
# refused, where oldest is the time in ms of the oldest request in a refused log (for Retry-After).
SCRIPT = """
local n, now, member = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local used = {}
for i = 1, n do
  local base = 3 + (i - 1) * 5
  local kind, ceiling, cost, weight = ARGV[base + 1], tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3]), tonumber(ARGV[base + 4])
  if kind == 'log' then
    redis.call('ZREMRANGEBYSCORE', KEYS[2 * i - 1], '-inf', now - 60000)
    used[i] = redis.call('ZCARD', KEYS[2 * i - 1])
  else
    local current = tonumber(redis.call('GET', KEYS[2 * i - 1]) or '0')
    local previous = 0
    if weight > 0 then previous = tonumber(redis.call('GET', KEYS[2 * i]) or '0') end
    used[i] = current + previous * weight
  end
  if cost > 0 and used[i] + cost > ceiling then
    local reply = {i}
    for j = 1, i do reply[j + 1] = math.floor(used[j]) end
    local oldest = 0
    if kind == 'log' then
      local first = redis.call('ZRANGE', KEYS[2 * i - 1], 0, 0, 'WITHSCORES')
      if first[2] then oldest = tonumber(first[2]) end
    end
    reply[i + 2] = oldest
    return reply
  end
end
local reply = {0}
for i = 1, n do
  local base = 3 + (i - 1) * 5
  local kind, cost, ttl = ARGV[base + 1], tonumber(ARGV[base + 3]), tonumber(ARGV[base + 5])
  if cost > 0 then
    if kind == 'log' then
      redis.call('ZADD', KEYS[2 * i - 1], now, member)
    else
      redis.call('INCRBY', KEYS[2 * i - 1], cost)
    end
    redis.call('EXPIRE', KEYS[2 * i - 1], ttl)
  end
  reply[i + 1] = math.floor(used[i])
end
return reply
"""


@dataclass(frozen=True)
class Limit:
    name: str  # key_requests, key_tokens, namespace_requests, namespace_tokens, namespace_budget
    ceiling: int  # requests, tokens or micro-dollars
    cost: int
    current_key: str
    previous_key: str
    previous_weight: float
    ttl_s: int
    resets_in_s: float
    window: str  # "1m" or "month"
    kind: str = "window"  # "log": an exact sliding log of requests; "window": weighted window counters


@dataclass
class Reservation:
    """What a request reserved, to be settled once its real usage is known."""

    limits: list[Limit] = field(default_factory=list)
    tokens: int = 0
    cost_micro_usd: int = 0
    headers: dict[str, str] = field(default_factory=dict)


def _request_limit(name: str, scope: str, ceiling: int, now: float) -> Limit:
    """Requests per minute, exact: no more than ``ceiling`` in any 60 s."""
    return Limit(name=name, ceiling=ceiling, cost=1, current_key=f"rl:{scope}", previous_key=f"rl:{scope}",
                 previous_weight=0.0, ttl_s=WINDOW_S + 5, resets_in_s=WINDOW_S, window="1m", kind="log")


def _minute_limit(name: str, scope: str, ceiling: int, cost: int, now: float) -> Limit:
    window = int(now // WINDOW_S)
    elapsed = now - window * WINDOW_S
    return Limit(name=name, ceiling=ceiling, cost=cost, current_key=f"rl:{scope}:{window}",
                 previous_key=f"rl:{scope}:{window - 1}", previous_weight=(WINDOW_S - elapsed) / WINDOW_S,
                 ttl_s=2 * WINDOW_S + 5, resets_in_s=WINDOW_S - elapsed, window="1m")


def _month_limit(scope: str, ceiling: int, cost: int, now: float) -> Limit:
    moment = datetime.fromtimestamp(now, tz=timezone.utc)
    month = f"{moment.year}{moment.month:02d}"
    next_month = datetime(moment.year + moment.month // 12, moment.month % 12 + 1, 1, tzinfo=timezone.utc)
    resets = next_month.timestamp() - now
    return Limit(name="namespace_budget", ceiling=ceiling, cost=cost, current_key=f"budget:{scope}:{month}",
                 previous_key=f"budget:{scope}:{month}", previous_weight=0.0, ttl_s=int(resets) + 86_400,
                 resets_in_s=resets, window="month")


def limits_for(principal: Principal, tokens: int, cost_micro_usd: int, now: float) -> list[Limit]:
    key, namespace = principal.key, principal.namespace
    limits = []
    if key.id is not None:
        if key.rate_limit_rpm:
            limits.append(_request_limit("key_requests", f"k{key.id}:r", key.rate_limit_rpm, now))
        if key.rate_limit_tpm:
            limits.append(_minute_limit("key_tokens", f"k{key.id}:t", key.rate_limit_tpm, tokens, now))
    if namespace.rate_limit_rpm:
        limits.append(_request_limit("namespace_requests", f"n{namespace.id}:r", namespace.rate_limit_rpm, now))
    if namespace.rate_limit_tpm:
        limits.append(_minute_limit("namespace_tokens", f"n{namespace.id}:t", namespace.rate_limit_tpm, tokens, now))
    if namespace.monthly_budget_usd is not None:
        ceiling = int(namespace.monthly_budget_usd * 1_000_000)
        limits.append(_month_limit(f"n{namespace.id}", ceiling, cost_micro_usd, now))
    return limits


@lru_cache(maxsize=1)
def _script_sha() -> str:
    import hashlib

    return hashlib.sha1(SCRIPT.encode()).hexdigest()


async def _evaluate(limits: list[Limit], now: float) -> list[int]:
    keys = [k for limit in limits for k in (limit.current_key, limit.previous_key)]
    args: list[Any] = [len(limits), int(now * 1000), uuid.uuid4().hex]
    for limit in limits:
        args += [limit.kind, limit.ceiling, limit.cost, limit.previous_weight, limit.ttl_s]
    client = redis_async()
    try:
        return await client.evalsha(_script_sha(), len(keys), *keys, *args)
    except NoScriptError:  # first use on this Redis (or after a restart): EVAL loads it
        return await client.eval(SCRIPT, len(keys), *keys, *args)


def _headers(limits: list[Limit], used: list[int]) -> dict[str, str]:
    headers: dict[str, str] = {}
    by_name = {limit.name: (limit, u) for limit, u in zip(limits, used)}
    for suffix, names in (("", ("key_requests", "namespace_requests")), ("-Tokens", ("key_tokens", "namespace_tokens"))):
        for name in names:
            if name in by_name:
                limit, u = by_name[name]
                headers[f"X-RateLimit-Limit{suffix}"] = str(limit.ceiling)
                headers[f"X-RateLimit-Remaining{suffix}"] = str(max(0, limit.ceiling - u - limit.cost))
                headers[f"X-RateLimit-Reset{suffix}"] = str(math.ceil(limit.resets_in_s))
                break
    return headers


def _retry_after(limit: Limit, used: int, oldest_ms: int, now: float) -> int:
    """Seconds until there is room: for a request log, when its oldest request leaves the last 60 s; for
    a saturated token window, about ceiling/60 units free a second; a budget frees when the month ends."""
    if limit.kind == "log" and oldest_ms:
        return max(1, math.ceil((oldest_ms + WINDOW_S * 1000 - now * 1000) / 1000))
    if limit.window == "month" or limit.cost > limit.ceiling:
        return max(1, math.ceil(limit.resets_in_s))
    excess = used + limit.cost - limit.ceiling
    return min(WINDOW_S, max(1, math.ceil(excess * WINDOW_S / limit.ceiling)))


_last_alarm = [0.0]


def _alarm(error: Exception) -> None:
    if time.monotonic() - _last_alarm[0] > 10:  # at most one log line every 10 s per process
        _last_alarm[0] = time.monotonic()
        logger.error("ALARM rate limiter unavailable (%s); policy %r", type(error).__name__,
                     settings.INFERGATE["LIMITS_ON_REDIS_ERROR"])


async def limits_reserve(*, principal: Principal, tokens: int = 0, cost_micro_usd: int = 0) -> Reservation:
    """Admit the request under every limit that applies, reserving the ``tokens`` and the cost (in
    micro-USD) the caller estimates it may use, or raise TooManyRequestsError (429). A request refused
    before it could run (it was invalid) still counts as a request, with nothing reserved."""
    now = time.time()
    limits = limits_for(principal, tokens, cost_micro_usd, now)
    if not limits:
        return Reservation()
    try:
        reply = [int(v) for v in await _evaluate(limits, now)]
    except REDIS_ERRORS as error:
        _alarm(error)
        closed = settings.INFERGATE["LIMITS_ON_REDIS_ERROR"] == "closed"
        limiter_decision("fail_closed" if closed else "fail_open")
        if closed:
            raise ServiceUnavailableError("Rate limits cannot be checked right now; try again shortly",
                                          headers={"Retry-After": "1"}) from None
        return Reservation()
    refused = reply[0]
    used = reply[1:refused + 1] if refused else reply[1:]
    headers = _headers(limits, used + [0] * (len(limits) - len(used)))
    limiter_decision("limited" if refused else "admitted")
    if refused:
        limit = limits[refused - 1]
        retry = _retry_after(limit, used[refused - 1], reply[refused + 1], now)
        unit = {"namespace_budget": "micro-USD"}.get(limit.name, "tokens" if "tokens" in limit.name else "requests")
        raise TooManyRequestsError(
            f"Rate limit exceeded: {limit.name.replace('_', ' ')} ({limit.ceiling} {unit} per {limit.window})",
            details={"limit": limit.ceiling, "window": limit.window, "retry_after": retry, "which": limit.name,
                     "unit": unit},
            headers={**headers, "Retry-After": str(retry)})
    return Reservation(limits=limits, tokens=tokens, cost_micro_usd=cost_micro_usd, headers=headers)


_pending: set[asyncio.Task] = set()
# Settlements not yet sent, per event loop: {counter key: [delta, ttl]}. One flush at a time per loop sends
# all that gathered meanwhile in one pipeline (under load, one round trip for many requests, not one each).
_unsent: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, list[int]]] = weakref.WeakKeyDictionary()


def limits_settlement(reservation: Reservation, *, tokens: int, cost_micro_usd: int) -> list[tuple[str, int, int]]:
    """What correcting the reservation to what was used (tokens, cost in micro-USD) adds to which counter:
    ``(key, delta, ttl seconds)`` for each counter that is off (INCRBY then EXPIRE). The caller sends them with its
    own round trip to Redis where it has one (the usage record's), else ``limits_counters_send``."""
    counters = []
    for limit in reservation.limits:
        if limit.name.endswith("_tokens"):
            delta = tokens - reservation.tokens
        elif limit.name == "namespace_budget":
            delta = cost_micro_usd - reservation.cost_micro_usd
        else:
            continue
        if delta:
            counters.append((limit.current_key, delta, limit.ttl_s))
    return counters


def limits_counters_send(counters: list[tuple[str, int, int]]) -> None:
    """Send a settlement's counters in the background, batched with the others of this turn of the loop."""
    if not counters:
        return
    loop = asyncio.get_running_loop()
    unsent = _unsent.get(loop)
    if unsent is None:  # no flush under way on this loop: start one
        unsent = _unsent[loop] = {}
        task = loop.create_task(_flush(loop))
        _pending.add(task)
        task.add_done_callback(_pending.discard)
    for key, delta, ttl in counters:  # INCRBY adds up: deltas to one counter are summed before they are sent
        entry = unsent.setdefault(key, [0, ttl])
        entry[0] += delta
        entry[1] = max(entry[1], ttl)


async def _flush(loop: asyncio.AbstractEventLoop) -> None:
    """Send the loop's unsent settlements, then whatever gathered while they were on their way, until none."""
    try:
        while True:
            await asyncio.sleep(0)  # settlements of the same turn of the loop join this batch
            batch = _unsent[loop]
            if not batch:
                return
            _unsent[loop] = {}
            try:
                async with redis_async().pipeline(transaction=False) as pipe:
                    for key, (delta, ttl) in batch.items():
                        if delta:
                            pipe.incrby(key, delta)
                            pipe.expire(key, ttl)
                    await pipe.execute()
            except REDIS_ERRORS as error:
                _alarm(error)
    finally:
        _unsent.pop(loop, None)


async def limits_settled() -> None:
    """Wait for settlements under way (tests, shutdown)."""
    while _pending:
        await asyncio.gather(*list(_pending), return_exceptions=True)
