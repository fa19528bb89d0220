"""Token settlements after the answer: those of one moment go to Redis together (one flush in flight per
event loop), and the counters end exactly where one settlement per request would have left them."""

from __future__ import annotations

import asyncio
import uuid

from core.redis import redis_async
from inference.estimates import micro_usd
from inference.types import Modality, ModelSpec, Price
from inference.usage.records import UsageEntry
from inference.usage.stream import STREAM, usage_stream_add
from tenancy.accounts import limits
from tenancy.accounts.limits import Limit, Reservation, limits_counters_send, limits_settled, limits_settlement

SPEC = ModelSpec(provider="test", model="priced", modalities=(Modality.CHAT,),
                 price=Price(prompt_per_million=1, completion_per_million=2))  # micro-USD per token


def limits_settle(reservation: Reservation, *, tokens: int, cost_micro_usd: int) -> None:
    """The background way (the service's when usage is not recorded through Redis)."""
    limits_counters_send(limits_settlement(reservation, tokens=tokens, cost_micro_usd=cost_micro_usd))


def _limit(name: str, key: str, ttl_s: int = 125) -> Limit:
    return Limit(name=name, ceiling=10_000, cost=0, current_key=key, previous_key=key, previous_weight=0.0,
                 ttl_s=ttl_s, resets_in_s=60, window="1m")


async def test_settlements_of_many_requests_add_up_exactly_in_one_flush():
    tokens, other, budget = (f"rl:test-settle:{uuid.uuid4().hex}:{n}" for n in ("t", "o", "b"))
    reservation = Reservation(limits=[_limit("key_tokens", tokens), _limit("namespace_tokens", other),
                                      _limit("namespace_budget", budget, ttl_s=3600)], tokens=20, cost_micro_usd=50)
    for used in range(1, 41):  # 40 requests finishing at once, each reserved 20 tokens and used `used`
        limits_settle(reservation, tokens=used + 1, cost_micro_usd=micro_usd(SPEC.price, used, 1))
    assert len(limits._pending) == 1  # one flush for all of them
    await limits_settled()
    client = redis_async()
    expected_tokens = sum(used + 1 - 20 for used in range(1, 41))
    expected_cost = sum(used * 1 + 1 * 2 - 50 for used in range(1, 41))
    assert int(await client.get(tokens)) == int(await client.get(other)) == expected_tokens
    assert int(await client.get(budget)) == expected_cost
    assert 0 < await client.ttl(tokens) <= 125 and 125 < await client.ttl(budget) <= 3600
    assert not limits._unsent  # nothing left waiting


async def test_a_settlement_made_while_a_flush_is_on_its_way_is_sent_too():
    key = f"rl:test-settle:{uuid.uuid4().hex}"
    reservation = Reservation(limits=[_limit("key_tokens", key)], tokens=10)
    limits_settle(reservation, tokens=3, cost_micro_usd=micro_usd(SPEC.price, 3, 0))
    flush = next(iter(limits._pending))
    await asyncio.sleep(0)  # the flush has taken the first batch and is waiting for Redis
    limits_settle(reservation, tokens=5, cost_micro_usd=micro_usd(SPEC.price, 5, 0))
    assert limits._pending == {flush}  # joined the flush under way, none started
    await limits_settled()
    assert int(await redis_async().get(key)) == (3 - 10) + (5 - 10)


async def test_a_settlement_rides_with_the_usage_record_in_one_round_trip():
    """The service's way when usage goes to the Redis stream: the counters go in the record's pipeline, and no
    flush of their own is started."""
    key = f"rl:test-settle:{uuid.uuid4().hex}"
    reservation = Reservation(limits=[_limit("key_tokens", key), _limit("key_requests", key + ":r")], tokens=10)
    counters = limits_settlement(reservation, tokens=14, cost_micro_usd=0)
    assert counters == [(key, 4, 125)]  # only the token counter is off; a request counter has nothing to correct
    entry = UsageEntry(request_id=f"req_settle_{uuid.uuid4().hex}", status=200)
    client = redis_async()
    before = await client.xlen(STREAM)
    assert await usage_stream_add(entry, counters)
    assert not limits._pending
    assert int(await client.get(key)) == 4 and 0 < await client.ttl(key) <= 125
    assert await client.xlen(STREAM) == before + 1
    (last,) = await client.xrevrange(STREAM, count=1)
    assert entry.request_id.encode() in last[1][b"e"]
