"""The latency sketch: buckets, merging and quantiles (pure functions)."""

from __future__ import annotations

import random
import statistics

from inference.usage.sketch import BUCKETS, bucket_of, histogram_merge, position_ms, quantile_ms


def test_buckets_are_quarter_doublings_from_a_tenth_of_a_millisecond():
    assert bucket_of(0) == bucket_of(0.1) == 0
    assert bucket_of(0.2) == 4 and bucket_of(0.4) == 8 and bucket_of(100) == 39
    assert bucket_of(10 ** 9) == BUCKETS - 1
    assert position_ms(bucket_of(250.0)) <= 250.0 < position_ms(bucket_of(250.0) + 1)


def test_quantiles_of_merged_histograms_are_within_ten_percent():
    rng = random.Random(7)
    latencies = [rng.lognormvariate(5, 0.8) for _ in range(20_000)]
    halves = [latencies[:7_000], latencies[7_000:]]
    histograms = [[(b, sum(1 for x in part if bucket_of(x) == b)) for b in {bucket_of(x) for x in part}]
                  for part in halves]
    merged = histogram_merge(histograms)
    assert sum(merged.values()) == len(latencies)
    exact = statistics.quantiles(latencies, n=100)
    for q, value in ((0.5, exact[49]), (0.95, exact[94])):
        assert abs(quantile_ms(merged, q) - value) / value < 0.1


def test_an_empty_histogram_has_no_quantile():
    assert quantile_ms({}, 0.5) is None
