"""The dashboard's small pure mappings."""

from datetime import date
from decimal import Decimal

from inference.types import ParameterSpec
from inference.usage.selectors import UsageSummaryRow
from playground.web.dashboard.forms import plugin_parameters_parse
from playground.web.dashboard.usage import csv_safe, day_series, top_rows


def row(**values) -> UsageSummaryRow:
    base = dict(day=None, namespace_id=None, api_key_id=None, provider=None, model=None, status=None, requests=0,
                errors=0, prompt_tokens=0, completion_tokens=0, total_tokens=0, cost_usd=Decimal(0),
                latency_p50_ms=None, latency_p95_ms=None, latency_avg_ms=None, cache_hits=0, saved_tokens=0,
                saved_cost_usd=Decimal(0))
    return UsageSummaryRow(**{**base, **values})


def test_day_series_has_a_point_per_day_and_gaps_for_latency():
    series = day_series([row(day=date(2026, 3, 2), requests=4, errors=1, cache_hits=2, latency_p50_ms=12.0,
                             cost_usd=Decimal("0.5"))], start=date(2026, 3, 1), end=date(2026, 3, 3))
    assert series["day"] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert series["requests"] == [0, 4, 0] and series["cost_usd"] == [0.0, 0.5, 0.0]
    assert series["p50_ms"] == [None, 12.0, None]
    assert series["error_rate"] == [None, 25.0, None] and series["cache_hit_rate"] == [None, 50.0, None]


def test_top_rows_are_the_busiest_then_the_costliest():
    rows = [row(model="a", requests=1), row(model="b", requests=5), row(model="c", requests=5, cost_usd=Decimal(1))]
    assert [r.model for r in top_rows(rows, limit=2)] == ["c", "b"]


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
