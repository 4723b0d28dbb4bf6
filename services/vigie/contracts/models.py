"""Domain-side models of every message (pydantic v2).

The Avro schemas in ``schemas/avro/`` are the wire contract; these models are what the rest
of the code handles. ``vigie.contracts.mapping`` converts between the two, in one place.
Field names are identical on both sides on purpose.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vigie.contracts.enums import (
    HOLIDAY,
    WEEKDAYS,
    AckStatus,
    Category,
    Certainty,
    DecisionStatus,
    EventStatus,
    Force,
    ForceStatus,
    HotspotTrigger,
    Lane,
    LocateMethod,
    MessageType,
    NoticeKind,
    ReporterRole,
    Severity,
    UnitKind,
    Urgency,
)

#: Upper bound of the partner's free text. Free text may hold personal data: it travels only
#: inside the routed event, never into logs, metrics, acknowledgements or dead-letter reasons.
DESCRIPTION_MAX_CHARS = 2000

PARTNER_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,31}$"
UNIT_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,47}$"
INSEE_PATTERN = r"^(2[AB]|\d{2})\d{3}$"
POSTCODE_PATTERN = r"^\d{5}$"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)


class Coordinates(_Model):
    lat: float
    lon: float


class Address(_Model):
    street: str | None = None
    postcode: str | None = None
    commune_name: str | None = None
    insee_code: str | None = None


class Location(_Model):
    coordinates: Coordinates | None = None
    address: Address | None = None


class PartnerEvent(_Model):
    """An incident or alert published by a landlord (bailleur), after OASIS CAP 1.2."""

    event_id: str = Field(description="UUID chosen by the partner; the idempotency key")
    partner_id: str
    sent_at: datetime
    occurred_at: datetime
    status: EventStatus = EventStatus.ACTUAL
    message_type: MessageType = MessageType.NEW
    references: list[str] = Field(default_factory=list)
    incident_id: str | None = None
    category: Category
    urgency: Urgency = Urgency.UNKNOWN
    severity: Severity = Severity.UNKNOWN
    certainty: Certainty = Certainty.UNKNOWN
    site_id: str | None = None
    location: Location | None = None
    staff_involved: bool = False
    persons_in_danger: bool = False
    description: str | None = None
    expires_at: datetime | None = None
    # Added with schemas/avro/partner_event/v2.avsc; absent (None) in v1 messages.
    source_system: str | None = None
    reporter_role: ReporterRole | None = None


class SiteRecord(_Model):
    """A landlord's building or residence (the partner's own site registry)."""

    site_id: str
    partner_id: str
    residence_name: str
    street: str
    postcode: str
    commune_name: str
    insee_code: str
    lat: float
    lon: float
    qpv_name: str | None = None
    zsp: bool = False
    homes: int = 0


class CompetenceRecord(_Model):
    """One row of the competence table: which unit of which force covers one commune."""

    insee_code: str
    commune_name: str
    force: Force
    unit_id: str
    service_name: str
    postcodes: list[str] = Field(default_factory=list)
    effective_from: date
    version: str
    provenance: str
    inferred: bool = False


class UnitRecord(_Model):
    """A police or gendarmerie unit that receives routed events."""

    unit_id: str
    force: Force
    kind: UnitKind
    name: str
    parent_id: str | None = None
    command_centre_id: str | None = None


_CLOCK_TIME = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")
_HOLIDAY_CALENDAR = re.compile(r"^[A-Z]{2}(?:-[A-Za-z0-9]{1,6})?$")


def minutes_of(clock_time: str) -> int:
    """Minutes since midnight of an ``HH:MM`` time (``24:00`` is the end of the day)."""
    hours, minutes = clock_time.split(":")
    return int(hours) * 60 + int(minutes)


class ServiceWindow(_Model):
    """Hours of duty on some days, in local time; a window across midnight is written as two."""

    days: list[str]
    start: str
    end: str

    @field_validator("days")
    @classmethod
    def _known_days(cls, days: list[str]) -> list[str]:
        unknown = [d for d in days if d not in WEEKDAYS and d != HOLIDAY]
        if unknown or not days:
            raise ValueError(f"days must be among {', '.join(WEEKDAYS)}, {HOLIDAY}")
        return days

    @model_validator(mode="after")
    def _start_before_end(self) -> ServiceWindow:
        if not (_CLOCK_TIME.match(self.start) and _CLOCK_TIME.match(self.end)):
            raise ValueError("start and end must be HH:MM (24:00 allowed as an end)")
        if minutes_of(self.start) >= minutes_of(self.end):
            raise ValueError("a window ends after it starts (split one across midnight)")
        return self


class ExerciseWindow(_Model):
    """An exercise a unit takes part in (CAP 1.2 status ``Exercise``: actionable only by the
    designated participants): from ``start`` to ``end``, EXERCISE events may reach the unit
    (``vigie.routing.cap``, docs/routing.md "CAP status")."""

    name: str = Field(min_length=1, max_length=100)
    start: datetime
    end: datetime
    #: Whether the exercise's urgent alerts not taken in charge in time escalate to the
    #: departmental command centres (which must take part in the exercise too).
    escalate: bool = False

    @model_validator(mode="after")
    def _start_before_end(self) -> ExerciseWindow:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("exercise start and end need a time zone (UTC offset)")
        if self.start >= self.end:
            raise ValueError("an exercise ends after it starts")
        return self

    def covers(self, at: datetime) -> bool:
        return self.start <= at < self.end


class UnitRules(_Model):
    """The routing rules of one unit from one date: service hours, fallback, overflow.

    Effective-dated and versioned like the competence table, with the source of each value in
    ``provenance``. ``hours`` null means on duty round the clock; an empty list means never
    on duty by schedule (every event of the rule's lanes goes to the fallback).
    """

    unit_id: str
    effective_from: date
    version: str
    provenance: str
    inferred: bool = False
    time_zone: str = "Europe/Paris"
    holiday_calendar: str = "FR"
    hours: list[ServiceWindow] | None = None
    hours_lanes: list[Lane] = Field(default_factory=lambda: [Lane.ALERT])
    fallback_unit_id: str | None = None
    unavailable_lanes: list[Lane] = Field(default_factory=lambda: [Lane.ALERT, Lane.INCIDENT])
    overflow_limit: int | None = Field(default=None, ge=1)
    overflow_lanes: list[Lane] = Field(default_factory=lambda: [Lane.ALERT])
    # Added with schemas/avro/unit_rules/v2.avsc (issue 18).
    #: Exercises the unit takes part in; empty: EXERCISE events never reach it.
    exercises: list[ExerciseWindow] = Field(default_factory=list)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone") from None
        return zone

    @field_validator("holiday_calendar")
    @classmethod
    def _calendar_code(cls, code: str) -> str:
        if not _HOLIDAY_CALENDAR.match(code):
            raise ValueError("holiday calendar is a country code, optionally -subdivision")
        return code


class UnitAvailability(_Model):
    """A unit declared unavailable until a time, or available again (``unavailable_until``
    null). The latest declaration per unit is the truth (compacted topic)."""

    unit_id: str
    unavailable_until: datetime | None = None
    declared_at: datetime
    declared_by: str
    reason: str | None = Field(default=None, max_length=200)


class CommuneInfo(_Model):
    insee_code: str
    name: str
    population: int | None = None


class RoutingDecision(_Model):
    """Which units, which lane, how it was decided and with which reference versions."""

    status: DecisionStatus
    units: list[str]
    force: Force | None
    lane: Lane
    method: LocateMethod
    insee_code: str | None = None
    reference_versions: dict[str, str] = Field(default_factory=dict)
    discrepancy: str | None = None
    reason_code: str | None = None
    explanation: str
    # Added with schemas/avro/routed_event/v2.avsc (routing rules, issue 15).
    #: The unit the competence table names for the commune (null when unplaced).
    competent_unit_id: str | None = None
    #: The rule that sent the event away from the competent unit (``RoutingRule``), or null.
    routing_rule: str | None = None
    #: Version of the competent unit's rules the decision applied (null: no rules).
    rules_version: str | None = None


class Enrichment(_Model):
    site: SiteRecord | None = None
    commune: CommuneInfo | None = None
    qpv_name: str | None = None
    zsp: bool = False


class RoutedEvent(_Model):
    """What a unit receives: the partner's event, the site data and the routing decision."""

    unit_id: str
    routed_at: datetime
    event: PartnerEvent
    enrichment: Enrichment
    decision: RoutingDecision


class KafkaCoordinates(_Model):
    topic: str
    partition: int
    offset: int


class Acknowledgement(_Model):
    """A message back to the sender. Never carries the partner's free text."""

    ack_id: str
    partner_id: str
    event_id: str | None
    status: AckStatus
    issued_at: datetime
    units: list[str] = Field(default_factory=list)
    reason_code: str | None = None
    reason_message: str | None = None
    source: KafkaCoordinates | None = None
    # Added with schemas/avro/acknowledgement/v2.avsc: the landlord learns that its alert
    # went to the command centre, and whose zone it is.
    routing_rule: str | None = None
    competent_unit_id: str | None = None


class StatusUpdate(_Model):
    """A unit's status about an event routed to it (force side)."""

    event_id: str
    unit_id: str
    status: ForceStatus
    at: datetime
    transfer_to_force: Force | None = None


class UnitFeedback(_Model):
    """The answer to a status a unit sent and Vigie refused, on the unit's own feedback
    topic. Never carries message content: codes, ids read from the record, fixed text."""

    feedback_id: str
    unit_id: str
    event_id: str | None = None
    status: str | None = None
    reason_code: str
    reason_message: str
    issued_at: datetime
    source: KafkaCoordinates


class DeadLetter(_Model):
    """A message a stage could not handle. ``reason`` is a code plus fixed text, never content."""

    failed_at: datetime
    stage: str
    reason_code: str
    reason: str
    source: KafkaCoordinates
    event_id: str | None = None
    payload: bytes
    # Added with schemas/avro/dead_letter/v2.avsc (bounded payload of oversized inputs).
    payload_size: int | None = None
    payload_sha256: str | None = None
    payload_truncated: bool = False


class PreventionNotice(_Model):
    """A hotspot notice to the landlord and the competent unit (situational prevention).

    Evidence only: counts, the expectation and its window, the residence from the site
    registry. Nothing a partner wrote in free text."""

    notice_id: str
    episode_id: str
    kind: NoticeKind
    trigger: HotspotTrigger
    issued_at: datetime
    partner_id: str
    site_id: str
    unit_id: str
    insee_code: str | None = None
    commune_name: str | None = None
    residence_name: str | None = None
    address: str | None = None
    qpv_name: str | None = None
    zsp: bool = False
    category_group: str
    categories: list[str] = Field(default_factory=list)
    window_start: datetime
    window_end: datetime
    observed: int
    expected: float
    baseline_days: int
    p_value: float | None = None
    thresholds_version: str
    explanation: str
