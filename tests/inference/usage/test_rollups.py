"""Daily rollups count every record once however often they run, late records included; summaries read
the same numbers from rollups as from raw records; retention never deletes what no rollup counted."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Sum

from inference.usage.models import UsageDailyRollup, UsageRecord, UsageRollupDay
from inference.usage.rollups import usage_retention_apply, usage_rollup, utc_today
from inference.usage.selectors import usage_summary
from tests.conftest import tenant_create
from tests.inference.usage.factories import at, days_back, records_make


def totals(model) -> dict:
    if model is UsageRecord:
        return UsageRecord.objects.aggregate(requests=Count("id"), tokens=Sum("total_tokens"), cost=Sum("cost_usd"))
    return model.objects.aggregate(requests=Sum("requests"), tokens=Sum("total_tokens"), cost=Sum("cost_usd"))


def test_rollups_are_idempotent_and_count_late_records(transactional_db):
    tenant = tenant_create("roll", "main")
    today = utc_today()
    days = days_back(today, 3)
    records_make(organization_id=tenant.organization.id, namespace_ids=[tenant.namespace.id],
                 key_ids=[tenant.key_id], days=days, per_day=200)
    usage_rollup(days=4, today=today)
    first = totals(UsageDailyRollup)
    usage_rollup(days=4, today=today)
    assert totals(UsageDailyRollup) == first == totals(UsageRecord)
    assert first["requests"] == 600
    # A record of yesterday that reached the database only now (a lagging drain) is counted by the next run.
    UsageRecord.objects.create(request_id="late", created_at=at(days[-1], 23, 59), organization=tenant.organization,
                               namespace=tenant.namespace, status=200, total_tokens=7, cost_usd=Decimal("0.5"))
    usage_rollup(days=4, today=today)
    assert totals(UsageDailyRollup) == totals(UsageRecord)
    assert totals(UsageDailyRollup)["requests"] == 601
    row = UsageDailyRollup.objects.filter(day=days[-1]).first()
    assert sum(row.latency_bucket_count) == row.requests and len(row.latency_bucket_index) == len(
        row.latency_bucket_count)


def test_a_summary_reads_the_same_from_rollups_as_from_raw_records(transactional_db):
    tenant = tenant_create("same", "main")
    other = tenant_create("same", "second")
    today = utc_today()
    records_make(organization_id=tenant.organization.id, namespace_ids=[tenant.namespace.id, other.namespace.id],
                 key_ids=[tenant.key_id, other.key_id], days=[*days_back(today, 4), today], per_day=150)
    query = {"organization_id": tenant.organization.id, "namespace_ids": None, "start": today - timedelta(days=4),
             "end": today}
    for group_by in ([], ["day"], ["model", "status"], ["namespace", "key"]):
        raw = usage_summary(**query, group_by=group_by)  # nothing rolled up yet: all from raw records
        usage_rollup(days=6, today=today)
        rolled = usage_summary(**query, group_by=group_by)  # past days from rollups, today from raw records
        assert rolled == raw
        # Without the percentiles (what the cache counters ask for): the same counts, no latency figures.
        counts = usage_summary(**query, group_by=group_by, latency=False)
        assert counts.rows and all(row.latency_p50_ms is None and row.latency_p95_ms is None for row in counts.rows)
        assert counts == replace(rolled, rows=[replace(row, latency_p50_ms=None, latency_p95_ms=None)
                                               for row in rolled.rows])
        UsageDailyRollup.objects.all().delete()
        UsageRollupDay.objects.all().delete()
    overall = usage_summary(**query).rows[0]
    assert overall.requests == 750 and overall.errors == UsageRecord.objects.filter(status__gte=400).count()
    assert overall.latency_p50_ms < overall.latency_p95_ms
    # Filters and scope: a namespace-scoped caller sees only its namespace.
    scoped = usage_summary(**{**query, "namespace_ids": [other.namespace.id]}).rows[0]
    assert scoped.requests == UsageRecord.objects.filter(namespace=other.namespace).count() < 750
    assert usage_summary(**query, status=502).rows[0].requests == UsageRecord.objects.filter(status=502).count()


def test_retention_deletes_old_records_in_batches_only_once_rolled_up(transactional_db):
    tenant = tenant_create("keep", "main")
    today = utc_today()
    old, recent = today - timedelta(days=10), today - timedelta(days=2)
    records_make(organization_id=tenant.organization.id, namespace_ids=[tenant.namespace.id],
                 key_ids=[tenant.key_id], days=[old, recent], per_day=7)
    assert usage_retention_apply(retention_days=5, batch=3, today=today) == 0  # the old day has no rollup
    usage_rollup(days=11, today=today)
    assert usage_retention_apply(retention_days=5, batch=3, today=today) == 7
    assert UsageRecord.objects.count() == 7
    assert UsageDailyRollup.objects.filter(day=old).aggregate(n=Sum("requests"))["n"] == 7


def test_beat_runs_the_rollup_and_the_retention():
    from django.conf import settings

    from playground.celery import app

    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"inference.usage.tasks.usage_rollup", "inference.usage.tasks.usage_retention"} <= scheduled
    assert scheduled <= set(app.tasks)


def test_today_is_read_from_its_rollup_until_a_minute_before_the_run_and_from_raw_records_after(transactional_db):
    from django.utils import timezone

    tenant = tenant_create("today", "main")
    now, today = timezone.now(), utc_today()
    if now - timedelta(minutes=10) < at(today, 0, 0):
        return  # too close to midnight for "ten minutes ago" to be today
    record = {"organization": tenant.organization, "namespace": tenant.namespace, "status": 200}
    UsageRecord.objects.create(request_id="early", created_at=now - timedelta(minutes=10), **record)
    usage_rollup(days=1, today=today)
    UsageRecord.objects.create(request_id="fresh", created_at=timezone.now(), **record)  # after the rollup
    # Stored late: created before the rollup's watermark, written after the run. The next run counts it.
    UsageRecord.objects.create(request_id="late", created_at=now - timedelta(minutes=5), **record)
    query = {"organization_id": tenant.organization.id, "namespace_ids": None, "start": today, "end": today}
    assert usage_summary(**query).rows[0].requests == 2
    usage_rollup(days=1, today=today)
    assert usage_summary(**query).rows[0].requests == 3
    assert UsageDailyRollup.objects.filter(day=today).aggregate(n=Sum("requests"))["n"] == 2  # "fresh" is raw
