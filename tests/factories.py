"""One builder per message type, for every test's fixtures.

Each builder returns a valid model by default and takes any field as a keyword override
(checked by the model, so a misspelt field fails loudly). The defaults tell one story:
oise-habitat's residence Argentine (site ``OH-12``, Beauvais, INSEE 60057), a fire reported
by its caretaker on 14 March 2025 and routed to the Beauvais police station. They are
deterministic; ``partner_event(..., fresh=True)`` is the one way to ask for a new event id
and the current time (what a test on a real broker publishes). ``samples()`` is one default
of each message type, as the contract tests round-trip them.

``record_for`` is how a test gets the (topic, key, value) of a partner's event: the product's
own rule (``vigie.kafka.publish.partner_record``), never a copy of it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

from pydantic import BaseModel

from vigie.contracts.enums import (
    AckStatus,
    Category,
    DecisionStatus,
    Force,
    ForceStatus,
    HotspotTrigger,
    Lane,
    LocateMethod,
    NoticeKind,
    ReporterRole,
    UnitKind,
)
from vigie.contracts.models import (
    Acknowledgement,
    Address,
    CompetenceRecord,
    Coordinates,
    DeadLetter,
    Enrichment,
    KafkaCoordinates,
    Location,
    PartnerEvent,
    PreventionNotice,
    RoutedEvent,
    RoutingDecision,
    SiteRecord,
    StatusUpdate,
    UnitAvailability,
    UnitRecord,
    UnitRules,
)
from vigie.kafka.publish import partner_record
from vigie.reference.rules import load_rules_file
from vigie.reference.snapshot import ReferenceSnapshot, ReferenceStore

#: The time of every default: issued, routed, declared.
NOW = datetime(2025, 3, 14, 22, 0, tzinfo=UTC)
EVENT_ID = "3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f"
ACK_ID = "c0ffee00-1234-4abc-8def-0123456789ab"
PARTNER_ID = "oise-habitat"
#: Planted in the default event's free text: must never show up in an error detail, an
#: issue message, a routing explanation or a follow-up row.
SECRET = "Mme DUPONT-SECRET 06 12 34 56 78"

#: Points well inside a few communes (sample sites' coordinates), for ``partner_event(at=)``.
CREIL = (49.2578, 2.4826)
BEAUVAIS = (49.4296, 2.0807)
MERU = (49.2365, 2.1335)
PARIS = (48.8566, 2.3522)

_SOURCE = KafkaCoordinates(topic="partner.oise-habitat.alerts.v1", partition=1, offset=2**40)


def partner_event(
    partner_id: str = PARTNER_ID,
    insee: str | None = None,
    *,
    at: tuple[float, float] | None = None,
    postcode: str | None = None,
    commune: str | None = None,
    fresh: bool = False,
    **changes: Any,
) -> PartnerEvent:
    """A landlord's event.

    By default the contract tests' fixed event: ``EVENT_ID``, sent at 21:42:07.250 on 14 March
    2025, a fire at site ``OH-12`` with its coordinates and address, every optional field
    filled (``SECRET`` in the description).

    Say where it is with ``insee``, ``at`` (coordinates), ``postcode`` or ``commune`` and it
    is placed by those alone: no site, no other address (a ``site_id`` or ``location`` among
    ``changes`` still applies; ``site_id=None, location=None`` is an event nobody can place).
    ``fresh``: a new event id, sent 5 seconds ago unless ``sent_at`` is given, and occurred
    3 minutes before it was sent unless ``occurred_at`` is given.
    """
    if fresh:
        sent_at = changes.pop("sent_at", None) or datetime.now(UTC) - timedelta(seconds=5)
        changes = {"event_id": str(uuid.uuid4()), "sent_at": sent_at,
                   "occurred_at": sent_at - timedelta(minutes=3), **changes}
    if insee or at or postcode or commune:
        address = (Address(insee_code=insee, postcode=postcode, commune_name=commune)
                   if insee or postcode or commune else None)
        coordinates = Coordinates(lat=at[0], lon=at[1]) if at else None
        changes = {"site_id": None,
                   "location": Location(coordinates=coordinates, address=address), **changes}
    fields: dict[str, Any] = {
        "event_id": EVENT_ID,
        "partner_id": partner_id,
        "sent_at": datetime(2025, 3, 14, 21, 42, 7, 250000, tzinfo=UTC),
        "occurred_at": datetime(2025, 3, 14, 21, 35, tzinfo=UTC),
        "category": Category.FIRE,
        "site_id": "OH-12",
        "location": Location(
            coordinates=Coordinates(lat=49.4431, lon=2.0833),
            address=Address(street="12 rue de Gascogne", postcode="60000", insee_code="60057"),
        ),
        "description": f"Feu de poubelles, témoin {SECRET}",
        "source_system": "ikos 4.2",
        "reporter_role": ReporterRole.CARETAKER,
    }
    return PartnerEvent(**{**fields, **changes})


def record_for(event: PartnerEvent) -> tuple[str, bytes, bytes]:
    """(topic, key, value) as the partner must publish ``event``: its own topic of the
    event's lane, keyed by the root event id (``vigie.kafka.publish.partner_record``)."""
    return partner_record(event)


