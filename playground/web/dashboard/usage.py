"""What the usage page shows, read through the usage selectors (inference/usage/selectors.py: rollups for
days the beat has sealed, raw records for the rest), shaped for the page: totals, one point per day for
the charts, the top models and keys, and a page of raw records with names for their ids."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Callable, Iterable

from inference.usage.models import UsageRecord
from inference.usage.rollups import day_start
from inference.usage.selectors import MAX_PAGE, UsageRecordPage, UsageSummaryRow, usage_records_list, usage_summary
from tenancy.accounts.models import ApiKey, Namespace, Organization

TOP = 8
RECORDS_PER_PAGE = 25
CSV_COLUMNS = ("created_at", "request_id", "namespace", "namespace_id", "api_key", "provider", "model",
               "inference_name", "modality", "status", "error_type", "prompt_tokens", "completion_tokens",
               "total_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "cost_usd",
               "latency_ms", "cached", "cache_decision")


@dataclass(frozen=True)
class UsageFilters:
    start: date
    end: date
    namespace_id: str | None = None
    api_key_id: int | None = None
    provider: str | None = None
    model: str | None = None
    status: int | None = None

    def selector_kwargs(self) -> dict[str, Any]:
        return {"namespace_id": self.namespace_id, "api_key_id": self.api_key_id, "provider": self.provider,
                "model": self.model, "status": self.status}

    def records_kwargs(self) -> dict[str, Any]:
        return {"start": day_start(self.start), "end": day_start(self.end + timedelta(days=1)),
                **self.selector_kwargs()}


@dataclass
class UsageOverview:
    totals: UsageSummaryRow | None
    days: dict[str, list[Any]]
    top_models: list[dict[str, Any]]
    top_keys: list[dict[str, Any]]
    groups_counted: int = 0  # how many (key, model) groups the top lists were summed from
    groups_total: int = 0


def day_series(rows: list[UsageSummaryRow], *, start: date, end: date) -> dict[str, list[Any]]:
    """One point per day from ``start`` to ``end`` for the charts: days without requests count zero and have
    no latency (a gap, not a zero)."""
    by_day = {row.day: row for row in rows}
    series: dict[str, list[Any]] = {name: [] for name in (
        "day", "requests", "errors", "prompt_tokens", "completion_tokens", "total_tokens", "cost_usd",
        "p50_ms", "p95_ms", "error_rate", "cache_hit_rate")}
    day = start
    while day <= end:
        row = by_day.get(day)
        series["day"].append(day.isoformat())
        series["requests"].append(row.requests if row else 0)
        series["errors"].append(row.errors if row else 0)
        series["prompt_tokens"].append(row.prompt_tokens if row else 0)
        series["completion_tokens"].append(row.completion_tokens if row else 0)
        series["total_tokens"].append(row.total_tokens if row else 0)
        series["cost_usd"].append(float(row.cost_usd) if row else 0.0)
        series["p50_ms"].append(row.latency_p50_ms if row else None)
        series["p95_ms"].append(row.latency_p95_ms if row else None)
        series["error_rate"].append(round(row.error_rate * 100, 3) if row else None)
        series["cache_hit_rate"].append(round(row.cache_hit_rate * 100, 3) if row else None)
        day += timedelta(days=1)
    return series


@dataclass(frozen=True)
class TopGroup:
    """One bar of a top list: a model or a key, summed over the other dimension."""

    group: Any
    requests: int
    total_tokens: int
    cost_usd: Decimal


def top_groups(rows: Iterable[UsageSummaryRow], *, by: Callable[[UsageSummaryRow], Any],
               limit: int = TOP) -> list[TopGroup]:
    """Rows of a (key, model) breakdown summed per ``by(row)``; the busiest first (ties: the costlier)."""
    sums: dict[Any, list] = {}
    for row in rows:
        total = sums.setdefault(by(row), [0, 0, Decimal(0)])
        total[0] += row.requests
        total[1] += row.total_tokens
        total[2] += row.cost_usd
    groups = [TopGroup(group, *values) for group, values in sums.items()]
    return sorted(groups, key=lambda g: (-g.requests, -g.cost_usd))[:limit]


def _bars(groups: list[TopGroup], label: Callable[[Any], str]) -> list[dict[str, Any]]:
    most = max((group.requests for group in groups), default=0) or 1
    return [{"label": label(g.group), "row": g, "share": round(100 * g.requests / most, 1)} for g in groups]


def _target(group: tuple[str | None, str | None]) -> str:
    provider, model = group
    return f"{provider}/{model}" if provider else model or "unknown"


def usage_overview(*, organization: Organization, filters: UsageFilters) -> UsageOverview:
    """Three summaries: the totals (their percentiles need the merged histogram), one row per day, and one
    per (key, model), from which both top lists are summed."""
    common = {"organization_id": organization.id, "namespace_ids": None, "start": filters.start, "end": filters.end,
              **filters.selector_kwargs()}
    totals = usage_summary(**common).rows
    days = usage_summary(**common, group_by=("day",), limit=MAX_PAGE).rows
    breakdown = usage_summary(**common, group_by=("key", "model"), limit=MAX_PAGE)
    models = top_groups(breakdown.rows, by=lambda r: (r.provider, r.model))
    keys = top_groups(breakdown.rows, by=lambda r: r.api_key_id)
    names = key_names(ids={group.group for group in keys if group.group})
    return UsageOverview(
        totals=totals[0] if totals else None,
        days=day_series(days, start=filters.start, end=filters.end),
        top_models=_bars(models, _target),
        top_keys=_bars(keys, lambda key_id: names.get(key_id, "no key (refused before a key was known)")),
        groups_counted=len(breakdown.rows), groups_total=breakdown.total)


def key_names(*, ids: set[int]) -> dict[int, str]:
    return {key.id: f"{key.name or 'key'} ({key.prefix}…)"
            for key in ApiKey.objects.filter(id__in=ids).only("id", "name", "prefix")}


def namespace_names(*, organization: Organization) -> dict[str, str]:
    return dict(Namespace.objects.filter(organization=organization).values_list("id", "name"))


def usage_records_page(*, organization: Organization, filters: UsageFilters, cursor: str | None,
                       limit: int = RECORDS_PER_PAGE) -> UsageRecordPage:
    return usage_records_list(organization_id=organization.id, namespace_ids=None, cursor=cursor, limit=limit,
                              **filters.records_kwargs())


def csv_safe(value: Any) -> Any:
    """A cell a spreadsheet will not run as a formula: text that starts with = + - @ or a tab/CR gets a
    leading apostrophe (names of keys and models are the organization's own text)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_rows(records: list[UsageRecord], *, namespaces: dict[str, str], keys: dict[int, str]) -> str:
    """Records as CSV lines (no header), in CSV_COLUMNS order; an unknown cost is an empty cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for r in records:
        writer.writerow([csv_safe(v) for v in (
            r.created_at.isoformat(), r.request_id, namespaces.get(r.namespace_id, ""), r.namespace_id or "",
            keys.get(r.api_key_id, "") if r.api_key_id else "", r.provider, r.model, r.inference_name, r.modality,
            r.status, r.error_type, r.prompt_tokens, r.completion_tokens, r.total_tokens, r.cache_read_tokens,
            r.cache_write_tokens, r.reasoning_tokens, "" if r.cost_usd is None else f"{r.cost_usd:f}",
            f"{r.latency_ms:.3f}", "true" if r.cached else "false", r.cache_decision)])
    return out.getvalue()


def csv_header() -> str:
    return ",".join(CSV_COLUMNS) + "\n"


def _count(n: int) -> str:
    return f"{n:,}"


def _ms(value: float | None) -> str:
    return "–" if value is None else (f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms")


def _usd(value) -> str:
    return f"${value:,.2f}" if value >= 1 or value == 0 else f"${value:.4f}"


def _percent(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def _tokens_hint(totals: UsageSummaryRow) -> str:
    """In and out, with the provider-cached part of the input and the reasoning part of the output."""
    cached = f" ({_count(totals.cache_read_tokens)} cached)" if totals.cache_read_tokens else ""
    reasoning = f" ({_count(totals.reasoning_tokens)} reasoning)" if totals.reasoning_tokens else ""
    return f"{_count(totals.prompt_tokens)} in{cached} · {_count(totals.completion_tokens)} out{reasoning}"


def _cost_hint(totals: UsageSummaryRow) -> str:
    """What the cost leaves out (requests to models no price table knows) and what the cache saved."""
    parts = [f"+ {_count(totals.unpriced)} unpriced request{'' if totals.unpriced == 1 else 's'}"] \
        if totals.unpriced else []
    parts += [f"cache saved {_usd(totals.saved_cost_usd)}"] if totals.saved_cost_usd else []
    return " · ".join(parts)


def usage_tiles(totals: UsageSummaryRow | None) -> list[dict[str, str]]:
    """The headline figures of the filtered range, formatted for the tiles."""
    if totals is None:
        return [{"label": label, "value": value} for label, value in (
            ("Requests", "0"), ("Tokens", "0"), ("Cost", "$0.00"), ("p50 latency", "–"), ("p95 latency", "–"),
            ("Error rate", "–"), ("Cache hit rate", "–"))]
    return [
        {"label": "Requests", "value": _count(totals.requests)},
        {"label": "Tokens", "value": _count(totals.total_tokens), "hint": _tokens_hint(totals)},
        {"label": "Cost", "value": _usd(totals.cost_usd), "hint": _cost_hint(totals)},
        {"label": "p50 latency", "value": _ms(totals.latency_p50_ms)},
        {"label": "p95 latency", "value": _ms(totals.latency_p95_ms)},
        {"label": "Error rate", "value": _percent(totals.error_rate),
         "hint": f"{_count(totals.errors)} error{'' if totals.errors == 1 else 's'}"},
        {"label": "Cache hit rate", "value": _percent(totals.cache_hit_rate),
         "hint": f"{_count(totals.cache_hits)} hit{'' if totals.cache_hits == 1 else 's'}"},
    ]
