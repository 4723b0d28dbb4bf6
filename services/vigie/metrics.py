"""Every Prometheus metric Vigie exports, in one place.

Base units (seconds), counters ending in ``_total``, and only bounded labels: partner ids
(configured), unit ids (reference data), outcomes, reason codes and lanes (closed sets).
Never an event id, a site id or any text from a partner.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from vigie.pipeline.messages import StageResult

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

EVENTS_RECEIVED = Counter(
    "vigie_events_received", "Partner messages consumed by intake", ["partner", "lane"]
)
EVENTS_OUTCOME = Counter(
    "vigie_events_outcome",
    "Terminal outcome of each partner message at intake",
    ["partner", "outcome", "reason"],
)
EVENTS_ROUTED = Counter(
    "vigie_events_routed", "Routed copies published to unit topics", ["unit", "lane"]
)
DEAD_LETTERS = Counter(
    "vigie_dead_letters", "Records sent to the dead-letter topic", ["stage", "reason"]
)
ROUTING_LATENCY = Histogram(
    "vigie_routing_latency_seconds",
    "Time from the partner's sent_at to the routed copy being handed to the producer",
    ["lane"],
    buckets=LATENCY_BUCKETS,
)
REFERENCE_UPDATES = Counter(
    "vigie_reference_updates", "Reference records applied from ref topics", ["topic"]
)
WORKER_READY = Gauge("vigie_worker_ready", "1 once reference data and tables are loaded")


def record_intake(lane: str, result: StageResult, latency_seconds: float | None) -> None:
    partner = result.partner_id or "unknown"
    EVENTS_RECEIVED.labels(partner, lane).inc()
    EVENTS_OUTCOME.labels(partner, result.outcome.value, result.reason_code or "").inc()
    routed_lane = (result.lane or lane).lower() if result.lane else lane
    for unit in result.units if result.outcome.value in ("routed", "manual_triage") else ():
        EVENTS_ROUTED.labels(unit, routed_lane).inc()
    if latency_seconds is not None and result.units:
        ROUTING_LATENCY.labels(routed_lane).observe(max(latency_seconds, 0.0))
