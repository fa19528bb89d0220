"""The cache's counters come from the usage summary: daily rollups plus the raw records no rollup covers. They
are the same whether the namespace's records are raw, rolled up, or both (rolled days and today's tail), they
outlive raw-record retention, and records of another namespace or organization never count."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Count, Q, Sum
from django.utils import timezone

from inference.cache.selectors import cache_counters
from inference.usage.models import UsageDailyRollup, UsageRecord, UsageRollupDay
from inference.usage.rollups import LATE_SECONDS, usage_rollup, utc_today
from inference.usage.selectors import usage_first_day, usage_summary
from tests.conftest import tenant_create
from tests.inference.usage.factories import at

DECISIONS = ["hit", "hit", "miss", "miss", "miss", "explore", ""]
USAGE_KEYS = ("hits", "misses", "explorations", "saved_tokens", "saved_cost_usd")


def records_add(tenant, moments, *, seed: int = 0) -> None:
    """Records of every cache decision at the given moments; hits save tokens and cost, as cache_hit_mark sets."""
    records = []
    for n, moment in enumerate(moments):
        decision = DECISIONS[(n + seed) % len(DECISIONS)]
        saved = 10 + n if decision == "hit" else 0
        records.append(UsageRecord(
            request_id=f"c-{tenant.namespace.id}-{seed}-{n}", created_at=moment, organization=tenant.organization,
            namespace=tenant.namespace, api_key_id=tenant.key_id, provider="test", model="echo-priced",
            modality="chat", status=200, latency_ms=5.0 + n, cached=decision == "hit", cache_decision=decision,
            saved_tokens=saved, saved_cost_usd=Decimal(saved) / 1000))
    UsageRecord.objects.bulk_create(records)


def raw_counts(namespace_id: str) -> dict:
    """What the counters counted before rollups: straight from the namespace's raw records."""
    usage = UsageRecord.objects.filter(namespace_id=namespace_id).aggregate(
        hits=Count("id", filter=Q(cache_decision="hit")), misses=Count("id", filter=Q(cache_decision="miss")),
        explorations=Count("id", filter=Q(cache_decision="explore")), saved_tokens=Sum("saved_tokens"),
        saved_cost_usd=Sum("saved_cost_usd"))
    return {**usage, "saved_tokens": int(usage["saved_tokens"] or 0),
            "saved_cost_usd": float(usage["saved_cost_usd"] or 0)}


def usage_part(counters: dict) -> dict:
    return {name: counters[name] for name in USAGE_KEYS}


def minutes_ago(minutes: float):
    return timezone.now() - timedelta(minutes=minutes)


@pytest.fixture
def world(transactional_db):
    """One namespace under test, a second namespace of its organization and another organization, all with
    records on the same days (three past days and today, before and after a rollup's watermark)."""
    if minutes_ago(30) < at(utc_today(), 0, 0):
        pytest.skip("too close to midnight UTC for 'half an hour ago' to be today")
    mine = tenant_create("counters", "main")
    neighbour = tenant_create("counters", "second")
    rival = tenant_create("counters-rival", "main")
    today = utc_today()
    moments = [at(today - timedelta(days=d), h, 7 * h % 60) for d in (3, 2, 1) for h in (0, 5, 11, 17, 23)]
    moments += [minutes_ago(m) for m in (30, 20, 10)]
    for seed, tenant in enumerate((mine, neighbour, rival)):
        records_add(tenant, moments * (seed + 1), seed=seed)
    return mine, neighbour, rival


def test_counters_read_the_same_from_raw_records_rollups_and_both(world):
    mine, neighbour, rival = world
    today = utc_today()
    expected = raw_counts(mine.namespace.id)
    assert expected["hits"] and expected["misses"] and expected["explorations"] and expected["saved_tokens"]
    assert not UsageRollupDay.objects.exists()
    assert usage_part(cache_counters(namespace_id=mine.namespace.id)) == expected  # raw records only

    usage_rollup(days=4, today=today)  # past days sealed, today rolled up to a minute ago
    assert UsageDailyRollup.objects.filter(namespace=mine.namespace, day=today).exists()
    assert usage_part(cache_counters(namespace_id=mine.namespace.id)) == expected  # rollups only

    # Today's tail: records after the rollup's watermark are read raw, next to the rolled days.
    records_add(mine, [timezone.now(), timezone.now() - timedelta(seconds=LATE_SECONDS / 2)], seed=1)
    tail_expected = raw_counts(mine.namespace.id)
    assert tail_expected != expected
    assert usage_part(cache_counters(namespace_id=mine.namespace.id)) == tail_expected  # rolled days + raw tail
    usage_rollup(days=4, today=today)  # idempotent: a second run changes nothing
    assert usage_part(cache_counters(namespace_id=mine.namespace.id)) == tail_expected

    # The namespace's neighbour and the other organization count only their own records.
    for other in (neighbour, rival):
        assert usage_part(cache_counters(namespace_id=other.namespace.id)) == raw_counts(other.namespace.id)


def test_rolled_up_history_outlives_raw_records(world):
    """Once a day is sealed in the rollups, deleting its raw records (what retention does) changes no counter:
    the counters cover every rolled day, not only the raw-record retention window."""
    mine, _, _ = world
    today = utc_today()
    usage_rollup(days=4, today=today)
    expected = cache_counters(namespace_id=mine.namespace.id)
    deleted, _ = UsageRecord.objects.filter(created_at__lt=at(today, 0, 0)).delete()
    assert deleted
    assert cache_counters(namespace_id=mine.namespace.id) == expected
    assert usage_first_day(namespace_id=mine.namespace.id) == today - timedelta(days=3)


