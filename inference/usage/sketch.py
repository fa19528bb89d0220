"""The latency sketch of usage rollups: a fixed log-bucket histogram, mergeable by adding counts.

Bucket ``i`` holds latencies in [``FLOOR_MS`` * 2^(i/4), ``FLOOR_MS`` * 2^((i+1)/4)): four buckets per
doubling, so a bucket spans 19% and a percentile interpolated inside it (log-linearly) is within about
±9% of the exact one. Latencies under ``FLOOR_MS`` fall in bucket 0, those over ~28 minutes in the last.
The same arithmetic exists twice: here for Python and in ``BUCKET_SQL`` / ``position_ms`` for PostgreSQL,
which builds and merges the histograms itself (inference/usage/rollups.py, selectors.py).
"""

from __future__ import annotations

import math
from typing import Iterable

FLOOR_MS = 0.1
PER_DOUBLING = 4
BUCKETS = 96  # FLOOR_MS * 2^(96/4) ms = 1678 s


def bucket_of(latency_ms: float) -> int:
    position = PER_DOUBLING * math.log2(max(latency_ms, FLOOR_MS) / FLOOR_MS)
    return min(BUCKETS - 1, max(0, math.floor(position)))


def bucket_sql(column: str) -> str:
    """The SQL expression of ``bucket_of`` over a latency column (double precision)."""
    return (f"LEAST({BUCKETS - 1}, GREATEST(0, floor({PER_DOUBLING} * ln(GREATEST({column}, {FLOOR_MS}) / {FLOOR_MS})"
            f" / ln(2))))::smallint")


def position_ms(position: float) -> float:
    """A fractional bucket position (bucket index + fraction of its count below the quantile) in ms."""
    return FLOOR_MS * 2 ** (position / PER_DOUBLING)


def histogram_merge(histograms: Iterable[Iterable[tuple[int, int]]]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for histogram in histograms:
        for index, count in histogram:
            merged[index] = merged.get(index, 0) + count
    return merged


def quantile_position(histogram: dict[int, int], q: float) -> float | None:
    """Where the ``q`` quantile falls: bucket index plus the fraction of that bucket's count below it."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    target, below = q * total, 0
    for index in sorted(histogram):
        count = histogram[index]
        if count and below + count >= target:
            return index + (target - below) / count
        below += count
    return float(max(histogram))


def quantile_ms(histogram: dict[int, int], q: float) -> float | None:
    position = quantile_position(histogram, q)
    return None if position is None else round(position_ms(position), 3)