def site_record(**changes: Any) -> SiteRecord:
    """Site ``OH-12``, oise-habitat's residence Argentine in Beauvais."""
    fields: dict[str, Any] = {
        "site_id": "OH-12",
        "partner_id": PARTNER_ID,
        "residence_name": "Argentine",
        "street": "12 rue de Gascogne",
        "postcode": "60000",
        "commune_name": "Beauvais",
        "insee_code": "60057",
        "lat": 49.44,
        "lon": 2.08,
        "homes": 148,
    }
    return SiteRecord(**{**fields, **changes})


def competence_record(**changes: Any) -> CompetenceRecord:
    """Beauvais (60057) is the police's: ``csp-beauvais`` from 1 January 2025."""
    fields: dict[str, Any] = {
        "insee_code": "60057",
        "commune_name": "Beauvais",
        "force": Force.PN,
        "unit_id": "csp-beauvais",
        "service_name": "CSP Beauvais",
        "postcodes": ["60000"],
        "effective_from": date(2025, 1, 1),
        "version": "2025-01",
        "provenance": "arrêté préfectoral",
    }
    return CompetenceRecord(**{**fields, **changes})


def unit_record(**changes: Any) -> UnitRecord:
    """A gendarmerie brigade."""
    fields: dict[str, Any] = {
        "unit_id": "bta-chaumont", "force": Force.GN, "kind": UnitKind.BRIGADE, "name": "BTA",
    }
    return UnitRecord(**{**fields, **changes})


def unit_rules(unit_id: str = "gn-bt-meru", **changes: Any) -> UnitRules:
    """The shipped routing rules of ``unit_id`` (``reference/data``), with ``changes``."""
    shipped = next(r for r in _shipped_rules() if r.unit_id == unit_id)
    return UnitRules(**{**dict(shipped), **changes})


def unit_availability(unit_id: str = "gn-bt-meru", until: datetime | None = None,
                      **changes: Any) -> UnitAvailability:
    """Operations declare ``unit_id`` unavailable ``until`` then (None: available again)."""
    fields: dict[str, Any] = {
        "unit_id": unit_id, "unavailable_until": until, "declared_at": NOW, "declared_by": "ops",
    }
    return UnitAvailability(**{**fields, **changes})


def routing_decision(**changes: Any) -> RoutingDecision:
    """Routed by its site to ``csp-beauvais``, on the alert lane."""
    fields: dict[str, Any] = {
        "status": DecisionStatus.ROUTED,
        "units": ["csp-beauvais"],
        "force": None,
        "lane": Lane.ALERT,
        "method": LocateMethod.SITE,
        "reference_versions": {"competence": "2025-01"},
        "explanation": "site connu",
    }
    return RoutingDecision(**{**fields, **changes})


