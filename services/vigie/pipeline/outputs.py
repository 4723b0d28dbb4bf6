"""The records every stage emits, built in one place: acks, routed copies, dead letters.

Ids are deterministic (uuid5 of where the input sat in Kafka and what was said), so a record
re-sent after a worker crash carries the same id and a consumer can drop the copy.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from vigie.contracts import topics
from vigie.contracts.codec import encode, recover_event_id
from vigie.contracts.enums import AckStatus, Lane
from vigie.contracts.models import (
    Acknowledgement,
    DeadLetter,
    Enrichment,
    KafkaCoordinates,
    PartnerEvent,
    RoutedEvent,
    RoutingDecision,
)
from vigie.contracts.reasons import ReasonCode
from vigie.pipeline.messages import Inbound, Outbound

ACK_NAMESPACE = uuid.UUID("6f1c7c2e-6b1e-4f7e-9a53-3d2a6f0f7a10")


def deterministic_id(*parts: str) -> str:
    return str(uuid.uuid5(ACK_NAMESPACE, "|".join(parts)))


def unit_topic(unit_id: str, lane: Lane) -> str:
    return topics.unit_alerts(unit_id) if lane is Lane.ALERT else topics.unit_incidents(unit_id)


def ack(
    msg: Inbound,
    partner_id: str,
    event_id: str | None,
    status: AckStatus,
    now: datetime,
    *,
    units: list[str] | tuple[str, ...] = (),
    reason: ReasonCode | None = None,
    reason_text: str | None = None,
) -> Outbound:
    """An acknowledgement on the partner's own topic (never another partner's)."""
    message = Acknowledgement(
        ack_id=deterministic_id(msg.coordinates_text, status.value),
        partner_id=partner_id,
        event_id=event_id,
        status=status,
        issued_at=now,
        units=list(units),
        reason_code=reason.value if reason else None,
        reason_message=reason.message_fr if reason else reason_text,
        # Without an event id, the Kafka coordinates are the only way to say which one.
        source=msg.coordinates,
    )
    key = (event_id or msg.coordinates_text).encode()
    return Outbound(topics.partner_acks(partner_id), key, encode(message))


def routed_copies(
    event: PartnerEvent,
    root: str,
    decision: RoutingDecision,
    enrichment: Enrichment,
    now: datetime,
) -> list[Outbound]:
    """One routed copy per destination unit, on that unit's topic of the decision's lane."""
    return [
        Outbound(
            unit_topic(unit_id, decision.lane),
            root.encode(),
            encode(RoutedEvent(unit_id=unit_id, routed_at=now, event=event,
                               enrichment=enrichment, decision=decision)),
        )
        for unit_id in decision.units
    ]


def dead_letter(
    stage: str,
    msg: Inbound,
    reason: ReasonCode,
    detail: str,
    now: datetime,
    event_id: str | None = None,
) -> Outbound:
    """The original bytes and a fixed reason: never the content in the reason."""
    letter = DeadLetter(
        failed_at=now,
        stage=stage,
        reason_code=reason.value,
        reason=detail,
        source=KafkaCoordinates(topic=msg.topic, partition=msg.partition, offset=msg.offset),
        event_id=event_id or recover_event_id(msg.value or b""),
        payload=msg.value or b"",
    )
    return Outbound(topics.DEADLETTER, msg.key, encode(letter))
