"""Every Prometheus metric Vigie exports, in one place.

Base units (seconds), counters ending in ``_total``, and only bounded labels: partner ids
(configured), unit ids (reference data), outcomes, reason codes and lanes (closed sets).
Never an event id, a site id or any text from a partner.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import Counter, Gauge, Histogram, Info

from vigie.contracts import topics
from vigie.contracts.enums import Lane, RoutingRule
from vigie.pipeline.messages import Outcome, StageResult

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
PASS_COMMIT = Histogram(
    "vigie_pass_commit_seconds",
    "Time to commit one pass's Kafka transaction (its offsets, then the commit): what an "
    "alert fetched during a pass waits for, on top of the pass itself",
    buckets=LATENCY_BUCKETS,
)
GC_PAUSE = Histogram(
    "vigie_gc_pause_seconds",
    "Pauses of Python's cyclic garbage collector, by generation: a full collection walks the "
    "whole heap unless the worker settles it (vigie.workers.heap, gc_settle_interval_seconds)",
    ["generation"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
OFFSET_BEHIND_STATE = Counter(
    "vigie_offset_behind_state",
    "Take-overs where the group's committed offset lagged behind the restored state, which "
    "proves a later commit: the worker resumed after the state's record, not from the offset",
)
STABLE_OFFSETS_FALLBACK = Counter(
    "vigie_stable_offsets_fallback",
    "Take-overs whose stable offset fetch waited past STABLE_OFFSETS_WAIT_S (a transaction's "
    "offsets pending well past the transaction timeout): the worker read the committed "
    "offsets instead, checked against the restored state",
)
CHANGELOG_PENDING_ACCEPTED = Counter(
    "vigie_changelog_pending_accepted",
    "State restores that stopped at a changelog partition's last stable offset while a "
    "transaction stayed pending there past RESTORE_PENDING_WAIT_S",
)

# -- reference data -------------------------------------------------------------------------
# The timestamp is what Prometheus prefers (age = time() - it); the age gauge is computed at
# scrape time for readers without PromQL. Both restart from the replay after a worker restart.
REFERENCE_LAST_UPDATE = Gauge(
    "vigie_reference_last_update_timestamp_seconds",
    "When this worker last applied a record from a ref topic (epoch seconds)",
    ["topic"],
)
REFERENCE_AGE = Gauge(
    "vigie_reference_age_seconds",
    "Seconds since this worker last applied a record from a ref topic",
    ["topic"],
)
#: Exported as vigie_reference_version_info{part, version} 1: one series per part at a time
#: (the content hash of communes, competence, units and sites this worker routes with).
REFERENCE_VERSION = Info(
    "vigie_reference_version", "Reference data version this worker routes with", ["part"]
)

# -- Kafka consumption ------------------------------------------------------------------------
CONSUMER_LAG = Gauge(
    "vigie_consumer_lag",
    "High watermark minus this worker's committed offset, per assigned partition",
    ["topic", "partition"],
)
PARTNER_LAST_EVENT = Gauge(
    "vigie_partner_last_event_timestamp_seconds",
    "When this worker last received a message from the partner (epoch seconds); "
    "set to the worker start for a partner not heard from since",
    ["partner"],
)

# -- partnership reporting (weekly figures per category, priority district, commune) ----------
# Two counters rather than one {category, insee, qpv}: 15 categories x ~20 QPV names and 680
# communes stay about 1,000 series, where the cross product could reach 200,000.
EVENTS_BY_CATEGORY = Counter(
    "vigie_events_by_category",
    "NEW events routed (or sent to manual triage), by category and priority district (QPV "
    "name from the site registry, 'none' outside any QPV)",
    ["category", "qpv"],
)
EVENTS_BY_COMMUNE = Counter(
    "vigie_events_by_commune",
    "NEW events routed (or sent to manual triage), by INSEE code of the commune "
    "('unknown' when the event could not be placed)",
    ["insee"],
)

# -- urgent alerts and unit feedback (declared here, fed by the alert-lifecycle processor) --
TAKE_IN_CHARGE_BUCKETS = (30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0)
ALERT_TIME_TO_TAKE_IN_CHARGE = Histogram(
    "vigie_alert_time_to_take_in_charge_seconds",
    "Time from an urgent alert being routed to its unit taking it in charge",
    ["unit"],
    buckets=TAKE_IN_CHARGE_BUCKETS,
)
OPEN_ALERTS = Gauge(
    "vigie_open_alerts", "Urgent alerts routed to the unit and not yet taken in charge", ["unit"]
)
ESCALATIONS = Counter(
    "vigie_escalations",
    "Urgent alerts escalated to the command centre for lack of take-in-charge",
    ["unit"],
)
TRANSFERS = Counter(
    "vigie_transfers", "Events transferred by one unit to another", ["from_unit", "to_unit"]
)
STATUS_UPDATES = Counter(
    "vigie_status_updates",
    "Status updates received from units, by status and what Vigie made of them",
    ["unit", "status", "outcome"],
)

# -- routing rules (issue 15) ---------------------------------------------------------------
#: Bounded: rules and lanes are closed sets, units come from reference data (like the other
#: per-unit series): at most 4 x 2 x the number of units.
DIVERSIONS = Counter(
    "vigie_diversions",
    "Events the routing rules sent away from the unit first meant for them (new events, "
    "escalations, transfers), by rule, lane and the unit passed over",
    ["rule", "lane", "unit"],
)
UNIT_UNAVAILABLE = Gauge(
    "vigie_unit_unavailable",
    "1 while the unit is declared unavailable (ref.availability.v1) at the rules' time",
    ["unit"],
)

NO_QPV = "none"
UNKNOWN = "unknown"
OTHER = "other"


class BoundedLabel:
    """Admits at most ``limit`` distinct values for one label, then answers ``other``.

    Why: QPV names come from the site registry (reference data, bounded in practice), but a
    registry full of typos must not be able to grow the number of series without bound.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if len(self._seen) >= self.limit:
            return OTHER
        self._seen.add(value)
        return value