def test_other_namespaces_and_organizations_never_count(transactional_db):
    """A namespace with no records of its own counts nothing, rolled up or not, while its neighbours and
    another organization have traffic on the same days."""
    quiet = tenant_create("counters-quiet", "main")
    busy = tenant_create("counters-quiet", "busy")
    rival = tenant_create("counters-loud", "main")
    today = utc_today()
    moments = [at(today - timedelta(days=d), 12) for d in (2, 1)] + [timezone.now()]
    records_add(busy, moments * 3)
    records_add(rival, moments * 3, seed=2)
    zero = {"hits": 0, "misses": 0, "explorations": 0, "saved_tokens": 0, "saved_cost_usd": 0.0}
    assert usage_part(cache_counters(namespace_id=quiet.namespace.id)) == zero
    usage_rollup(days=3, today=today)
    assert usage_part(cache_counters(namespace_id=quiet.namespace.id)) == zero
    assert usage_part(cache_counters(namespace_id="ns_doesnotexist0000")) == zero
    # A record claiming the quiet namespace under another organization (never written by the gateway) is not
    # the namespace's: the summary is scoped to the namespace's own organization.
    UsageRecord.objects.create(request_id="forged", organization=rival.organization, namespace=quiet.namespace,
                               status=200, cache_decision="hit", cached=True, saved_tokens=5)
    assert usage_part(cache_counters(namespace_id=quiet.namespace.id)) == zero


def test_the_summary_splits_cache_decisions_the_same_before_and_after_a_rollup(world):
    mine, _, _ = world
    today = utc_today()
    query = {"organization_id": mine.organization.id, "namespace_ids": None, "start": today - timedelta(days=3),
             "end": today, "group_by": ["day", "namespace"]}
    raw = usage_summary(**query)
    usage_rollup(days=4, today=today)
    assert usage_summary(**query) == raw
    mine_rows = [row for row in raw.rows if row.namespace_id == mine.namespace.id]
    expected = raw_counts(mine.namespace.id)
    assert sum(row.cache_misses for row in mine_rows) == expected["misses"]
    assert sum(row.cache_explorations for row in mine_rows) == expected["explorations"]
    rolled = UsageDailyRollup.objects.filter(namespace=mine.namespace).aggregate(
        misses=Sum("cache_misses"), explorations=Sum("cache_explorations"))
    assert 0 < rolled["misses"] <= expected["misses"] and 0 < rolled["explorations"] <= expected["explorations"]


async def test_the_summary_api_shows_misses_and_explorations_as_documented(world, client):
    from asgiref.sync import sync_to_async

    mine, _, _ = world
    expected = await sync_to_async(raw_counts)(mine.namespace.id)
    url = f"/v1/analytics/usage/summary?namespace={mine.namespace.id}&start={utc_today() - timedelta(days=3)}"
    headers = {"Authorization": f"Bearer {mine.secret}"}
    answers = []
    for _ in range(2):  # raw records, then rollups and today's tail
        answer = (await client.get(url, headers=headers)).json()
        answers.append(answer)
        await sync_to_async(usage_rollup)(days=4)
    assert answers[0] == answers[1]
    row = answers[0]["data"][0]
    assert (row["cache_hits"], row["cache_misses"], row["cache_explorations"]) == (
        expected["hits"], expected["misses"], expected["explorations"])
    schema = (await client.get("/v1/openapi.json")).json()["paths"]["/v1/analytics/usage/summary"]["get"]
    documented = schema["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["data"]["items"]
    assert set(row) <= set(documented["properties"])
    assert {"cache_misses", "cache_explorations"} <= set(
        schema["responses"]["200"]["content"]["application/json"]["example"]["data"][0])


def test_the_migration_fills_misses_and_explorations_of_rows_rolled_up_before_it(world):
    """Rows written before migration 0006 hold 0 misses and explorations; 0007 counts them from the raw records
    each row covers (today's row only up to its watermark: the tail stays raw), so the counters are right at once."""
    import importlib

    from django.db import connection

    mine, neighbour, rival = world
    usage_rollup(days=4, today=utc_today())
    records_add(mine, [timezone.now()], seed=3)  # today's tail, after the watermark
    rolled = list(UsageDailyRollup.objects.order_by("id").values("id", "cache_misses", "cache_explorations"))
    namespaces = [tenant.namespace.id for tenant in (mine, neighbour, rival)]
    before = {namespace: cache_counters(namespace_id=namespace) for namespace in namespaces}
    UsageDailyRollup.objects.update(cache_misses=0, cache_explorations=0)  # as 0006 left older rows
    assert cache_counters(namespace_id=mine.namespace.id) != before[mine.namespace.id]
    backfill = importlib.import_module("inference.usage.migrations.0007_rollup_cache_decisions_backfill")
    with connection.cursor() as cursor:
        cursor.execute(backfill.BACKFILL_SQL)
    assert list(UsageDailyRollup.objects.order_by("id").values("id", "cache_misses", "cache_explorations")) == rolled
    assert {namespace: cache_counters(namespace_id=namespace) for namespace in namespaces} == before