def routed_event(**changes: Any) -> RoutedEvent:
    """The default event, enriched with its site and routed (``routing_decision``)."""
    fields: dict[str, Any] = {
        "unit_id": "csp-beauvais",
        "routed_at": NOW,
        "event": partner_event(),
        "enrichment": Enrichment(site=site_record(), zsp=True),
        "decision": routing_decision(),
    }
    return RoutedEvent(**{**fields, **changes})


def acknowledgement(**changes: Any) -> Acknowledgement:
    """A rejection of a record that could not be read (no event id; its Kafka coordinates)."""
    fields: dict[str, Any] = {
        "ack_id": ACK_ID,
        "partner_id": PARTNER_ID,
        "event_id": None,
        "status": AckStatus.REJECTED,
        "issued_at": NOW,
        "reason_code": "BAD_MARKER",
        "source": _SOURCE,
    }
    return Acknowledgement(**{**fields, **changes})


def status_update(**changes: Any) -> StatusUpdate:
    """``csp-beauvais`` asks to transfer the default event to the gendarmerie."""
    fields: dict[str, Any] = {
        "event_id": EVENT_ID,
        "unit_id": "csp-beauvais",
        "status": ForceStatus.TRANSFER_REQUESTED,
        "at": NOW,
        "transfer_to_force": Force.GN,
    }
    return StatusUpdate(**{**fields, **changes})


def dead_letter(**changes: Any) -> DeadLetter:
    """A truncated record, its 256 bytes kept."""
    fields: dict[str, Any] = {
        "failed_at": NOW,
        "stage": "gateway",
        "reason_code": "TRUNCATED",
        "reason": "body ends before the record does",
        "source": _SOURCE,
        "payload": bytes(range(256)),
    }
    return DeadLetter(**{**fields, **changes})


def prevention_notice(**changes: Any) -> PreventionNotice:
    """A hotspot opened at the residence Argentine: damage on the rise."""
    fields: dict[str, Any] = {
        "notice_id": "5b0e7c1a-2f41-4c3d-a8e9-7b6d5c4f3e21",
        "episode_id": "8c1d2e3f-4a5b-4c6d-9e7f-0a1b2c3d4e5f",
        "kind": NoticeKind.OPEN,
        "trigger": HotspotTrigger.RISE,
        "issued_at": NOW,
        "partner_id": PARTNER_ID,
        "site_id": "OH-12",
        "unit_id": "pn-csp-beauvais",
        "insee_code": "60057",
        "commune_name": "Beauvais",
        "residence_name": "Résidence Argentine",
        "address": "12 rue de Gascogne, 60000 Beauvais",
        "qpv_name": "Argentine",
        "zsp": False,
        "category_group": "DAMAGE",
        "categories": ["DAMAGE", "GRAFFITI"],
        "window_start": NOW,
        "window_end": NOW,
        "observed": 15,
        "expected": 4.0,
        "baseline_days": 182,
        "p_value": 1.99e-5,
        "thresholds_version": "prevention-oise-2026-11-29",
        "explanation": "Hausse inhabituelle.",
    }
    return PreventionNotice(**{**fields, **changes})


def samples() -> list[BaseModel]:
    """One default of each message type the contract tests round-trip."""
    return [partner_event(), site_record(), competence_record(), unit_record(), routed_event(),
            acknowledgement(), status_update(), dead_letter(), prevention_notice()]


@cache
def sample_snapshot() -> ReferenceSnapshot:
    """The default reference data with the sample sites (built once per session)."""
    return ReferenceStore.with_sample_sites().snapshot()


@cache
def _shipped_rules() -> tuple[UnitRules, ...]:
    return tuple(load_rules_file().records)
