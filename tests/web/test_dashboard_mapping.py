"""The dashboard's small pure mappings."""

from datetime import date
from decimal import Decimal

from inference.types import ParameterSpec
from inference.usage.selectors import UsageSummaryRow
from playground.web.dashboard.forms import plugin_parameters_parse
from playground.web.dashboard.usage import csv_safe, day_series, top_groups


def row(**values) -> UsageSummaryRow:
    base = dict(day=None, namespace_id=None, api_key_id=None, provider=None, model=None, status=None, requests=0,
                errors=0, prompt_tokens=0, completion_tokens=0, total_tokens=0, cache_read_tokens=0,
                cache_write_tokens=0, reasoning_tokens=0, cost_usd=Decimal(0), unpriced=0,
                latency_p50_ms=None, latency_p95_ms=None, latency_avg_ms=None, cache_hits=0, cache_misses=0,
                cache_explorations=0, saved_tokens=0,
                saved_cost_usd=Decimal(0))
    return UsageSummaryRow(**{**base, **values})


def test_day_series_has_a_point_per_day_and_gaps_for_latency():
    series = day_series([row(day=date(2026, 3, 2), requests=4, errors=1, cache_hits=2, latency_p50_ms=12.0,
                             cost_usd=Decimal("0.5"))], start=date(2026, 3, 1), end=date(2026, 3, 3))
    assert series["day"] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert series["requests"] == [0, 4, 0] and series["cost_usd"] == [0.0, 0.5, 0.0]
    assert series["p50_ms"] == [None, 12.0, None]
    assert series["error_rate"] == [None, 25.0, None] and series["cache_hit_rate"] == [None, 50.0, None]


def test_top_groups_sum_the_other_dimension_and_rank_the_busiest_then_the_costliest():
    rows = [row(api_key_id=1, model="a", requests=1, total_tokens=10), row(api_key_id=2, model="a", requests=3),
            row(api_key_id=1, model="b", requests=4), row(api_key_id=1, model="c", requests=4, cost_usd=Decimal(1))]
    models = top_groups(rows, by=lambda r: r.model, limit=2)
    assert [(g.group, g.requests) for g in models] == [("c", 4), ("a", 4)]  # a: 1 + 3, cheaper than c
    keys = top_groups(rows, by=lambda r: r.api_key_id)
    assert [(g.group, g.requests, g.total_tokens, g.cost_usd) for g in keys] == [(1, 9, 10, Decimal(1)), (2, 3, 0, 0)]


def test_csv_cells_never_start_a_formula():
    assert [csv_safe(v) for v in ("=1+1", "+1", "-1", "@SUM(A1)", "ok", 5)] == ["'=1+1", "'+1", "'-1", "'@SUM(A1)", "ok", 5]


def test_plugin_parameters_are_typed_by_their_declared_kind():
    declared = [ParameterSpec("top_k", "integer", ""), ParameterSpec("diversity", "number", ""),
                ParameterSpec("stop", "stop", ""), ParameterSpec("extra", "object", "")]
    values, problems = plugin_parameters_parse(declared, {"top_k": "3", "diversity": "", "stop": '["a", "b"]',
                                                          "extra": '{"x": 1}'})
    assert values == {"top_k": 3, "stop": ["a", "b"], "extra": {"x": 1}} and problems == {}
    values, problems = plugin_parameters_parse(declared, {"top_k": "3.5", "diversity": "lots", "stop": "END"})
    assert values == {"stop": "END"} and problems == {"top_k": "must be an integer", "diversity": "must be a number"}
