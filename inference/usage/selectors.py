"""Reading usage: raw records page by page, and summaries over rollups and raw records.

Both selectors are scoped the same way: ``organization_id`` is the caller's organization and
``namespace_ids`` the namespaces it may see (``None``: all of the organization's, including records whose
namespace was never known, such as a 404 namespace). Filters narrow within that scope, never widen it.

``usage_records_list(*, organization_id, namespace_ids, start=None, end=None, namespace_id=None,
api_key_id=None, provider=None, model=None, status=None, cursor=None, limit=50) -> UsageRecordPage``
    Raw records, newest first, ``start <= created_at < end`` (aware datetimes). Paged by keyset:
    ``page.next_cursor`` (an opaque string, None on the last page) is passed back as ``cursor``.
    An invalid cursor raises ``core.errors.ValidationError``. Raw records exist for
    ``INFERGATE["USAGE_RETENTION_DAYS"]`` days.

``usage_summary(*, organization_id, namespace_ids, start, end, group_by=(), namespace_id=None,
api_key_id=None, provider=None, model=None, status=None, limit=100, offset=0, today=None) -> UsageSummaryPage``
    Totals per group over the UTC days ``start`` to ``end`` (dates, both included). ``group_by`` is any of
    ``GROUP_BY`` ("day", "namespace", "key", "model", "status"; "model" groups by provider and model). Rows
    come ordered by their group values; ``page.total`` counts all groups; groups without requests are absent.
    Each ``UsageSummaryRow`` has the group's values (None where not grouped), requests, errors (status >= 400),
    prompt/completion/total tokens, cost, p50/p95 latency, error rate, the semantic cache's hits, misses and
    explorations (requests by ``cache_decision``; a hit is also any ``cached`` record), cache hit rate (hits /
    requests) and what cache hits saved. Each day is read from its ``UsageDailyRollup`` rows up to the moment
    they cover (the whole day once it is over; today until a minute before the last rollup run) and from raw
    records after it (a day beat has not rolled at all: all raw). Percentiles
    come from merged log-bucket histograms (inference/usage/sketch.py: within about ±9%).

``usage_first_day(*, namespace_id) -> date | None``
    The first UTC day usage of the namespace may be counted on: the first rolled day (rollups are kept
    forever) or the day of the namespace's first raw record, whichever is earlier; None when neither exists.
    ``usage_summary`` from it to today covers the namespace's whole history (the cache's counters).

``usage_summary_query(...)`` takes the same arguments and returns the summary's SQL and parameters (for EXPLAIN);
``usage_cursor_encode(record) / usage_cursor_decode(cursor)`` are the keyset cursor's two halves.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from typing import Any, Collection, Sequence

from django.db import connection, transaction

from core.errors import ValidationError
from inference.usage.models import UsageDailyRollup, UsageRecord, UsageRollupDay
from inference.usage.rollups import day_start, rollup_coverage, utc_today
from inference.usage.sketch import bucket_sql, position_ms

GROUP_BY = ("day", "namespace", "key", "model", "status")
MAX_PAGE = 1000
SUMMARY_WORK_MEM = "64MB"


@dataclass(frozen=True)
class UsageRecordPage:
    records: list[UsageRecord]
    next_cursor: str | None


@dataclass(frozen=True)
class UsageSummaryRow:
    day: date | None
    namespace_id: str | None
    api_key_id: int | None
    provider: str | None
    model: str | None
    status: int | None
    requests: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    cost_usd: Decimal  # of the requests with a known price
    unpriced: int  # requests whose cost is unknown (not in cost_usd)
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_avg_ms: float | None
    cache_hits: int
    cache_misses: int
    cache_explorations: int
    saved_tokens: int
    saved_cost_usd: Decimal

    @property
    def error_rate(self) -> float:
        return round(self.errors / self.requests, 6) if self.requests else 0.0

    @property
    def cache_hit_rate(self) -> float:
        return round(self.cache_hits / self.requests, 6) if self.requests else 0.0


@dataclass(frozen=True)
class UsageSummaryPage:
    rows: list[UsageSummaryRow]
    total: int


# --- raw records -------------------------------------------------------------------------------------

def usage_cursor_encode(record: UsageRecord) -> str:
    raw = f"{record.created_at.isoformat()}|{record.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def usage_cursor_decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        created, record_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|")
        at = datetime.fromisoformat(created)
        if at.tzinfo is None:
            raise ValueError("naive")
        return at, uuid.UUID(record_id)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError([{"field": "cursor", "problem": "not a cursor this API returned"}]) from None


def _scoped(organization_id: int, namespace_ids: Collection[str] | None) -> Any:
    records = UsageRecord.objects.filter(organization_id=organization_id)
    return records if namespace_ids is None else records.filter(namespace_id__in=list(namespace_ids))


def usage_records_list(*, organization_id: int, namespace_ids: Collection[str] | None,
                       start: datetime | None = None, end: datetime | None = None, namespace_id: str | None = None,
                       api_key_id: int | None = None, provider: str | None = None, model: str | None = None,
                       status: int | None = None, cursor: str | None = None, limit: int = 50) -> UsageRecordPage:
    records = _scoped(organization_id, namespace_ids)
    filters = {"created_at__gte": start, "created_at__lt": end, "namespace_id": namespace_id,
               "api_key_id": api_key_id, "provider": provider, "model": model, "status": status}
    records = records.filter(**{name: value for name, value in filters.items() if value is not None})
    if cursor:
        at, record_id = usage_cursor_decode(cursor)
        records = records.extra(where=["(created_at, id) < (%s, %s)"], params=[at, record_id])
    limit = max(1, min(limit, MAX_PAGE))
    page = list(records.order_by("-created_at", "-id")[:limit + 1])
    more = len(page) > limit
    return UsageRecordPage(records=page[:limit], next_cursor=usage_cursor_encode(page[limit - 1]) if more else None)


# --- summaries ---------------------------------------------------------------------------------------

# Per group_by name: (output column, expression on rollup rows, expression on raw records). Nullable
# columns are coalesced so that groups join on plain equality.
_GROUP_COLUMNS = {
    "day": [("g_day", "day", "(created_at AT TIME ZONE 'UTC')::date")],
    "namespace": [("g_namespace", "COALESCE(namespace_id, '')", "COALESCE(namespace_id, '')")],
    "key": [("g_key", "COALESCE(api_key_id, 0)", "COALESCE(api_key_id, 0)")],
    "model": [("g_provider", "provider", "provider"), ("g_model", "model", "model")],
    "status": [("g_status", "status", "status")],
}

_ROLLUP_MEASURES = ("requests AS requests, errors AS errors, prompt_tokens AS pt, completion_tokens AS ct, "
                    "total_tokens AS tt, cache_read_tokens AS crt, cache_write_tokens AS cwt, reasoning_tokens AS rt, "
                    "cost_usd AS cost, unpriced AS unpriced, latency_sum_ms AS lat, cache_hits AS hits, "
                    "cache_misses AS misses, cache_explorations AS explorations, saved_tokens AS st, "
                    "saved_cost_usd AS sc")
_RAW_MEASURES = ("count(*) AS requests, count(*) FILTER (WHERE status >= 400) AS errors, sum(prompt_tokens) AS pt, "
                 "sum(completion_tokens) AS ct, sum(total_tokens) AS tt, sum(cache_read_tokens) AS crt, "
                 "sum(cache_write_tokens) AS cwt, sum(reasoning_tokens) AS rt, COALESCE(sum(cost_usd), 0) AS cost, "
                 "count(*) FILTER (WHERE NOT price_known) AS unpriced, sum(latency_ms) AS lat, "
                 "count(*) FILTER (WHERE cached OR cache_decision = 'hit') AS hits, "
                 "count(*) FILTER (WHERE cache_decision = 'miss') AS misses, "
                 "count(*) FILTER (WHERE cache_decision = 'explore') AS explorations, sum(saved_tokens) AS st, "
                 "COALESCE(sum(saved_cost_usd), 0) AS sc")


_MEASURES = "requests, errors, pt, ct, tt, crt, cwt, rt, cost, unpriced, lat, hits, misses, explorations, st, sc"


def _intervals(*, start: date, end: date, coverage: dict[date, datetime]) -> list[tuple[datetime, datetime]]:
    """The time intervals of [start, end] (UTC days) that no rollup covers, contiguous ones merged."""
    intervals: list[tuple[datetime, datetime]] = []
    day = start
    while day <= end:
        uncovered = (max(coverage.get(day) or day_start(day), day_start(day)), day_start(day + timedelta(days=1)))
        if uncovered[0] < uncovered[1]:
            if intervals and intervals[-1][1] == uncovered[0]:
                intervals[-1] = (intervals[-1][0], uncovered[1])
            else:
                intervals.append(uncovered)
        day += timedelta(days=1)
    return intervals


def _filters(*, organization_id: int, namespace_ids: Collection[str] | None, namespace_id: str | None,
             api_key_id: int | None, provider: str | None, model: str | None,
             status: int | None) -> tuple[str, list[Any]]:
    clauses, params = ["organization_id = %s"], [organization_id]
    if namespace_ids is not None:
        clauses.append("namespace_id = ANY(%s)")
        params.append(list(namespace_ids))
    for column, value in (("namespace_id", namespace_id), ("api_key_id", api_key_id), ("provider", provider),
                          ("model", model), ("status", status)):
        if value is not None:
            clauses.append(f"{column} = %s")
            params.append(value)
    return " AND ".join(clauses), params


def _summary_sql(columns: list[tuple[str, str, str]], where: str, rolled: list[date],
                 raw_runs: list[tuple[datetime, datetime]], latency: bool = True) -> tuple[str, list[Any]]:
    names = ", ".join(["g0", *(name for name, _, _ in columns)])
    rollup_groups = ", ".join(["0 AS g0", *(f"{expr} AS {name}" for name, expr, _ in columns)])
    raw_groups = ", ".join(["0 AS g0", *(f"{expr} AS {name}" for name, _, expr in columns)])
    raw_time = " OR ".join(["(created_at >= %s AND created_at < %s)"] * len(raw_runs)) or "false"
    rollup_table, record_table = UsageDailyRollup._meta.db_table, UsageRecord._meta.db_table
    # Histograms are merged for the page's groups only; ungrouped, the one group is the page.
    in_page = f"WHERE ({names}) IN (SELECT {names} FROM page)" if columns else ""
    histogram = ", latency_bucket_index, latency_bucket_count" if latency else ""
    sql = f"""
        WITH rolled AS MATERIALIZED (
            SELECT {rollup_groups}, {_ROLLUP_MEASURES}{histogram}
            FROM {rollup_table} WHERE {where} AND day = ANY(%s::date[])
        ), raw AS MATERIALIZED (
            SELECT {raw_groups}, {bucket_sql('latency_ms') if latency else '0'} AS bucket, {_RAW_MEASURES}
            FROM {record_table} WHERE {where} AND ({raw_time})
            GROUP BY {names}, bucket
        ), totals AS (
            SELECT {names}, sum(requests) AS requests, sum(errors) AS errors, sum(pt) AS pt, sum(ct) AS ct,
                sum(tt) AS tt, sum(crt) AS crt, sum(cwt) AS cwt, sum(rt) AS rt, sum(cost) AS cost,
                sum(unpriced) AS unpriced, sum(lat) AS lat, sum(hits) AS hits, sum(misses) AS misses,
                sum(explorations) AS explorations, sum(st) AS st, sum(sc) AS sc
            FROM (SELECT {names}, {_MEASURES} FROM rolled UNION ALL SELECT {names}, {_MEASURES} FROM raw) AS rows_
            GROUP BY {names}
        ), page AS MATERIALIZED (
            SELECT totals.*, count(*) OVER () AS total_groups FROM totals ORDER BY {names} LIMIT %s OFFSET %s
        )"""
    params = [rolled, *(moment for run in raw_runs for moment in run)]
    if not latency:  # the percentiles' histogram merge is most of the query's time
        return sql + f"""
        SELECT page.*, NULL::float8 AS p50, NULL::float8 AS p95 FROM page ORDER BY {names}""", params
    sql += f""", hist AS (
            SELECT {names}, idx, sum(n)::float8 AS n FROM (
                SELECT {names}, u.idx, latency_bucket_count[u.k] AS n
                FROM rolled, unnest(latency_bucket_index) WITH ORDINALITY AS u(idx, k)
                {in_page}
                UNION ALL SELECT {names}, bucket, requests FROM raw {in_page}
            ) AS buckets_ GROUP BY {names}, idx
        ), cum AS (
            SELECT {names}, idx, n, sum(n) OVER (PARTITION BY {names} ORDER BY idx) AS c,
                sum(n) OVER (PARTITION BY {names}) AS t
            FROM hist
        ), pct AS (
            SELECT {names},
                max(CASE WHEN c >= 0.5 * t AND c - n < 0.5 * t THEN idx + (0.5 * t - (c - n)) / n END) AS p50,
                max(CASE WHEN c >= 0.95 * t AND c - n < 0.95 * t THEN idx + (0.95 * t - (c - n)) / n END) AS p95
            FROM cum GROUP BY {names}
        )
        SELECT page.*, pct.p50, pct.p95 FROM page LEFT JOIN pct USING ({names}) ORDER BY {names}"""
    return sql, params


def _row(values: dict[str, Any]) -> UsageSummaryRow:
    requests = int(values["requests"])
    namespace, key = values.get("g_namespace"), values.get("g_key")
    return UsageSummaryRow(
        day=values.get("g_day"), namespace_id=namespace or None if "g_namespace" in values else None,
        api_key_id=key or None if "g_key" in values else None, provider=values.get("g_provider"),
        model=values.get("g_model"), status=values.get("g_status"), requests=requests, errors=int(values["errors"]),
        prompt_tokens=int(values["pt"]), completion_tokens=int(values["ct"]), total_tokens=int(values["tt"]),
        cache_read_tokens=int(values["crt"] or 0), cache_write_tokens=int(values["cwt"] or 0),
        reasoning_tokens=int(values["rt"] or 0), cost_usd=Decimal(values["cost"] or 0),
        unpriced=int(values["unpriced"] or 0),
        latency_p50_ms=None if values["p50"] is None else round(position_ms(values["p50"]), 3),
        latency_p95_ms=None if values["p95"] is None else round(position_ms(values["p95"]), 3),
        latency_avg_ms=round(values["lat"] / requests, 3) if requests else None,
        cache_hits=int(values["hits"]), cache_misses=int(values["misses"]),
        cache_explorations=int(values["explorations"]), saved_tokens=int(values["st"]),
        saved_cost_usd=Decimal(values["sc"] or 0))


def usage_first_day(*, namespace_id: str) -> date | None:
    first_rolled = UsageRollupDay.objects.order_by("day").values_list("day", flat=True).first()
    first_raw = UsageRecord.objects.filter(namespace_id=namespace_id).order_by("created_at").values_list(
        "created_at", flat=True).first()  # the (namespace_id, created_at) index: one index entry read
    days = [day for day in (first_rolled, first_raw and first_raw.astimezone(dt_timezone.utc).date()) if day]
    return min(days) if days else None


def usage_summary_query(*, organization_id: int, namespace_ids: Collection[str] | None, start: date, end: date,
                        group_by: Sequence[str] = (), namespace_id: str | None = None, api_key_id: int | None = None,
                        provider: str | None = None, model: str | None = None, status: int | None = None,
                        limit: int = 100, offset: int = 0, today: date | None = None,
                        latency: bool = True) -> tuple[str, list[Any]]:
    """The summary's SQL and parameters (for ``usage_summary`` and for EXPLAIN in bench/usage_queries.py);
    ``latency=False`` leaves the percentiles out (None) for callers that only count."""
    unknown = [name for name in group_by if name not in _GROUP_COLUMNS]
    if unknown:
        raise ValidationError([{"field": "group_by", "problem": f"unknown grouping {name!r}; use {', '.join(GROUP_BY)}"}
                               for name in unknown])
    end = min(end, today or utc_today())
    coverage = rollup_coverage(start=start, end=end) if start <= end else {}
    columns = [column for name in GROUP_BY if name in group_by for column in _GROUP_COLUMNS[name]]
    where, params = _filters(organization_id=organization_id, namespace_ids=namespace_ids, namespace_id=namespace_id,
                             api_key_id=api_key_id, provider=provider, model=model, status=status)
    sql, time_params = _summary_sql(columns, where, sorted(coverage),
                                    _intervals(start=start, end=end, coverage=coverage) if start <= end else [],
                                    latency)
    rolled, *raw_times = time_params
    limit = max(1, min(limit, MAX_PAGE))
    return sql, [*params, rolled, *params, *raw_times, limit, max(0, offset)]


def usage_summary(*, organization_id: int, namespace_ids: Collection[str] | None, start: date, end: date,
                  group_by: Sequence[str] = (), namespace_id: str | None = None, api_key_id: int | None = None,
                  provider: str | None = None, model: str | None = None, status: int | None = None,
                  limit: int = 100, offset: int = 0, today: date | None = None,
                  latency: bool = True) -> UsageSummaryPage:
    sql, params = usage_summary_query(
        organization_id=organization_id, namespace_ids=namespace_ids, start=start, end=end, group_by=group_by,
        namespace_id=namespace_id, api_key_id=api_key_id, provider=provider, model=model, status=status,
        limit=limit, offset=offset, today=today, latency=latency)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL work_mem = '{SUMMARY_WORK_MEM}'")  # the histogram sort stays in memory
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        rows = [dict(zip(names, values)) for values in cursor.fetchall()]
    return UsageSummaryPage(rows=[_row(row) for row in rows], total=int(rows[0]["total_groups"]) if rows else 0)


def models_used(*, namespace_id: str) -> set[tuple[str, str]]:
    """The (provider, model) targets the namespace has had answers from: the rollups' rows, and the records
    of yesterday and today (maybe not rolled up yet; the (namespace_id, created_at) index bounds the read)."""
    rolled = UsageDailyRollup.objects.filter(namespace_id=namespace_id, status=200).exclude(provider="")
    recent = UsageRecord.objects.filter(namespace_id=namespace_id, status=200,
                                        created_at__gte=day_start(utc_today() - timedelta(days=1))).exclude(provider="")
    return {*rolled.values_list("provider", "model").distinct(), *recent.values_list("provider", "model").distinct()}


def usage_request_first(*, namespace_id: str, request_id: str) -> dict[str, Any] | None:
    """Who made a request and on what target, as its first usage record says (None until it is stored)."""
    return UsageRecord.objects.filter(namespace_id=namespace_id, request_id=request_id).values(
        "organization_id", "api_key_id", "provider", "model", "modality").order_by("created_at").first()
