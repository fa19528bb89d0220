"""Usage records written straight to the table, spread over past days (what months of traffic leave)."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from inference.usage.models import UsageRecord


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.utc)


def records_make(*, organization_id: int, namespace_ids: list[str], key_ids: list[int], days: list[date],
                 per_day: int, seed: int = 1) -> list[UsageRecord]:
    rng = random.Random(seed)
    records = []
    for day in days:
        for i in range(per_day):
            status = rng.choice([200, 200, 200, 200, 429, 502])
            prompt, completion = rng.randint(5, 500), rng.randint(0, 300) if status == 200 else 0
            cached = status == 200 and rng.random() < 0.2
            records.append(UsageRecord(
                request_id=f"r-{day}-{i}-{seed}", created_at=at(day, rng.randint(0, 23), rng.randint(0, 59)),
                organization_id=organization_id, namespace_id=rng.choice(namespace_ids),
                api_key_id=rng.choice(key_ids), provider="test", model=rng.choice(["echo", "big"]),
                modality="text_generation", prompt_tokens=prompt, completion_tokens=completion,
                total_tokens=prompt + completion, cost_usd=Decimal(prompt + completion) / 10 ** 6,
                latency_ms=rng.lognormvariate(4, 0.7), status=status, cached=cached,
                cache_decision=("hit" if cached else rng.choice(["", "miss"])), error_type="" if status == 200 else "X"))
    UsageRecord.objects.bulk_create(records)
    return records


def days_back(today: date, count: int) -> list[date]:
    return [today - timedelta(days=n) for n in range(count, 0, -1)]
