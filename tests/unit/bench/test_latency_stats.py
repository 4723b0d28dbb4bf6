"""The bench's latency figures mean what their names say: p50 is the median and p99 the
99th percentile of every event sent, and events never routed make the tail a flagged lower
bound rather than vanish from it."""

from __future__ import annotations

import math
import statistics

from bench.latency_stats import percentiles, tail


def test_named_percentiles_are_the_median_and_the_99th() -> None:
    values = [float(v) for v in range(1, 102)]  # 1..101: ranks land on whole values
    p = percentiles(values)
    assert p[50] == statistics.median(values) == 51.0
    assert p[95] == 96.0
    assert p[99] == 100.0


def test_a_percentile_never_leaves_the_observed_range() -> None:
    values = [3.0, 1.0, 250.0, 7.0, 9.0]
    p = percentiles(values)
    assert min(values) <= p[50] <= p[95] <= p[99] <= max(values)


def test_one_event_is_its_own_tail() -> None:
    assert tail([12.34], 1) == {"p99_lower_bound": False, "p50_ms": 12.3, "p95_ms": 12.3,
                                "p99_ms": 12.3, "max_ms": 12.3}


def test_missing_events_cap_the_tail_at_the_slowest_seen_and_flag_it() -> None:
    arrived = [float(v) for v in range(1, 91)]  # 90 of 100 routed
    result = tail(arrived, 100)
    assert result["p99_lower_bound"] is True
    assert result["p99_ms"] == result["max_ms"] == 90.0
    assert result["p50_ms"] == 50.5  # the missing ten sit above every routed one


def test_one_percent_missing_or_less_is_not_a_lower_bound() -> None:
    result = tail([float(v) for v in range(1, 100)], 100)
    assert result["p99_lower_bound"] is False
    assert result["p99_ms"] == round(statistics.quantiles(
        [float(v) for v in range(1, 100)], n=100, method="inclusive")[98], 1)


def test_nothing_routed_reports_the_wait() -> None:
    result = tail([], 25, waited_ms=15_000.0)
    assert result["p99_lower_bound"] is True
    assert result["p99_ms"] == 15_000.0
    assert math.isnan(result["p50_ms"]) and math.isnan(result["max_ms"])
