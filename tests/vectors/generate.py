"""Regenerate the golden vectors: ``python tests/vectors/generate.py``.

Each vector is ``<name>.bin`` (exact wire bytes) + ``<name>.json`` (what it decodes to, with
the writer version). They pin the wire format: a change in framing, fingerprints, field order
or mapping shows up as a byte difference in ``tests/unit/contracts/test_codec.py``.
Regenerate only for an intended contract change, and review the diff.

Everything is fixed (UUIDs, instants) so regeneration is byte-for-byte deterministic.
``partner_event_v1_apache`` is written by the Apache ``avro`` library (a different
implementation from fastavro), with the single-object header built by hand, to prove that
our decoder reads what other Avro stacks write.
"""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "services"))

from vigie.contracts.codec import SINGLE_OBJECT_MARKER, codec_for, encode  # noqa: E402
from vigie.contracts.enums import (  # noqa: E402
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
    Urgency,
)
from vigie.contracts.mapping import to_jsonable  # noqa: E402
from vigie.contracts.models import (  # noqa: E402
    Acknowledgement,
    Address,
    CommuneInfo,
    Coordinates,
    DeadLetter,
    Enrichment,
    KafkaCoordinates,
    Location,
    PartnerEvent,
    RoutedEvent,
    RoutingDecision,
    SiteRecord,
    StatusUpdate,
    UnitFeedback,
)
from vigie.contracts.schemas import MESSAGE_OF_MODEL, get_registry  # noqa: E402

T0 = datetime(2025, 3, 14, 21, 42, 7, 250000, tzinfo=UTC)


def event_v1() -> PartnerEvent:
    return PartnerEvent(
        event_id="3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f",
        partner_id="oise-habitat",
        sent_at=T0,
        occurred_at=datetime(2025, 3, 14, 21, 35, tzinfo=UTC),
        status=EventStatus.ACTUAL,
        message_type=MessageType.NEW,
        category=Category.FIRE,
        urgency=Urgency.IMMEDIATE,
        severity=Severity.SEVERE,
        certainty=Certainty.OBSERVED,
        site_id="OH-BEAUVAIS-ARGENTINE-12",
        location=Location(
            coordinates=Coordinates(lat=49.4431, lon=2.0833),
            address=Address(
                street="12 rue de Gascogne",
                postcode="60000",
                commune_name="Beauvais",
                insee_code="60057",
            ),
        ),
        staff_involved=False,
        persons_in_danger=True,
        description="Feu de poubelles dans le local vide-ordures, fumée dans la cage B.",
        expires_at=datetime(2025, 3, 15, 3, 0, tzinfo=UTC),
    )


def event_v2() -> PartnerEvent:
    return event_v1().model_copy(
        update={
            "event_id": "9a7e3c52-0b1f-4d2e-8f6a-5c4b3a291807",
            "message_type": MessageType.UPDATE,
            "references": ["3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f"],
            "incident_id": "INC-2025-0314-007",
            "category": Category.STAFF_AGGRESSION,
            "staff_involved": True,
            "description": "Gardien pris à partie à l'arrivée des pompiers.",
            "source_system": "ikos-gestion 4.2",
            "reporter_role": ReporterRole.CARETAKER,
        }
    )


def routed() -> RoutedEvent:
    site = SiteRecord(
        site_id="OH-BEAUVAIS-ARGENTINE-12",
        partner_id="oise-habitat",
        residence_name="Résidence Argentine",
        street="12 rue de Gascogne",
        postcode="60000",
        commune_name="Beauvais",
        insee_code="60057",
        lat=49.4431,
        lon=2.0833,
        qpv_name="Argentine",
        zsp=True,
        homes=148,
    )
    return RoutedEvent(
        unit_id="csp-beauvais",
        routed_at=datetime(2025, 3, 14, 21, 42, 7, 412000, tzinfo=UTC),
        event=event_v2(),
        enrichment=Enrichment(
            site=site,
            commune=CommuneInfo(insee_code="60057", name="Beauvais", population=56020),
            qpv_name="Argentine",
            zsp=True,
        ),
        decision=RoutingDecision(
            status=DecisionStatus.ROUTED,
            units=["csp-beauvais", "cic-oise"],
            force=Force.PN,
            lane=Lane.ALERT,
            method=LocateMethod.SITE,
            insee_code="60057",
            reference_versions={"competence": "2025-01", "sites/oise-habitat": "2025-03-01"},
            explanation="site connu ; commune en zone police ; catégorie urgente",
        ),
    )