QPV_LABEL = BoundedLabel(limit=100)


@functools.lru_cache(maxsize=8192)
def _child(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, looked up once: prometheus-client validates the labels
    and takes a lock at every ``labels()`` call (about a tenth of the worker's per-event
    CPU for the ~7 series an input counts). The child is the same object either way; the
    series counted per input are never removed (``CONSUMER_LAG``'s are, and not cached)."""
    return metric.labels(*labels)


def record_intake(lane: str, result: StageResult, latency_seconds: float | None) -> None:
    """Count one consumed partner message: outcome, copies, dead letters, place, freshness."""
    partner = result.partner_id or "unknown"
    _child(EVENTS_RECEIVED, partner, lane).inc()
    if result.partner_id is not None:
        _child(PARTNER_LAST_EVENT, partner).set(time.time())
    for out in result.outbound:
        if out.topic == topics.DEADLETTER:
            _child(DEAD_LETTERS, "intake", result.reason_code or "").inc()
    if result.category is not None:
        qpv = QPV_LABEL(result.qpv) if result.qpv else NO_QPV
        _child(EVENTS_BY_CATEGORY, result.category, qpv).inc()
        _child(EVENTS_BY_COMMUNE, result.insee or UNKNOWN).inc()
    _child(EVENTS_OUTCOME, partner, result.outcome.value, result.reason_code or "").inc()
    routed_lane = (result.lane or lane).lower() if result.lane else lane
    for unit in result.units if result.outcome in _ROUTED else ():
        _child(EVENTS_ROUTED, unit, routed_lane).inc()
    if result.diversion is not None and result.outcome in _ROUTED:
        record_diversion(result.diversion, routed_lane)
    if latency_seconds is not None and result.units:
        _child(ROUTING_LATENCY, routed_lane).observe(max(latency_seconds, 0.0))


def record_reference_update(topic: str) -> None:
    """One reference record applied (the loader's ``on_update`` hook)."""
    REFERENCE_UPDATES.labels(topic).inc()
    now = time.time()
    if topic not in _reference_applied:
        REFERENCE_AGE.labels(topic).set_function(lambda: time.time() - _reference_applied[topic])
    _reference_applied[topic] = now
    REFERENCE_LAST_UPDATE.labels(topic).set(now)


_reference_applied: dict[str, float] = {}


def set_reference_versions(versions: Mapping[str, str]) -> None:
    """Publish the versions the worker routes with (an Info child keeps one series)."""
    for part, version in versions.items():
        REFERENCE_VERSION.labels(part).info({"version": version})


def init_partner_series(partners: Iterable[str], started_at: float) -> None:
    """Give every configured partner a freshness series from the start, so that a feed that
    never sends anything is seen as silent (rather than absent, which no alert would see)."""
    for partner in partners:
        PARTNER_LAST_EVENT.labels(partner).set(started_at)


def init_unit_series(units: Iterable[str]) -> None:
    """Create the per-unit alert and diversion series at zero: dashboards and rules then find
    them before the first alert, and ``increase()`` counts the first escalation or diversion
    (no missing start)."""
    for unit in units:
        ALERT_TIME_TO_TAKE_IN_CHARGE.labels(unit)
        OPEN_ALERTS.labels(unit)
        ESCALATIONS.labels(unit)
        UNIT_UNAVAILABLE.labels(unit)
        for rule in RoutingRule:
            for lane in Lane:
                DIVERSIONS.labels(rule.value, lane.value.lower(), unit)


def record_diversion(diversion: tuple[str, str], lane: str) -> None:
    """One event the rules sent away from ``diversion[1]`` by the rule ``diversion[0]``."""
    rule, unit = diversion
    DIVERSIONS.labels(rule, lane, unit).inc()


def set_unavailable_units(unavailable: Iterable[str], units: Iterable[str]) -> None:
    """The availability gauge of every known unit (1: declared unavailable now)."""
    down = set(unavailable)
    for unit in units:
        UNIT_UNAVAILABLE.labels(unit).set(1 if unit in down else 0)


_ROUTED = (Outcome.ROUTED, Outcome.MANUAL_TRIAGE)


def record_status(result: StageResult) -> None:
    """One unit status update: accepted or refused, time to take in charge, transfers."""
    facts = result.status
    unit = facts.unit if facts is not None else "unknown"
    status = facts.status.value if facts is not None and facts.status else "unreadable"
    accepted = result.outcome is Outcome.ROUTED
    STATUS_UPDATES.labels(unit, status, "accepted" if accepted else "rejected").inc()
    if not accepted:
        DEAD_LETTERS.labels("status", result.reason_code or "").inc()
    if facts is None:
        return
    if facts.taken_in_charge_after is not None:
        ALERT_TIME_TO_TAKE_IN_CHARGE.labels(unit).observe(facts.taken_in_charge_after)
    if facts.transfer is not None:
        TRANSFERS.labels(*facts.transfer).inc()
    if result.diversion is not None and accepted:
        record_diversion(result.diversion, (result.lane or Lane.INCIDENT).value.lower())


def record_escalation(result: StageResult) -> None:
    for unit in result.escalated_from:
        ESCALATIONS.labels(unit).inc()
    if result.diversion is not None:
        record_diversion(result.diversion, Lane.ALERT.value.lower())


def set_open_alerts(counts: Mapping[str, int], units: Iterable[str]) -> None:
    """Open (not yet taken in charge) alerts per unit, from the worker's timer index."""
    for unit in units:
        OPEN_ALERTS.labels(unit).set(counts.get(unit, 0))


def init_dead_letter_series(stage: str, reasons: Iterable[str]) -> None:
    """Dead-letter series at zero for every reason code (a closed set): without it the first
    dead letter of a reason creates its series at 1 and ``increase()`` misses it, so the
    dead-letter alert would stay silent for it."""
    for reason in reasons:
        DEAD_LETTERS.labels(stage, reason)


def init_place_series(
    categories: Iterable[str], qpvs: Iterable[str], communes: Iterable[str]
) -> None:
    """Partnership series at zero (categories x known QPVs, every commune): weekly
    ``increase()`` then counts the first event of each place too."""
    qpv_labels = [NO_QPV, *(QPV_LABEL(q) for q in qpvs)]
    for category in categories:
        for qpv in qpv_labels:
            EVENTS_BY_CATEGORY.labels(category, qpv)
    for insee in communes:
        EVENTS_BY_COMMUNE.labels(insee)
