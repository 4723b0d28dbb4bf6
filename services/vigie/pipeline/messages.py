"""Plain carriers between the Kafka adapters and the processors."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, TypeVar, dataclass_transform

from vigie.contracts.enums import AckStatus, ForceStatus, Lane
from vigie.contracts.models import KafkaCoordinates

_C = TypeVar("_C")


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def carrier(cls: type[_C]) -> type[_C]:
    """A frozen dataclass for the type checker, a plain slotted one at run time.

    Why: these records are built several times per input on the hot path, and a frozen
    dataclass's ``__init__`` sets each field through ``object.__setattr__`` (intake loop:
    -9 % instructions per event without it, issue 16). mypy still rejects any
    assignment to a field (``frozen_default``), and equality and hashing are the frozen
    dataclass's (``unsafe_hash``: by field values); change one with ``dataclasses.replace``.
    """
    return dataclass(slots=True, unsafe_hash=True)(cls)


@carrier
class Inbound:
    """One consumed Kafka record, as the adapter hands it over."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    #: The partition the key designates (the Kafka clients' murmur2 partitioner over the
    #: topic's partition count), computed by the adapter; None when not checked. The state
    #: of an incident lives in its key's partition only: a record elsewhere would be judged
    #: against the wrong state (a spoofed partition, or a non-murmur2 partitioner).
    expected_partition: int | None = None

    @property
    def misplaced(self) -> bool:
        """On another partition than the one its key designates."""
        return self.expected_partition is not None and self.partition != self.expected_partition

    @property
    def coordinates(self) -> KafkaCoordinates:
        return KafkaCoordinates(topic=self.topic, partition=self.partition, offset=self.offset)

    @property
    def coordinates_text(self) -> str:
        return f"{self.topic}/{self.partition}/{self.offset}"


@carrier
class Outbound:
    """One record to produce."""

    topic: str
    key: bytes | None
    value: bytes
    #: None: the producer's partitioner (murmur2 of the key, like partners' and forces').
    partition: int | None = None


class Outcome(StrEnum):
    """The one terminal outcome of each input message at a stage (what the metrics count)."""

    ROUTED = "routed"
    MANUAL_TRIAGE = "manual_triage"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    EXPIRED = "expired"
    REPLAYED = "replayed"  # the same Kafka record seen again after a crash: outputs repeated
    DEAD_LETTERED = "dead_lettered"


@carrier
class EventRecord:
    """What Vigie remembers of an event id (the idempotency and lifecycle table value)."""

    event_id: str
    partner_id: str
    status: AckStatus
    source: str
    units: tuple[str, ...] = ()
    lane: Lane = Lane.INCIDENT
    reason_code: str | None = None
    routed_at: float | None = None
    lifecycle: tuple[AckStatus, ...] = ()
    insee_code: str | None = None
    force: str | None = None
    #: The encoded PartnerEvent, kept only for routed events: a transfer must hand the
    #: event itself to the new unit. Lives in the table's changelog (retention: see docs).
    event_bytes: bytes | None = None
    #: Epoch seconds by which an urgent alert must be taken in charge (None: no timer).
    alert_deadline: float | None = None
    #: The routing rule that sent the event away from its competent unit (None: not
    #: diverted), and that unit: follow-ups repeat both to the units and the partner.
    routing_rule: str | None = None
    competent_unit: str | None = None
    #: The root event id of a follow-up (UPDATE, CANCEL); None for a root. A unit's status
    #: citing a follow-up's own id is resolved to its root through it.
    root_id: str | None = None
    #: The event's CAP status (``EventStatus``); None: ACTUAL (records from before issue 18).
    cap_status: str | None = None
    #: True: no unit received the event, its copies went to the partner's sandbox topic
    #: (a TEST, or an EXERCISE no destination takes part in: ``vigie.routing.cap``).
    sandbox: bool = False

    @property
    def state(self) -> AckStatus | None:
        return self.lifecycle[-1] if self.lifecycle else None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "event_id": self.event_id,
            "partner_id": self.partner_id,
            "status": self.status.value,
            "source": self.source,
            "units": list(self.units),
            "lane": self.lane.value,
            "reason_code": self.reason_code,
            "routed_at": self.routed_at,
            "lifecycle": [s.value for s in self.lifecycle],
            "insee_code": self.insee_code,
            "force": self.force,
            "event_b64": base64.b64encode(self.event_bytes).decode() if self.event_bytes else None,
            "alert_deadline": self.alert_deadline,
            "routing_rule": self.routing_rule,
            "competent_unit": self.competent_unit,
        }
        # Written only when set: most records are ACTUAL roots (smaller changelog entries).
        if self.root_id is not None:
            data["root_id"] = self.root_id
        if self.cap_status is not None:
            data["cap_status"] = self.cap_status
        if self.sandbox:
            data["sandbox"] = True
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EventRecord:
        return cls(
            event_id=data["event_id"],
            partner_id=data["partner_id"],
            status=AckStatus(data["status"]),
            source=data["source"],
            units=tuple(data.get("units") or ()),
            lane=Lane(data.get("lane") or Lane.INCIDENT),
            reason_code=data.get("reason_code"),
            routed_at=data.get("routed_at"),
            lifecycle=tuple(AckStatus(s) for s in data.get("lifecycle") or ()),
            insee_code=data.get("insee_code"),
            force=data.get("force"),
            event_bytes=base64.b64decode(data["event_b64"]) if data.get("event_b64") else None,
            alert_deadline=data.get("alert_deadline"),
            routing_rule=data.get("routing_rule"),
            competent_unit=data.get("competent_unit"),
            root_id=data.get("root_id"),
            cap_status=data.get("cap_status"),
            sandbox=bool(data.get("sandbox", False)),
        )


@carrier
class StatusFacts:
    """What the status relay learnt from one unit message, for the metrics: bounded values
    only (a unit id from the topic name, a status from a closed set, seconds)."""

    unit: str
    #: The unit's status, None when the message could not be read.
    status: ForceStatus | None = None
    #: Seconds from routing to an alert's take in charge (first reaction to an open alert).
    taken_in_charge_after: float | None = None
    #: (from unit, to unit) of an accepted transfer.
    transfer: tuple[str, str] | None = None


@carrier
class StageResult:
    """What a processor decided for one input: records to send, a table write, the outcome."""

    outcome: Outcome
    partner_id: str | None
    outbound: list[Outbound] = field(default_factory=list)
    record: EventRecord | None = None
    #: A second table write, on another event id (a CANCEL stops the original's alert timer).
    related: EventRecord | None = None
    reason_code: str | None = None
    lane: Lane | None = None
    units: tuple[str, ...] = ()
    sent_at: float | None = None  # the partner's sent_at (epoch seconds), for latency
    # Where and what, for the partnership counters (NEW events only; bounded values: a
    # category code, an INSEE code from the commune index, a QPV name from reference data).
    category: str | None = None
    insee: str | None = None
    qpv: str | None = None
    #: The status relay's facts (None for the other stages).
    status: StatusFacts | None = None
    #: The units an escalated alert was taken from (escalation stage only).
    escalated_from: tuple[str, ...] = ()
    #: (rule, competent unit) when the routing rules diverted the event (bounded values: a
    #: rule from a closed set, a unit id from reference data), for the diversion counter.
    diversion: tuple[str, str] | None = None


def advance(record: EventRecord, *statuses: AckStatus, **changes: Any) -> EventRecord:
    """The record after these acknowledgements were issued (and other field changes)."""
    return replace(record, lifecycle=record.lifecycle + statuses, **changes)