def routed_v2() -> RoutedEvent:
    """A v2 copy: an urgent alert at night in a gendarmerie commune, diverted to the CORG."""
    base = routed()
    return base.model_copy(update={
        "unit_id": "gn-corg-oise",
        "decision": base.decision.model_copy(update={
            "units": ["gn-corg-oise"],
            "force": Force.GN,
            "insee_code": "60395",
            "competent_unit_id": "gn-bt-meru",
            "routing_rule": "OUTSIDE_HOURS",
            "rules_version": "rules-oise.json@125f9441107d",
            "explanation": "address INSEE code of Méru (60395); GN competent: gn-bt-meru; "
                           "gn-bt-meru OUTSIDE_HOURS (Sun 2026-11-29 02:00 CET, hours "
                           "09:00-12:00, 15:00-18:00); gn-corg-oise takes it (on duty round "
                           "the clock)",
        }),
    })


def ack() -> Acknowledgement:
    return Acknowledgement(
        ack_id="c0ffee00-1234-4abc-8def-0123456789ab",
        partner_id="oise-habitat",
        event_id="9a7e3c52-0b1f-4d2e-8f6a-5c4b3a291807",
        status=AckStatus.ROUTED,
        issued_at=datetime(2025, 3, 14, 21, 42, 7, 530000, tzinfo=UTC),
        units=["csp-beauvais", "cic-oise"],
        source=KafkaCoordinates(topic="partner.oise-habitat.alerts.v1", partition=2, offset=4711),
    )


def ack_v2() -> Acknowledgement:
    """A v2 routing acknowledgement naming the rule and the competent unit."""
    return ack().model_copy(update={
        "units": ["gn-corg-oise"],
        "routing_rule": "OUTSIDE_HOURS",
        "competent_unit_id": "gn-bt-meru",
    })


def status_update() -> StatusUpdate:
    """A unit's transfer request, citing the root id of the incident (the NEW's event id)."""
    return StatusUpdate(
        event_id="3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f",
        unit_id="gn-bt-meru",
        status=ForceStatus.TRANSFER_REQUESTED,
        at=datetime(2025, 3, 14, 21, 44, 30, 125000, tzinfo=UTC),
        transfer_to_force=Force.PN,
    )


def unit_feedback() -> UnitFeedback:
    """The answer to a unit's refused status: a take in charge keyed by a follow-up's own id
    instead of the root id (issue 18)."""
    return UnitFeedback(
        feedback_id="5d9c2f4e-8b1a-5c3d-9e7f-2a4b6c8d0e1f",
        unit_id="gn-bt-meru",
        event_id="9a7e3c52-0b1f-4d2e-8f6a-5c4b3a291807",
        status="TAKEN_IN_CHARGE",
        reason_code="KEY_MISMATCH",
        reason_message="La clé Kafka doit être l'identifiant de l'événement initial.",
        issued_at=datetime(2025, 3, 14, 21, 45, 1, 250000, tzinfo=UTC),
        source=KafkaCoordinates(topic="force.gn-bt-meru.status.v1", partition=1, offset=88),
    )


def dead_letter() -> DeadLetter:
    return DeadLetter(
        failed_at=datetime(2025, 3, 14, 22, 0, 1, 5000, tzinfo=UTC),
        stage="gateway",
        reason_code="BAD_MARKER",
        reason="first two bytes are not C3 01",
        source=KafkaCoordinates(topic="partner.oise-habitat.incidents.v1", partition=0, offset=17),
        event_id=None,
        payload=b'\x00\x00\x00\x00\x07{"not": "avro"}\xff',
    )


def dead_letter_oversized() -> DeadLetter:
    """A v2 letter: only a prefix of an oversized value, with its size and digest."""
    return DeadLetter(
        failed_at=datetime(2025, 3, 14, 22, 0, 2, 0, tzinfo=UTC),
        stage="intake",
        reason_code="OVERSIZED",
        reason="message larger than 16 bytes",
        source=KafkaCoordinates(topic="partner.oise-habitat.alerts.v1", partition=3, offset=42),
        event_id=None,
        payload=b"\xc3\x01" + bytes(14),
        payload_size=1_048_450,
        payload_sha256="5b7f6b1d3c0e4f8a9e2d1c0b7a6f5e4d3c2b1a09f8e7d6c5b4a3928170f6e5d4",
        payload_truncated=True,
    )


