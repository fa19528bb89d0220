"""core/encoding.py: orjson where it can, the standard library where orjson refuses, the same JSON value either way."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from core.encoding import json_bytes


@pytest.mark.parametrize("value", [
    {"success": True, "data": {"responses": [{"text": "héllo ✓", "finish_reason": "stop"}]}, "latency_ms": 1.25},
    {"huge": 2 ** 80, "negative": -(2 ** 70)},  # past 64 bits: orjson refuses these
    {"lone": "\ud800 surrogate"},  # not UTF-8: orjson refuses it
    {1: "a key that is not a string"},
    [[0.1, 1e-300, 12345.678], [], {}],
])
def test_what_goes_out_reads_back_as_the_standard_library_would_write_it(value):
    assert json.loads(json_bytes(value)) == json.loads(json.dumps(value))


def test_default_handles_what_neither_library_knows():
    found = json.loads(json_bytes({"cost": Decimal("0.000123"), "id": uuid.UUID(int=1),
                                   "at": datetime(2026, 12, 6, tzinfo=timezone.utc)}, default=str))
    assert found["cost"] == "0.000123" and found["id"] == str(uuid.UUID(int=1))
    assert datetime.fromisoformat(found["at"]) == datetime(2026, 12, 6, tzinfo=timezone.utc)
    with pytest.raises(TypeError):
        json_bytes({"cost": Decimal(1)})  # no default: refused, as json.dumps refuses it
