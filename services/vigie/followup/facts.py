"""Rows of the follow-up store, made from the records Vigie published. Pure: no Kafka, no SQL.

What is kept is facts only (ids, places, categories, force and unit, rule, timestamps), never
the partner's description, typed address or reporter's role: the committee's figures need
none of it, and a store that holds no free text holds no personal data to leak.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from vigie.contracts.enums import AckStatus, DecisionStatus, EventStatus, MessageType
from vigie.contracts.keys import root_event_id
from vigie.contracts.models import Acknowledgement, RoutedEvent
from vigie.contracts.reasons import ReasonCode

#: Acknowledgements that say something about an incident's course; REJECTED and DUPLICATE
#: answer a message, not an incident, and are counted by the metrics instead.
FOLLOWED_STATUSES = frozenset({
    AckStatus.ROUTED, AckStatus.EXPIRED, AckStatus.ESCALATED, AckStatus.TAKEN_IN_CHARGE,
    AckStatus.PATROL_DISPATCHED, AckStatus.CLOSED, AckStatus.TRANSFER_REQUESTED,
    AckStatus.TRANSFERRED,
})


@dataclass(frozen=True, slots=True)
class RoutedEventRow:
    """One incident as first routed. Later copies (escalation, transfer) routed it again at a
    later ``routed_at``: the store keeps the earliest, whatever order copies arrive in."""

    event_id: str
    partner_id: str
    site_id: str | None
    insee_code: str | None
    qpv_name: str | None
    zsp: bool
    category: str
    lane: str
    urgency: str
    severity: str
    event_status: str
    force: str | None
    units: tuple[str, ...]
    method: str
    rule: str | None
    outcome: str
    occurred_at: datetime
    sent_at: datetime
    routed_at: datetime


@dataclass(frozen=True, slots=True)
class FollowUpRow:
    """An UPDATE or CANCEL of an incident (a CANCEL closes its counting as cancelled)."""

    event_id: str
    root_id: str
    kind: str
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class AckRow:
    """One acknowledgement about an incident (its statuses make the time to take in charge)."""

    ack_id: str
    event_id: str
    partner_id: str
    status: str
    units: tuple[str, ...]
    issued_at: datetime


#: Acknowledgements of events no unit received (``vigie.routing.cap``): not facts.
SANDBOX_REASONS = frozenset({ReasonCode.TEST_EVENT.value, ReasonCode.NOT_IN_EXERCISE.value})


def row_of_routed(routed: RoutedEvent) -> RoutedEventRow | FollowUpRow | None:
    """The row of a routed copy; None for an exercise's or a test's (CAP status other than
    ACTUAL): the committee's figures count real events only. Their acknowledgements then
    match no incident row, and count nowhere."""
    event, enrichment, decision = routed.event, routed.enrichment, routed.decision
    if event.status is not EventStatus.ACTUAL:
        return None
    if event.message_type is not MessageType.NEW:
        return FollowUpRow(event.event_id, root_event_id(event), event.message_type.value,
                           event.sent_at)
    site = enrichment.site
    return RoutedEventRow(
        event_id=event.event_id,
        partner_id=event.partner_id,
        site_id=site.site_id if site is not None else None,
        insee_code=decision.insee_code,
        qpv_name=enrichment.qpv_name,
        zsp=enrichment.zsp,
        category=event.category.value,
        lane=decision.lane.value,
        urgency=event.urgency.value,
        severity=event.severity.value,
        event_status=event.status.value,
        force=decision.force.value if decision.force else None,
        units=tuple(decision.units),
        method=decision.method.value,
        rule=decision.reason_code,
        outcome=("MANUAL_TRIAGE" if decision.status is DecisionStatus.MANUAL_TRIAGE
                 else "ROUTED"),
        occurred_at=event.occurred_at,
        sent_at=event.sent_at,
        routed_at=routed.routed_at,
    )


def row_of_ack(ack: Acknowledgement) -> AckRow | None:
    if (ack.event_id is None or ack.status not in FOLLOWED_STATUSES
            or ack.reason_code in SANDBOX_REASONS):
        return None
    return AckRow(ack.ack_id, ack.event_id, ack.partner_id, ack.status.value, tuple(ack.units),
                  ack.issued_at)