def apache_partner_event_v1() -> bytes:
    """PartnerEvent v1 written by the Apache ``avro`` library, header built by hand."""
    import avro.io
    import avro.schema

    version = get_registry().version("partner_event", 1)
    schema = avro.schema.parse(version.path.read_text(encoding="utf-8"))
    ev = event_v1()
    datum: dict[str, Any] = {
        "event_id": "5e0c7a9b-2f41-4c3d-a8e9-7b6d5c4f3e21",
        "partner_id": "picardie-habitat",
        "sent_at": datetime(2025, 6, 2, 8, 15, 30, 125000, tzinfo=UTC),
        "occurred_at": datetime(2025, 6, 2, 7, 50, tzinfo=UTC),
        "status": "EXERCISE",
        "message_type": "NEW",
        "references": [],
        "incident_id": None,
        "category": "COMMON_AREA_OCCUPATION",
        "urgency": "EXPECTED",
        "severity": "MINOR",
        "certainty": "LIKELY",
        "site_id": None,
        "location": {
            "coordinates": None,
            "address": {
                "street": "3 allée des Tilleuls",
                "postcode": "60100",
                "commune_name": "Creil",
                "insee_code": "60175",
            },
        },
        "staff_involved": False,
        "persons_in_danger": False,
        "description": ev.description,
        "expires_at": None,
    }
    buf = io.BytesIO()
    avro.io.DatumWriter(schema).write(datum, avro.io.BinaryEncoder(buf))
    # Not schema.fingerprint(): avro 1.12's Python canonical form keeps {"type":"long"} for
    # logical types instead of "long" (the spec's [PRIMITIVES] rule), so its CRC-64-AVRO
    # differs from Java's and fastavro's. The header carries the spec fingerprint.
    return SINGLE_OBJECT_MARKER + version.fingerprint + buf.getvalue()


def vectors() -> dict[str, tuple[bytes, int]]:
    """name -> (wire bytes, writer version)."""
    return {
        "partner_event_v1": (encode(event_v1(), version=1), 1),
        "partner_event_v2": (encode(event_v2()), 2),
        "partner_event_v1_apache": (apache_partner_event_v1(), 1),
        "routed_event_v1": (encode(routed(), version=1), 1),
        "routed_event_v2": (encode(routed_v2()), 2),
        "acknowledgement_v1": (encode(ack(), version=1), 1),
        "acknowledgement_v2": (encode(ack_v2()), 2),
        "dead_letter_v1": (encode(dead_letter(), version=1), 1),
        "dead_letter_v2": (encode(dead_letter_oversized()), 2),
        "status_update_v1": (encode(status_update(), version=1), 1),
        "unit_feedback_v1": (encode(unit_feedback(), version=1), 1),
    }


MESSAGE_OF_VECTOR: dict[str, type[BaseModel]] = {
    "partner_event_v1": PartnerEvent,
    "partner_event_v2": PartnerEvent,
    "partner_event_v1_apache": PartnerEvent,
    "routed_event_v1": RoutedEvent,
    "routed_event_v2": RoutedEvent,
    "acknowledgement_v1": Acknowledgement,
    "acknowledgement_v2": Acknowledgement,
    "dead_letter_v1": DeadLetter,
    "dead_letter_v2": DeadLetter,
    "status_update_v1": StatusUpdate,
    "unit_feedback_v1": UnitFeedback,
}


def expected_json(name: str, data: bytes, writer_version: int) -> dict[str, Any]:
    model_type = MESSAGE_OF_VECTOR[name]
    model: BaseModel = codec_for(model_type).decode(data)
    return {
        "message": MESSAGE_OF_MODEL[model_type],
        "writer_version": writer_version,
        "value": to_jsonable(model),
    }


def main() -> None:
    for name, (data, writer_version) in vectors().items():
        (HERE / f"{name}.bin").write_bytes(data)
        payload = json.dumps(
            expected_json(name, data, writer_version), indent=2, ensure_ascii=False
        )
        (HERE / f"{name}.json").write_text(payload + "\n", encoding="utf-8")
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
