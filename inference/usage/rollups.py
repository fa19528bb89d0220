"""Daily usage rollups and the retention of raw records (both run by Celery beat: inference/usage/tasks.py).

``usage_rollup`` recomputes whole UTC days from the raw records: for each of the last
``INFERGATE["USAGE_ROLLUP_DAYS"]`` days it deletes the day's rollup rows and inserts them again from one
``INSERT ... SELECT ... GROUP BY`` in one transaction, so a run is idempotent and a record that arrived late
(a drain that lagged, a replayed stream entry) is counted by the next run. A row per (day, organization,
namespace, key, provider, model, inference name, status) holds requests, errors (status >= 400), tokens,
cost, the latency sum and histogram (inference/usage/sketch.py), cache hits, misses, explorations and lookups
and what hits saved.
``UsageRollupDay`` notes when each day was rolled and up to when its rows count records: the whole day once
it is over, until a minute before the run for today. The summary (inference/usage/selectors.py) reads each
day's rollup rows up to that moment and raw records after it, so today costs the raw records of the last
few minutes, not of the whole day.

``usage_retention_apply`` deletes raw records older than ``INFERGATE["USAGE_RETENTION_DAYS"]`` in batches of
``INFERGATE["USAGE_DELETE_BATCH"]`` (one short transaction each), and never a record whose day has no
rollup written after the day ended: history is only ever lost from the raw table, not from the counts.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from inference.usage.models import UsageDailyRollup, UsageRecord, UsageRollupDay
from inference.usage.sketch import bucket_sql

logger = logging.getLogger(__name__)

ROLLUP_LOCK = 0x75736167  # pg advisory lock: one rollup at a time across workers
LATE_SECONDS = 60
GRAIN = "organization_id, namespace_id, api_key_id, provider, model, inference_name, status"


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=dt_timezone.utc)


def utc_today() -> date:
    return timezone.now().astimezone(dt_timezone.utc).date()


def _rollup_sql() -> str:
    rollup, record = UsageDailyRollup._meta.db_table, UsageRecord._meta.db_table
    return f"""
        INSERT INTO {rollup} (day, {GRAIN}, requests, errors, prompt_tokens, completion_tokens, total_tokens,
            cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_usd, unpriced,
            latency_sum_ms, latency_bucket_index, latency_bucket_count, cache_hits, cache_lookups,
            cache_misses, cache_explorations, saved_tokens, saved_cost_usd)
        SELECT %s, {GRAIN}, sum(n), COALESCE(sum(n) FILTER (WHERE status >= 400), 0), sum(pt), sum(ct), sum(tt),
            sum(crt), sum(cwt), sum(rt), COALESCE(sum(cost), 0), sum(unpriced),
            sum(lat), array_agg(bucket ORDER BY bucket), array_agg(n ORDER BY bucket), sum(hits), sum(lookups),
            sum(misses), sum(explorations), sum(st), COALESCE(sum(sc), 0)
        FROM (
            SELECT {GRAIN}, {bucket_sql('latency_ms')} AS bucket, count(*) AS n, sum(prompt_tokens) AS pt,
                sum(completion_tokens) AS ct, sum(total_tokens) AS tt, sum(cache_read_tokens) AS crt,
                sum(cache_write_tokens) AS cwt, sum(reasoning_tokens) AS rt, sum(cost_usd) AS cost,
                count(*) FILTER (WHERE NOT price_known) AS unpriced, sum(latency_ms) AS lat,
                count(*) FILTER (WHERE cached OR cache_decision = 'hit') AS hits,
                count(*) FILTER (WHERE cached OR cache_decision <> '') AS lookups,
                count(*) FILTER (WHERE cache_decision = 'miss') AS misses,
                count(*) FILTER (WHERE cache_decision = 'explore') AS explorations,
                sum(saved_tokens) AS st, sum(saved_cost_usd) AS sc
            FROM {record}
            WHERE created_at >= %s AND created_at < %s
            GROUP BY {GRAIN}, bucket
        ) AS buckets
        GROUP BY {GRAIN}"""


def usage_rollup_day(*, day: date) -> int:
    """Recompute one UTC day's rollup rows from its raw records; returns how many records it counts. The
    rows count records created before the day's end, or before ``LATE_SECONDS`` ago for today (a record
    is stored about a second after its request; one later than that waits for the next run)."""
    now = timezone.now()
    start = day_start(day)
    end = min(day_start(day + timedelta(days=1)), now - timedelta(seconds=LATE_SECONDS))
    if end <= start:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK])
        UsageDailyRollup.objects.filter(day=day).delete()
        cursor.execute(_rollup_sql(), [day, start, end])
        records = UsageRecord.objects.filter(created_at__gte=start, created_at__lt=end).count()
        UsageRollupDay.objects.update_or_create(day=day, defaults={"rolled_at": now, "covered_until": end,
                                                                   "records": records})
    return records


def usage_rollup(*, days: int | None = None, today: date | None = None) -> dict[str, int]:
    """Roll up today and the ``days`` - 1 days before it (default ``INFERGATE["USAGE_ROLLUP_DAYS"]``)."""
    days = settings.INFERGATE["USAGE_ROLLUP_DAYS"] if days is None else days
    today = today or utc_today()
    counted = {}
    for offset in range(days - 1, -1, -1):
        day = today - timedelta(days=offset)
        counted[day.isoformat()] = usage_rollup_day(day=day)
    return counted


def rollup_coverage(*, start: date, end: date) -> dict[date, datetime]:
    """For each day in [start, end] that has rollup rows: up to when they count its records."""
    return {row.day: row.covered_until for row in UsageRollupDay.objects.filter(
        day__gte=start, day__lte=end, covered_until__isnull=False)}


def sealed_days(*, start: date, end: date) -> set[date]:
    """Days in [start, end] whose rollup counts the whole day."""
    return {day for day, until in rollup_coverage(start=start, end=end).items()
            if until >= day_start(day + timedelta(days=1))}


def _deletable_before(cutoff: date) -> date:
    """The cutoff, or the first earlier day that holds records but has no sealed rollup."""
    oldest = UsageRecord.objects.filter(created_at__lt=day_start(cutoff)).order_by("created_at").values_list(
        "created_at", flat=True).first()
    if oldest is None:
        return cutoff
    first = oldest.astimezone(dt_timezone.utc).date()
    sealed = sealed_days(start=first, end=cutoff)
    day = first
    while day < cutoff:
        if day not in sealed and UsageRecord.objects.filter(
                created_at__gte=day_start(day), created_at__lt=day_start(day + timedelta(days=1))).exists():
            logger.warning("usage records of %s are kept past retention: that day has no complete rollup", day)
            return day
        day += timedelta(days=1)
    return cutoff


def usage_retention_apply(*, retention_days: int | None = None, batch: int | None = None,
                          today: date | None = None) -> int:
    """Delete raw records older than the retention period, batch by batch; returns how many went."""
    retention_days = settings.INFERGATE["USAGE_RETENTION_DAYS"] if retention_days is None else retention_days
    batch = batch or settings.INFERGATE["USAGE_DELETE_BATCH"]
    before = day_start(_deletable_before((today or utc_today()) - timedelta(days=retention_days)))
    table, deleted = UsageRecord._meta.db_table, 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE created_at < %s "
                           f"LIMIT %s FOR UPDATE SKIP LOCKED)", [before, batch])
            count = cursor.rowcount
        deleted += count
        if count < batch:
            return deleted
