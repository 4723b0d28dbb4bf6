"""Latency of each event sent, from its publish to its first routed copy, and its tail.

Kept free of Kafka and of ``vigie`` so that the meaning of the figures (which percentile,
what a missing event counts as) is checked by unit tests without a broker.
"""

from __future__ import annotations

import statistics
from typing import Any

INF = float("inf")
NAN = float("nan")


class Routed:
    """Latency of the first routed copy of each event we sent (``sent``: key → send time)."""

    def __init__(self, sent: dict[bytes, float]) -> None:
        self.sent = sent
        self.seen: set[bytes] = set()
        self.created_ms: list[float] = []  # record timestamp (the worker's send) - sent
        self.visible_ms: list[float] = []  # read by our read_committed consumer - sent
        self.visible_of: dict[bytes, float] = {}

    def on_record(self, record: Any, now: float) -> None:
        t0 = self.sent.get(record.key)
        if t0 is None or record.key in self.seen:
            return
        self.seen.add(record.key)
        self.created_ms.append((record.timestamp / 1000 - t0) * 1000)
        self.visible_ms.append((now - t0) * 1000)
        self.visible_of[record.key] = self.visible_ms[-1]


def percentiles(values: list[float]) -> dict[int, float]:
    """p50, p95 and p99 of ``values``: ``statistics.quantiles`` with the ``inclusive``
    method, the sample taken as the whole population (p0 is the fastest, p100 the slowest,
    linear between ranks), since the events measured are all the events of the run.

    An event never routed counts as +inf; a percentile that falls among those is the largest
    finite latency, a lower bound (``tail`` flags it). NaN when nothing arrived."""
    arrived = [v for v in values if v != INF]
    if not arrived:
        return {50: NAN, 95: NAN, 99: NAN}
    ceiling = max(arrived)
    capped = [min(v, ceiling) for v in values]
    if len(capped) == 1:
        return {50: capped[0], 95: capped[0], 99: capped[0]}
    cuts = statistics.quantiles(capped, n=100, method="inclusive")
    return {50: cuts[49], 95: cuts[94], 99: cuts[98]}


def tail(latencies: list[float], sent: int, *, waited_ms: float | None = None) -> dict[str, Any]:
    """p50/p95/p99/max (ms) of ``sent`` events of which ``latencies`` arrived. More than 1 %
    missing: they count as +inf and the p99 shown is a lower bound (flagged). Not one
    arrived: the p99 is ``waited_ms`` (each waited at least that long), when given."""
    missing = sent - len(latencies)
    lower_bound = missing > 0.01 * sent
    values = latencies + [INF] * missing if lower_bound else list(latencies)
    p = percentiles(values)
    p99 = p[99]
    if p99 != p99 and waited_ms is not None:  # NaN: nothing arrived
        p99 = waited_ms
    return {
        "p99_lower_bound": lower_bound,
        "p50_ms": round(p[50], 1),
        "p95_ms": round(p[95], 1),
        "p99_ms": round(p99, 1),
        "max_ms": round(max(latencies, default=NAN), 1),
    }
