"""Domain-side models of every message (pydantic v2).

The Avro schemas in ``schemas/avro/`` are the wire contract; these models are what the rest
of the code handles. ``vigie.contracts.mapping`` converts between the two, in one place.
Field names are identical on both sides on purpose.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from vigie.contracts.enums import (
    AckStatus,
    Category,
    Certainty,
    DecisionStatus,
    EventStatus,
    Force,
    ForceStatus,
    Lane,
    LocateMethod,
    MessageType,
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


class StatusUpdate(_Model):
    """A unit's status about an event routed to it (force side)."""

    event_id: str
    unit_id: str
    status: ForceStatus
    at: datetime
    transfer_to_force: Force | None = None


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
